// KINU_HTTP_ALLOW_NETS entries may name a port: `10.0.0.5:8080`, `[::1]:9000`, `10.0.0.0/8:443`. A plain entry
// still allows every port. Checked on the connected address and port: the base URL and every redirect hop.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, describe, test } from 'node:test';
import { loadConfig } from '../../src/config.ts';
import type { KinuError } from '../../src/errors.ts';
import { createHttpSource } from '../../src/source/http.ts';
import { createAddressGuard } from '../../src/source/ssrf.ts';

const servers: http.Server[] = [];
after(() => {
  for (const s of servers) {
    s.closeAllConnections();
    s.close();
  }
});

async function origin(handler: http.RequestListener): Promise<{ port: number; hits: string[] }> {
  const hits: string[] = [];
  const server = http.createServer((req, res) => {
    hits.push(req.url ?? '');
    handler(req, res);
  });
  servers.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { port: (server.address() as AddressInfo).port, hits };
}

describe('allowNets with ports', () => {
  test('the guard: an entry with a port allows that port only; a plain entry every port', () => {
    const g = createAddressGuard(['10.0.0.5:8080', '[::1]:9000', '192.168.0.0/16:443', '[fd00::/8]:443', '172.16.0.1']);
    assert.equal(g.refusal('10.0.0.5', 8080), undefined);
    assert.equal(g.refusal('10.0.0.5', 8081), 'private');
    assert.equal(g.refusal('10.0.0.5'), 'private', 'no port known: only plain entries apply');
    assert.equal(g.refusal('::1', 9000), undefined);
    assert.equal(g.refusal('::1', 80), 'loopback');
    assert.equal(g.refusal('192.168.44.1', 443), undefined);
    assert.equal(g.refusal('192.168.44.1', 80), 'private');
    assert.equal(g.refusal('fd12::1', 443), undefined);
    assert.equal(g.refusal('fd12::1', 444), 'private');
    assert.equal(g.refusal('::ffff:10.0.0.5', 8080), undefined, 'IPv4-mapped form of an allowed address and port');
    assert.equal(g.refusal('::ffff:10.0.0.5', 22), 'private (IPv4-mapped)');
    assert.equal(g.refusal('172.16.0.1', 1), undefined);
    assert.equal(g.refusal('172.16.0.1', 65535), undefined);
  });

  test('malformed ports are refused at start, in the setting too', () => {
    for (const bad of ['10.0.0.5:0', '10.0.0.5:65536', '10.0.0.5:http', '[::1]:', '[::1]x', '10.0.0.0/8:1:2']) {
      assert.throws(() => createAddressGuard([bad]), /not an address or CIDR block/, bad);
    }
    assert.throws(() => loadConfig({ env: { KINU_HTTP_ALLOW_NETS: '127.0.0.1:99999' } }), /127\.0\.0\.1:99999/);
    const c = loadConfig({ env: { KINU_HTTP_ALLOW_NETS: '127.0.0.1:8080, [::1]:9000,10.0.0.0/8:443' } });
    assert.deepEqual(c.source.http.allowNets, ['127.0.0.1:8080', '[::1]:9000', '10.0.0.0/8:443']);
  });

  test('two local origins on different ports: the allowed port is fetched, the other refused, also through a redirect', async () => {
    const other = await origin((_req, res) => {
      res.writeHead(200, { 'content-length': 5 });
      res.end('other');
    });
    const allowed = await origin((req, res) => {
      if (req.url === '/hop.jpg') {
        res.writeHead(302, { location: `http://127.0.0.1:${other.port}/x.jpg`, 'content-length': 0 });
        res.end();
        return;
      }
      res.writeHead(200, { 'content-length': 2 });
      res.end('ok');
    });
    const allowNets = [`127.0.0.1:${allowed.port}`];
    const good = createHttpSource({ base: `http://127.0.0.1:${allowed.port}/`, allowNets, redirects: 3 });
    assert.equal((await good.read('a.jpg', { maxBytes: 100 })).toString(), 'ok');
    assert.equal(await good.ready(), true);
    await assert.rejects(
      good.read('hop.jpg', { maxBytes: 100 }),
      (e: KinuError) =>
        e.code === 'source_failed' && e.detail.includes(`127.0.0.1:${other.port}`) && /loopback/.test(e.detail),
    );

    const bad = createHttpSource({ base: `http://127.0.0.1:${other.port}/`, allowNets, redirects: 3 });
    await assert.rejects(
      bad.read('a.jpg', { maxBytes: 100 }),
      (e: KinuError) => e.code === 'source_failed' && /loopback/.test(e.detail),
    );
    assert.equal(await bad.ready(), false);

    // A hostname resolving to the address: the port is checked after DNS too.
    const lookup = ((_host: string, _o: unknown, cb: (e: null, a: { address: string; family: number }[]) => void) =>
      cb(null, [{ address: '127.0.0.1', family: 4 }])) as never;
    const named = createHttpSource({ base: `http://images.internal:${other.port}/`, allowNets, redirects: 3, lookup });
    await assert.rejects(named.read('a.jpg', { maxBytes: 100 }), (e: KinuError) =>
      /resolves to a loopback/.test(e.detail),
    );
    const namedOk = createHttpSource({
      base: `http://images.internal:${allowed.port}/`,
      allowNets,
      redirects: 3,
      lookup,
    });
    assert.equal((await namedOk.read('a.jpg', { maxBytes: 100 })).toString(), 'ok');

    assert.deepEqual(other.hits, [], 'the refused port was never reached');
  });
});
