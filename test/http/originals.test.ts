// Originals (no params) leave only when their bytes are an image: sniffed from the first bytes, whatever the
// name says. Non-images are 404 like a missing key; dotfiles are not keys at all; KINU_ORIGINALS=signed makes
// originals need a sig; uploads cannot create dotfiles.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { after, describe, test } from 'node:test';
import { main } from '../../src/cli.ts';
import { ConfigError } from '../../src/config.ts';
import { sniff, SNIFF_BYTES } from '../../src/source/sniff.ts';
import { signUrl } from '../../src/url/sign.ts';
import { corpus, decode, tempDir, testServer } from '../helpers.ts';
import { problem } from './fakes.ts';

const read = (f: string) => readFileSync(corpus(f));
const PNG = read('png/rgba.png');
const JPEG = read('photos/lunch-food.jpg'); // 2.2 MB: many chunks after the sniffed head
const HEIC = read('heic/winter-1440x960.heic');
const SVG = Buffer.from(
  '\uFEFF<?xml version="1.0" encoding="UTF-8"?>\n<!-- Generator: hand -->\n<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd" [\n  <!ENTITY ns "http://www.w3.org/2000/svg">\n]>\n<svg xmlns="http://www.w3.org/2000/svg" width="20" height="10"><rect width="20" height="10" fill="red"/></svg>\n',
);
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

const root = tempDir('kinu-originals-');
const files: Record<string, Buffer | string> = {
  '.env': 'SECRET=hunter2\n',
  'page.html': '<!doctype html><html><body>private</body></html>',
  'notes/config.json': '{"password":"x"}',
  'fake.jpg': 'hello, not a JPEG',
  'html.svg': '<html><svg></svg></html>',
  'movie.mp4': Buffer.concat([Buffer.from([0, 0, 0, 0x18]), Buffer.from('ftypisom\0\0\0\0isommp42'), Buffer.alloc(64)]),
  'looks-like.bmp': 'BMP is what this text starts with',
  'json.svgz': read('corrupt/truncated.svgz'),
  'photo.jpg': PNG, // a PNG under a .jpg name
  noext: JPEG,
  'big.jpg': JPEG,
  'pic.heic': HEIC,
  'drawing.svg': SVG,
  'drawing.svgz': gzipSync(SVG),
  'tiny.gif': Buffer.from('R0lGODlhAQABAAAAACH5BAEKAAEALAAAAAABAAEAAAICTAEAOw==', 'base64'),
};
for (const [name, body] of Object.entries(files)) {
  mkdirSync(join(root, name, '..'), { recursive: true });
  writeFileSync(join(root, name), body);
}

