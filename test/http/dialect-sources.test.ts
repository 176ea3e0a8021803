// Source URLs as the dialects name them (issue 14 item 3): imgproxy's `s3://bucket/key` when kinu's source is
// that bucket (s3rver on 127.0.0.1), imgproxy's and thumbor's `http(s)://` URLs under kinu's HTTP origin (a
// loopback origin, through the SSRF guard and KINU_HTTP_ALLOW_NETS), plain and base64url; another bucket or
// origin is a 404 that says why.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { after, before, describe, test } from 'node:test';
import { startS3, useS3rverCredentials, type S3TestServer } from '../cache/s3-server.ts';
import { corpus, decode, testServer } from '../helpers.ts';

const PNG = readFileSync(corpus('png/rgba.png'));
const b64 = (s: string) => Buffer.from(s).toString('base64url');

async function assertImage(app: ReturnType<typeof testServer>['app'], url: string, width: number): Promise<void> {
  const res = await app.inject({ url });
  assert.equal(res.statusCode, 200, `${url}: ${res.body}`);
  const meta = await decode(res.rawPayload);
  assert.equal(meta.width, width, url);
}

async function assertRefused(
  app: ReturnType<typeof testServer>['app'],
  url: string,
  status: number,
  says: RegExp,
): Promise<void> {
  const res = await app.inject({ url });
  assert.equal(res.statusCode, status, `${url}: ${res.body}`);
  assert.match(String(res.headers['content-type']), /^application\/problem\+json/);
  assert.match(JSON.parse(res.body).detail, says, url);
}

