// kinu with KINU_SOURCE=http://…: serves images from a web origin, and refuses loopback unless allowed.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { after, before, test } from 'node:test';
import { corpus, decode, testServer } from '../helpers.ts';
import { problem } from './fakes.ts';

const FILE = 'orientation/Landscape_6.jpg';
let origin: string;
let requests: string[] = [];
const server = createServer((req, res) => {
  requests.push(`${req.method} ${req.url}`);
  if (req.url !== `/media/${FILE}`) {
    res.writeHead(404).end();
    return;
  }
  const body = readFileSync(corpus(FILE));
  res.writeHead(200, {
    'content-type': 'image/jpeg',
    'content-length': body.length,
    etag: '"v1"',
    'last-modified': new Date(0).toUTCString(),
  });
  res.end(req.method === 'HEAD' ? undefined : body);
});
before(async () => {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  origin = `http://127.0.0.1:${(server.address() as { port: number }).port}/media/`;
});
after(() => new Promise<void>((r) => server.close(() => r())));

test('an allowed HTTP origin serves originals and variants; its ETag is the version', async () => {
  const { app } = testServer({ KINU_SOURCE: origin, KINU_HTTP_ALLOW_NETS: '127.0.0.0/8' });
  const orig = await app.inject({ url: `/${FILE}` });
  assert.equal(orig.statusCode, 200);
  assert.deepEqual(orig.rawPayload, readFileSync(corpus(FILE)));
  const v = await app.inject({ url: `/${FILE}?w=100&fmt=png` });
  assert.equal(v.statusCode, 200, v.body.slice(0, 200));
  const m = await decode(v.rawPayload);
  assert.equal(m.format, 'png');
  assert.equal(m.width, 100);
  assert.equal(m.height, 67, 'orientation 6 applied: the stored 1200×1800 is shown 1800×1200');
  problem(await app.inject({ url: '/missing.jpg?w=10' }), 404, 'not_found');
  const put = await app.inject({ method: 'PUT', url: '/_kinu/objects/x.jpg', payload: Buffer.from('x') });
  assert.equal(put.statusCode, 404, 'no token: management off');
  assert.equal((await app.inject({ url: '/_kinu/ready' })).statusCode, 200);
  await app.close();
});

test('an origin on a loopback address is refused (SSRF guard) unless allowed', async () => {
  requests = [];
  const { app } = testServer({ KINU_SOURCE: origin });
  const body = problem(await app.inject({ url: `/${FILE}?w=100` }), 502, 'source_failed');
  assert.match(body.detail, /.+/);
  assert.deepEqual(requests, [], 'the origin was never contacted');
  await app.close();
});

test('the management API answers 405 on a read-only HTTP source', async () => {
  const { app } = testServer({
    KINU_SOURCE: origin,
    KINU_HTTP_ALLOW_NETS: '127.0.0.1',
    KINU_TOKEN: 'token-token-token-1',
  });
  const res = await app.inject({
    method: 'DELETE',
    url: `/_kinu/objects/${FILE}`,
    headers: { authorization: 'Bearer token-token-token-1' },
  });
  problem(res, 405, 'method_not_allowed');
  await app.close();
});