describe('only images are originals', () => {
  const { app } = testServer({ KINU_SOURCE: root });
  after(() => app.close());

  for (const key of [
    'page.html',
    'notes/config.json',
    'fake.jpg',
    'html.svg',
    'movie.mp4',
    'looks-like.bmp',
    'json.svgz',
  ]) {
    test(`${key}: 404 for GET and HEAD, the same answer as a missing key`, async () => {
      const p = problem(await app.inject({ url: `/${key}` }), 404, 'not_found');
      const missing = problem(await app.inject({ url: `/${key}.missing` }), 404, 'not_found');
      assert.equal(p.detail.replace(key, 'K'), missing.detail.replace(`${key}.missing`, 'K'));
      const head = await app.inject({ method: 'HEAD', url: `/${key}` });
      assert.equal(head.statusCode, 404);
    });
  }

  test('dotfiles are not keys: 400 invalid_key before the source is asked', async () => {
    problem(await app.inject({ url: '/.env' }), 400, 'invalid_key');
    problem(await app.inject({ url: '/%2Eenv' }), 400, 'invalid_key');
  });

  test("the Content-Type is the bytes' format, not the name's", async () => {
    const r = await app.inject({ url: '/photo.jpg' });
    assert.equal(r.statusCode, 200);
    assert.equal(r.headers['content-type'], 'image/png');
    assert.ok(r.rawPayload.equals(PNG));
    const n = await app.inject({ url: '/noext' });
    assert.equal(n.headers['content-type'], 'image/jpeg');
  });

  test('every byte is sent, the sniffed head included, for large and tiny originals', async () => {
    const big = await app.inject({ url: '/big.jpg' });
    assert.equal(big.statusCode, 200);
    assert.ok(JPEG.length > 4 * SNIFF_BYTES);
    assert.equal(Number(big.headers['content-length']), JPEG.length);
    assert.equal(sha(big.rawPayload), sha(JPEG));
    const tiny = await app.inject({ url: '/tiny.gif' });
    assert.equal(tiny.headers['content-type'], 'image/gif');
    assert.ok(tiny.rawPayload.equals(files['tiny.gif'] as Buffer));
    const meta = await decode(tiny.rawPayload);
    assert.deepEqual([meta.format, meta.width, meta.height], ['gif', 1, 1]);
  });

  test('images kinu cannot decode yet are still originals (HEIC)', async () => {
    const r = await app.inject({ url: '/pic.heic' });
    assert.equal(r.statusCode, 200);
    assert.equal(r.headers['content-type'], 'image/heic');
    assert.ok(r.rawPayload.equals(HEIC));
  });

  test('SVG after a prolog, comments and a DOCTYPE; gzip-compressed SVG gets Content-Encoding', async () => {
    const svg = await app.inject({ url: '/drawing.svg' });
    assert.equal(svg.statusCode, 200);
    assert.equal(svg.headers['content-type'], 'image/svg+xml');
    assert.match(String(svg.headers['content-security-policy']), /sandbox/);
    const svgz = await app.inject({ url: '/drawing.svgz' });
    assert.equal(svgz.statusCode, 200);
    assert.equal(svgz.headers['content-type'], 'image/svg+xml');
    assert.equal(svgz.headers['content-encoding'], 'gzip');
  });

  test("HEAD of an image answers GET's headers", async () => {
    const [get, head] = await Promise.all([
      app.inject({ url: '/photo.jpg' }),
      app.inject({ method: 'HEAD', url: '/photo.jpg' }),
    ]);
    assert.equal(head.statusCode, 200);
    for (const h of ['content-type', 'content-length', 'etag']) assert.equal(head.headers[h], get.headers[h], h);
  });

  test('a variant of a non-image is a 415 that says so', async () => {
    const p = problem(await app.inject({ url: '/page.html?w=10' }), 415, 'unsupported_format');
    assert.match(p.detail, /not in a format kinu can decode/);
  });
});

describe('sniff()', () => {
  test('every image in the corpus and none of the ICC profiles, JSON or text', () => {
    for (const f of [
      'jpeg/progressive-kimono.jpg',
      'png/rgba.png',
      'gif/animated-loop-3.gif',
      'webp/lossy-photo.webp',
      'avif/fox-8bit-420.avif',
      'avif/sequence-star-alpha.avifs',
      'tiff/1bit.tif',
      'tiff/multipage-2-pages.tif',
      'svg/viewbox-only.svg',
      'svg/gzip-compressed.svgz',
      'heic/iphone11-flower-p3-gps.heic',
    ]) {
      assert.ok(sniff(read(f).subarray(0, SNIFF_BYTES)), f);
    }
    for (const f of [
      'color/profiles/sRGB.icm',
      'manifest.json',
      'SOURCES.md',
      'corrupt/truncated.svgz',
      'corrupt/one-byte.jpg',
    ]) {
      assert.equal(sniff(read(f).subarray(0, SNIFF_BYTES)), undefined, f);
    }
  });

  test('formats by their magic numbers', () => {
    const bmp = Buffer.alloc(54);
    bmp.write('BM');
    bmp.writeUInt32LE(54, 2);
    bmp.writeUInt32LE(40, 14);
    const ico = Buffer.alloc(22);
    ico.writeUInt16LE(1, 2);
    ico.writeUInt16LE(1, 4);
    ico.writeUInt16LE(1, 10);
    const ftyp = (...brands: string[]) => {
      const b = Buffer.alloc(8 + brands.length * 4 + 4);
      b.writeUInt32BE(b.length);
      b.write('ftyp', 4);
      b.write(brands[0]!, 8);
      for (const [i, x] of brands.slice(1).entries()) b.write(x, 16 + i * 4);
      return b;
    };
    const cases: [Buffer, string | undefined][] = [
      [bmp, 'image/bmp'],
      [ico, 'image/x-icon'],
      [Buffer.from([0xff, 0x0a, 0xfa]), 'image/jxl'],
      [Buffer.from('\0\0\0\x0cJXL \r\n\x87\n', 'latin1'), 'image/jxl'],
      [ftyp('mif1', 'mif1', 'avif'), 'image/avif'],
      [ftyp('heic', 'mif1', 'heic'), 'image/heic'],
      [ftyp('mif1', 'mif1'), 'image/heif'],
      [ftyp('isom', 'isom', 'mp42'), undefined],
      [Buffer.from('MM\0*'), 'image/tiff'],
      [Buffer.from('<svg/>'), 'image/svg+xml'],
      [Buffer.from('<!-- <svg> in a comment --><html/>'), undefined],
      [Buffer.from('<?xml version="1.0"?><svgfoo/>'), undefined],
      [Buffer.from(''), undefined],
    ];
    for (const [head, mime] of cases) assert.equal(sniff(head)?.mime, mime, head.toString('latin1').slice(0, 30));
  });
});