describe("imgproxy s3:// sources, when kinu's source is that bucket", () => {
  let s3: S3TestServer | undefined;
  let app: ReturnType<typeof testServer>['app'];
  before(async () => {
    s3 = await startS3('media');
    useS3rverCredentials();
    await s3.client().put('media', 'originals/dir/a.png', PNG, 'image/png', {});
    ({ app } = testServer({
      KINU_SOURCE: 's3://media/originals',
      KINU_S3_ENDPOINT: s3.endpoint,
      KINU_DIALECTS: 'imgproxy=/ip',
    }));
  });
  after(async () => {
    await app?.close();
    await s3?.stop();
  });

  test('plain and base64url s3:// URLs in the bucket and prefix are read', async () => {
    await assertImage(app, '/ip/_/w:10/plain/s3://media/originals/dir/a.png@png', 10);
    await assertImage(app, `/ip/_/w:12/${b64('s3://media/originals/dir/a.png')}.png`, 12);
    // A version id after `?` is dropped, as kinu's source reads the current object.
    await assertImage(app, `/ip/_/w:8/${b64('s3://media/originals/dir/a.png?versionId=3')}.png`, 8);
  });

  test('another bucket or a key outside the prefix is a 404 naming what is readable', async () => {
    await assertRefused(app, '/ip/_/plain/s3://elsewhere/originals/dir/a.png', 404, /s3:\/\/media\/originals\/…/);
    await assertRefused(app, '/ip/_/plain/s3://media/other/a.png', 404, /not in kinu's source/);
    await assertRefused(app, '/ip/_/plain/http://127.0.0.1/a.png', 404, /not in kinu's source/);
  });
});

describe("imgproxy http(s):// sources, when kinu's source is an HTTP origin", () => {
  let origin: http.Server;
  let port = 0;
  let app: ReturnType<typeof testServer>['app'];
  let other: ReturnType<typeof testServer>['app'];
  const asked: string[] = [];
  before(async () => {
    origin = http.createServer((req, res) => {
      asked.push(req.url ?? '');
      if (req.url === '/media/dir/a%20b.png') {
        res.writeHead(200, { 'content-type': 'image/png', 'content-length': PNG.length, etag: '"1"' });
        res.end(req.method === 'HEAD' ? undefined : PNG);
      } else {
        res.writeHead(404).end();
      }
    });
    await new Promise<void>((resolve) => origin.listen(0, '127.0.0.1', resolve));
    port = (origin.address() as { port: number }).port;
    ({ app } = testServer({
      KINU_SOURCE: `http://127.0.0.1:${port}/media/`,
      KINU_HTTP_ALLOW_NETS: '127.0.0.0/8',
      KINU_DIALECTS: 'imgproxy=/ip,thumbor=/th',
    }));
    // The same origin without the allow-list: the SSRF guard refuses loopback.
    ({ app: other } = testServer({ KINU_SOURCE: `http://127.0.0.1:${port}/media/`, KINU_DIALECTS: 'imgproxy=/ip' }));
  });
  after(async () => {
    await app?.close();
    await other?.close();
    await new Promise((resolve) => origin?.close(resolve));
  });

  test('plain (percent-encoded) and base64url URLs under the origin are read through it', async () => {
    const url = `http://127.0.0.1:${port}/media/dir/a%20b.png`;
    await assertImage(app, `/ip/_/w:10/plain/${encodeURIComponent(url)}@png`, 10);
    await assertImage(app, `/ip/_/w:11/plain/${url.replace('%20', '%2520')}@png`, 11);
    await assertImage(app, `/ip/_/w:12/${b64(url)}.png`, 12);
    // Browsers turn `//` into `/`; imgproxy (and kinu) put it back.
    await assertImage(app, `/ip/_/w:9/plain/http:/127.0.0.1:${port}/media/dir/a%2520b.png@png`, 9);
    // Host case and a default-free port are normalised before comparing with the origin.
    await assertImage(app, `/ip/_/w:7/${b64(`HTTP://127.0.0.1:${port}/media/dir/a%20b.png`)}.png`, 7);
    assert.ok(
      asked.every((p) => p.startsWith('/media/')),
      `only the origin's base was asked: ${asked.join(' ')}`,
    );
  });

  test('another origin, scheme or path outside the base is a 404; a query or encoded slash a 400', async () => {
    const before = asked.length;
    await assertRefused(app, `/ip/_/${b64('http://example.com/media/a.png')}`, 404, /under kinu's HTTP origin/);
    await assertRefused(app, `/ip/_/${b64(`https://127.0.0.1:${port}/media/a.png`)}`, 404, /not in kinu's source/);
    await assertRefused(app, `/ip/_/${b64(`http://127.0.0.1:${port}/private/a.png`)}`, 404, /not in kinu's source/);
    await assertRefused(app, `/ip/_/${b64(`http://127.0.0.1:${port}/media/../private/a.png`)}`, 404, /not in/);
    await assertRefused(app, `/ip/_/${b64(`http://127.0.0.1:${port}/media/a.png?x=1`)}`, 400, /without a query/);
    await assertRefused(app, `/ip/_/${b64(`http://127.0.0.1:${port}/media/a%2Fb.png`)}`, 400, /encoded \//);
    await assertRefused(app, '/ip/_/plain/s3://media/a.png', 404, /HTTP origin/);
    assert.equal(asked.length, before, 'nothing refused reached the origin');
  });

  test("the origin's allow-list still applies: loopback without KINU_HTTP_ALLOW_NETS is refused", async () => {
    const res = await other.inject({ url: `/ip/_/${b64(`http://127.0.0.1:${port}/media/dir/a%20b.png`)}.png` });
    assert.equal(res.statusCode, 502, res.body);
    assert.match(JSON.parse(res.body).detail, /KINU_HTTP_ALLOW_NETS/);
  });

  test("thumbor's absolute image URLs under the origin are read through it, as thumbor's HTTP loader reads them", async () => {
    const url = `http://127.0.0.1:${port}/media/dir/a%20b.png`;
    await assertImage(app, `/th/unsafe/10x0/${url}`, 10);
    await assertImage(app, `/th/unsafe/fit-in/12x12/filters:format(png)/${encodeURIComponent(url)}`, 12);
    const before = asked.length;
    await assertRefused(app, '/th/unsafe/10x0/http://example.com/media/a.png', 404, /^image: .* not in kinu's source/);
    await assertRefused(app, `/th/unsafe/10x0/http://127.0.0.1:${port}/private/a.png`, 404, /not in kinu's source/);
    assert.equal(asked.length, before, 'nothing refused reached the origin');
  });
});
