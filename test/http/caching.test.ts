// ETag, Last-Modified, conditional requests and Cache-Control.
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { corpus, decode, tempDir, testServer } from '../helpers.ts';

const PHOTO = '/photos/hato-pigeons.jpg';

describe('caching headers', () => {
  const { app } = testServer();
  after(() => app.close());
  const get = (url: string, headers: Record<string, string> = {}) => app.inject({ url, headers });
  const etag = async (url: string, headers: Record<string, string> = {}) =>
    String((await get(url, headers)).headers.etag);

  test('the ETag is strong and stable across requests and servers', async () => {
    for (const url of [PHOTO, `${PHOTO}?w=50`]) {
      const a = await etag(url);
      assert.match(a, /^"[^"]+"$/);
      assert.equal(await etag(url), a);
      const other = testServer().app;
      assert.equal(String((await other.inject({ url })).headers.etag), a);
      await other.close();
    }
  });

  test('the ETag differs per transform, format, key and Accept class', async () => {
    const tags = await Promise.all([
      etag(PHOTO),
      etag(`${PHOTO}?w=50`),
      etag(`${PHOTO}?w=51`),
      etag(`${PHOTO}?w=50&fmt=webp`),
      etag(`${PHOTO}?w=50&fmt=png`),
      etag(`${PHOTO}?w=50&fmt=auto`, { accept: 'image/webp' }),
      etag(`${PHOTO}?w=50&fmt=auto`, { accept: 'image/avif' }),
      etag(`${PHOTO}?w=50&fmt=auto`, { accept: '*/*' }),
      etag('/photos/jolla-leaf.jpg?w=50'),
    ]);
    assert.equal(new Set(tags).size, tags.length, tags.join(' '));
  });

  test('the ETag is the same for equal transforms and equal Accept classes', async () => {
    assert.equal(await etag(`${PHOTO}?w=400&dpr=2`), await etag(`${PHOTO}?w=800`));
    assert.equal(await etag(`${PHOTO}?h=10&w=20`), await etag(`${PHOTO}?w=20&h=10`));
    assert.equal(
      await etag(`${PHOTO}?w=50&fmt=auto`, { accept: 'image/webp,*/*' }),
      await etag(`${PHOTO}?w=50&fmt=auto`, { accept: 'text/html, image/webp;q=0.9' }),
    );
  });

  test('If-None-Match → 304 with ETag, Cache-Control, and no body', async () => {
    for (const url of [PHOTO, `${PHOTO}?w=50`, `${PHOTO}?w=50&fmt=json`]) {
      const tag = await etag(url);
      for (const inm of [tag, `W/${tag}`, `"nope", ${tag}`, `"a","b" ,${tag}`, '*']) {
        const res = await get(url, { 'if-none-match': inm });
        assert.equal(res.statusCode, 304, `${url} ${inm}`);
        assert.equal(res.headers.etag, tag);
        assert.equal(res.headers['cache-control'], 'public, max-age=31536000');
        // RFC 9110 §15.4.5: the ETag validates; the stored response keeps its Last-Modified and purge tag.
        for (const h of ['last-modified', 'x-kinu-key', 'x-kinu-cache', 'content-type'])
          assert.equal(res.headers[h], undefined, `${url} ${h}`);
        assert.equal(res.rawPayload.length, 0);
        assert.equal(res.headers['content-length'], undefined);
      }
      for (const inm of ['"nope"', `${tag.slice(0, -2)}"`, 'W/"nope"'])
        assert.equal((await get(url, { 'if-none-match': inm })).statusCode, 200, inm);
    }
  });

  test('a 304 of a negotiated response keeps Vary: Accept', async () => {
    const url = `${PHOTO}?w=50&fmt=auto`;
    const tag = await etag(url, { accept: 'image/webp' });
    const res = await get(url, { accept: 'image/webp', 'if-none-match': tag });
    assert.equal(res.statusCode, 304);
    assert.equal(res.headers.vary, 'Accept');
    assert.equal((await get(url, { accept: 'image/avif', 'if-none-match': tag })).statusCode, 200);
  });

  test('If-Modified-Since → 304 when not modified; If-None-Match wins over it', async () => {
    const first = await get(`${PHOTO}?w=50`);
    const lm = String(first.headers['last-modified']);
    assert.equal((await get(`${PHOTO}?w=50`, { 'if-modified-since': lm })).statusCode, 304);
    assert.equal(
      (await get(PHOTO, { 'if-modified-since': new Date(Date.now() + 86_400_000).toUTCString() })).statusCode,
      304,
    );
    assert.equal(
      (await get(PHOTO, { 'if-modified-since': new Date(Date.parse(lm) - 1000).toUTCString() })).statusCode,
      200,
    );
    assert.equal((await get(PHOTO, { 'if-modified-since': 'not a date' })).statusCode, 200);
    assert.equal((await get(PHOTO, { 'if-modified-since': lm, 'if-none-match': '"nope"' })).statusCode, 200);
  });

  test('errors are never cached', async () => {
    for (const url of ['/photos/nope.jpg', `${PHOTO}?w=0`])
      assert.equal((await get(url)).headers['cache-control'], 'no-store');
  });
});

