import { gunzipSync } from 'node:zlib';
// 200s: originals, transforms, fmt=auto negotiation, fmt=json, and HEAD answering as GET.
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { after, describe, test } from 'node:test';
import { corpus, decode, testServer } from '../helpers.ts';

const PHOTO = '/photos/hato-pigeons.jpg'; // 3082×2048, no alpha
const ALPHA = '/png/rgba.png'; // 128×128 RGBA

describe('images over HTTP', () => {
  const { app } = testServer();
  after(() => app.close());

  const ORIGINALS: [string, string][] = [
    [PHOTO, 'image/jpeg'],
    [ALPHA, 'image/png'],
    ['/webp/lossy-alpha.webp', 'image/webp'],
    ['/gif/animated-loop-3.gif', 'image/gif'],
    ['/avif/fox-8bit-420.avif', 'image/avif'],
  ];
  for (const [url, type] of ORIGINALS) {
    test(`original ${url} is byte-identical, as ${type}`, async () => {
      const res = await app.inject({ url });
      assert.equal(res.statusCode, 200);
      assert.equal(res.headers['content-type'], type);
      assert.equal(res.headers['x-content-type-options'], 'nosniff');
      const want = readFileSync(corpus(url.slice(1)));
      assert.equal(Number(res.headers['content-length']), want.length);
      assert.ok(res.rawPayload.equals(want));
      assert.equal(res.headers['content-security-policy'], undefined);
      assert.match(String(res.headers['server-timing']), /^fetch;dur=[\d.]+$/);
    });
  }

  test('an SVG original is sandboxed by a Content-Security-Policy', async () => {
    const res = await app.inject({ url: '/svg/xss-script.svg' });
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['content-type'], 'image/svg+xml');
    assert.match(String(res.headers['content-security-policy']), /sandbox/);
    assert.match(String(res.headers['content-security-policy']), /default-src 'none'/);
    assert.ok(res.rawPayload.equals(readFileSync(corpus('svg/xss-script.svg'))));
  });

  test('an SVGZ original is sent as gzip-encoded SVG, bytes unchanged', async () => {
    const res = await app.inject({ url: '/svg/gzip-compressed.svgz' });
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['content-type'], 'image/svg+xml');
    assert.equal(res.headers['content-encoding'], 'gzip');
    assert.ok(res.rawPayload.equals(readFileSync(corpus('svg/gzip-compressed.svgz'))));
    assert.match(gunzipSync(res.rawPayload).toString('utf8'), /<svg/);
  });

  test('a resize decodes at the asked size, with every header of DESIGN §4', async () => {
    const res = await app.inject({ url: `${PHOTO}?w=300&h=200&fit=fill&fmt=png` });
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['content-type'], 'image/png');
    assert.equal(Number(res.headers['content-length']), res.rawPayload.length);
    assert.match(String(res.headers.etag), /^"[A-Za-z0-9_-]+"$/);
    assert.equal(res.headers['last-modified'], statSync(corpus(PHOTO.slice(1))).mtime.toUTCString());
    assert.equal(res.headers['cache-control'], 'public, max-age=31536000');
    assert.equal(res.headers.vary, undefined);
    assert.match(String(res.headers['server-timing']), /^fetch;dur=[\d.]+, process;dur=[\d.]+, encode;dur=[\d.]+$/);
    const meta = await decode(res.rawPayload);
    assert.deepEqual([meta.format, meta.width, meta.height], ['png', 300, 200]);
  });

  test('dpr multiplies the size', async () => {
    const meta = await decode((await app.inject({ url: `${PHOTO}?w=150&dpr=2` })).rawPayload);
    assert.deepEqual([meta.format, meta.width], ['jpeg', 300]);
  });

  const AUTO: [string, string, string][] = [
    [PHOTO, 'image/avif,image/webp,*/*', 'avif'],
    [PHOTO, 'image/webp,*/*', 'webp'],
    [PHOTO, '*/*', 'jpeg'],
    [PHOTO, 'image/*', 'jpeg'],
    [PHOTO, 'image/avif;q=0,image/webp', 'webp'],
    [ALPHA, '*/*', 'png'],
    [ALPHA, 'image/webp', 'webp'],
  ];
  const MIME: Record<string, string> = { avif: 'image/avif', webp: 'image/webp', jpeg: 'image/jpeg', png: 'image/png' };
  const FORMAT: Record<string, string> = { avif: 'heif', webp: 'webp', jpeg: 'jpeg', png: 'png' };
  for (const [url, accept, want] of AUTO) {
    test(`fmt=auto for ${url} with Accept: ${accept} → ${want}, Vary: Accept`, async () => {
      const res = await app.inject({ url: `${url}?w=64&fmt=auto`, headers: { accept } });
      assert.equal(res.statusCode, 200);
      assert.equal(res.headers['content-type'], MIME[want]);
      assert.equal(res.headers.vary, 'Accept');
      assert.equal((await decode(res.rawPayload)).format, FORMAT[want]);
    });
  }

  test('fmt=auto with no Accept header gives the plain format', async () => {
    const res = await app.inject({ url: `${PHOTO}?w=64&fmt=auto` });
    assert.equal(res.headers['content-type'], 'image/jpeg');
    assert.equal(res.headers.vary, 'Accept');
  });

  test('no Vary without fmt=auto, whatever the Accept', async () => {
    for (const url of [`${PHOTO}?w=64`, `${PHOTO}?w=64&fmt=webp`, PHOTO]) {
      const res = await app.inject({ url, headers: { accept: 'image/avif,image/webp,*/*' } });
      assert.equal(res.statusCode, 200);
      assert.equal(res.headers.vary, undefined, url);
    }
  });

  test('fmt=json describes the output', async () => {
    const res = await app.inject({ url: `${PHOTO}?w=100&fmt=json` });
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers['content-type']), /^application\/json/);
    const body = res.json() as Record<string, unknown>;
    assert.equal(body.width, 100);
    assert.equal(body.height, Math.round((2048 * 100) / 3082));
    assert.equal(body.format, 'jpeg');
    assert.equal(body.mime, 'image/jpeg');
    assert.equal(typeof body.bytes, 'number');
    assert.equal(body.frames, 1);
  });

  for (const url of [
    PHOTO,
    `${PHOTO}?w=120&fmt=webp`,
    `${ALPHA}?w=20&fmt=json`,
    '/svg/xss-script.svg',
    `${PHOTO}?w=40&fmt=auto`,
  ]) {
    test(`HEAD ${url} answers as GET without a body`, async () => {
      const get = await app.inject({ url, headers: { accept: 'image/webp' } });
      const head = await app.inject({ method: 'HEAD', url, headers: { accept: 'image/webp' } });
      assert.equal(head.statusCode, 200);
      assert.equal(head.rawPayload.length, 0);
      const strip = (h: Record<string, unknown>) => {
        const { date: _d, 'server-timing': _s, 'x-kinu-cache': _c, 'x-request-id': _r, ...rest } = h;
        return rest;
      };
      assert.deepEqual(strip(head.headers), strip(get.headers));
      assert.equal(head.headers['content-length'], String(get.rawPayload.length));
      assert.equal(typeof head.headers['server-timing'], 'string');
    });
  }
});