describe('KINU_ORIGINALS=signed', () => {
  const SECRET = 'originals-secret-0123456789';
  const TOKEN = 'originals-token-0123456789';
  const store = tempDir('kinu-originals-signed-');
  writeFileSync(join(store, 'photo.png'), PNG);
  const { app } = testServer({ KINU_SOURCE: store, KINU_SECRET: SECRET, KINU_ORIGINALS: 'signed', KINU_TOKEN: TOKEN });
  after(() => app.close());

  test('an unsigned original is a 403; signed (as kinu sign prints it) it is served', async () => {
    problem(await app.inject({ url: '/photo.png' }), 403, 'bad_signature');
    let printed = '';
    const code = await main(
      ['sign', '/photo.png'],
      { KINU_SECRET: SECRET },
      {
        out: (s) => {
          printed += s;
        },
        err: () => {},
      },
    );
    assert.equal(code, 0);
    const r = await app.inject({ url: printed.trim() });
    assert.equal(r.statusCode, 200, r.body);
    assert.ok(r.rawPayload.equals(PNG));
    problem(await app.inject({ url: signUrl('another-secret-0123456789', '/photo.png') }), 403, 'bad_signature');
  });

  test("the upload answer's url is signed and works", async () => {
    const put = await app.inject({
      method: 'PUT',
      url: '/_kinu/objects/up/new.png',
      headers: { authorization: `Bearer ${TOKEN}` },
      payload: PNG,
    });
    assert.equal(put.statusCode, 201, put.body);
    const url = new URL((put.json() as { url: string }).url, 'http://kinu.test');
    const r = await app.inject({ url: `${url.pathname}${url.search}` });
    assert.equal(r.statusCode, 200, r.body);
    assert.ok(r.rawPayload.equals(PNG));
  });

  test('needs a secret, and allow keeps originals public while variants are signed', async () => {
    assert.throws(
      () => testServer({ KINU_ORIGINALS: 'signed' }),
      (e: unknown) => e instanceof ConfigError && /KINU_ORIGINALS.*KINU_SECRET/.test(e.message),
    );
    const open = testServer({ KINU_SOURCE: store, KINU_SECRET: SECRET });
    assert.equal((await open.app.inject({ url: '/photo.png' })).statusCode, 200);
    problem(await open.app.inject({ url: '/photo.png?w=10' }), 403, 'bad_signature');
    await open.app.close();
  });
});

describe('uploads cannot create dotfiles', () => {
  const TOKEN = 'originals-token-0123456789';
  const store = tempDir('kinu-originals-up-');
  const { app } = testServer({ KINU_SOURCE: store, KINU_TOKEN: TOKEN });
  after(() => app.close());
  const auth = { authorization: `Bearer ${TOKEN}` };

  test('PUT to a dot-key and POST under a dot-prefix are 400 invalid_key', async () => {
    for (const key of ['.env.png', 'a/.git/x.png', '.well-known/x.png', '%2Ehidden.png']) {
      problem(
        await app.inject({ method: 'PUT', url: `/_kinu/objects/${key}`, headers: auth, payload: PNG }),
        400,
        'invalid_key',
      );
    }
    problem(
      await app.inject({ method: 'POST', url: '/_kinu/objects?prefix=.hidden/', headers: auth, payload: PNG }),
      400,
      'invalid_key',
    );
    problem(await app.inject({ method: 'DELETE', url: '/_kinu/objects/.env', headers: auth }), 400, 'invalid_key');
  });
});