describe('ETag and Last-Modified follow the file', () => {
  test('a changed file gets a new ETag and Last-Modified, and an old ETag no longer matches', async () => {
    const root = tempDir();
    const path = join(root, 'a.jpg');
    copyFileSync(corpus('photos/hato-pigeons.jpg'), path);
    utimesSync(path, new Date('2020-01-01T00:00:00Z'), new Date('2020-01-01T00:00:00Z'));
    const { app } = testServer({ KINU_SOURCE: root, KINU_STAT_TTL: '0' });
    const before = await app.inject({ url: '/a.jpg?w=40' });
    assert.equal(before.headers['last-modified'], 'Wed, 01 Jan 2020 00:00:00 GMT');
    const beforeOriginal = String((await app.inject({ url: '/a.jpg' })).headers.etag);

    copyFileSync(corpus('photos/jolla-leaf.jpg'), path);
    utimesSync(path, new Date('2021-01-01T00:00:00Z'), new Date('2021-01-01T00:00:00Z'));
    const res = await app.inject({ url: '/a.jpg?w=40', headers: { 'if-none-match': String(before.headers.etag) } });
    assert.equal(res.statusCode, 200);
    assert.notEqual(res.headers.etag, before.headers.etag);
    assert.equal(res.headers['last-modified'], 'Fri, 01 Jan 2021 00:00:00 GMT');
    assert.notEqual(String((await app.inject({ url: '/a.jpg' })).headers.etag), beforeOriginal);

    // Same size, only the mtime moves: still a new version.
    const tag = String(res.headers.etag);
    utimesSync(path, new Date('2022-01-01T00:00:00Z'), new Date('2022-01-01T00:00:00Z'));
    assert.notEqual(String((await app.inject({ url: '/a.jpg?w=40' })).headers.etag), tag);
    await app.close();
  });

  test('a changed watermark changes the ETag', async () => {
    const root = tempDir();
    mkdirSync(join(root, 'wm'));
    copyFileSync(corpus('photos/hato-pigeons.jpg'), join(root, 'a.jpg'));
    copyFileSync(corpus('png/rgba.png'), join(root, 'wm', 'logo.png'));
    const { app } = testServer({ KINU_SOURCE: root, KINU_STAT_TTL: '0' });
    const url = '/a.jpg?w=200&wm=wm%2Flogo.png';
    const first = await app.inject({ url });
    assert.equal(first.statusCode, 200, first.body);
    assert.equal((await decode(first.rawPayload)).width, 200);
    copyFileSync(corpus('png/palette-trns.png'), join(root, 'wm', 'logo.png'));
    utimesSync(join(root, 'wm', 'logo.png'), new Date('2020-01-01T00:00:00Z'), new Date('2020-01-01T00:00:00Z'));
    const second = await app.inject({ url, headers: { 'if-none-match': String(first.headers.etag) } });
    assert.equal(second.statusCode, 200);
    assert.notEqual(second.headers.etag, first.headers.etag);
    await app.close();
  });
});

describe('Cache-Control', () => {
  test('KINU_CACHE_CONTROL sets it for images, originals and 304s', async () => {
    const { app } = testServer({ KINU_CACHE_CONTROL: 'public, max-age=60, stale-while-revalidate=30' });
    for (const url of [PHOTO, `${PHOTO}?w=20`]) {
      const res = await app.inject({ url });
      assert.equal(res.headers['cache-control'], 'public, max-age=60, stale-while-revalidate=30');
      const nm = await app.inject({ url, headers: { 'if-none-match': String(res.headers.etag) } });
      assert.equal(nm.headers['cache-control'], 'public, max-age=60, stale-while-revalidate=30');
    }
    await app.close();
  });
});
