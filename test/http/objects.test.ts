// The management API (/_kinu/objects, /_kinu/info) end to end, against the file source (a temp folder) and
// the S3 source (s3rver on 127.0.0.1 through the real SDK): uploads stored byte for byte or not at all,
// content-addressed keys, metadata, deletes with their purges, auth, and every way an upload can go wrong.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { connect, createServer as createNetServer, type AddressInfo, type Socket } from 'node:net';
import { join, relative } from 'node:path';
import { after, afterEach, before, describe, test } from 'node:test';
import sharp from 'sharp';
import type { KinuServer } from '../../src/server.ts';
import { createFileSource } from '../../src/source/file.ts';
import { createS3Source } from '../../src/source/s3.ts';
import type { Source } from '../../src/source/source.ts';
import { closedPort, startS3, useS3rverCredentials, type S3TestServer } from '../cache/s3-server.ts';
import { corpus, decode, tempDir, testServer } from '../helpers.ts';
import { listen, problem, raw } from './fakes.ts';

const TOKEN = 'objects-test-token-0123456789';
const AUTH = { authorization: `Bearer ${TOKEN}` };

const bytesOf = (file: string) => readFileSync(corpus(file));
const JPEG = bytesOf('metadata/gps-nikon.jpg'); // 640×480
const JPEG2 = bytesOf('color/adobe-rgb-a98.jpg'); // 290×442
const BIG_JPEG = bytesOf('photos/lunch-food.jpg'); // 2.2 MB, over Fastify's default 1 MiB body limit
const PNG_ALPHA = bytesOf('png/rgba.png'); // 128×128 RGBA
const WEBP = bytesOf('webp/lossy-photo.webp'); // 1024×772
const ANIMATED_WEBP = bytesOf('webp/animated-rotating-squares.webp'); // 80×80, 9 frames
const GIF = bytesOf('gif/animated-loop-3.gif'); // 370×285, 10 frames
const AVIF = bytesOf('avif/fox-8bit-420.avif'); // 1204×800
const ORIENTED_6 = bytesOf('orientation/Landscape_6.jpg'); // stored 1200×1800, EXIF 6: shown 1800×1200
const CMYK = bytesOf('color/cmyk-no-profile.jpg'); // 500×333 CMYK, no ICC
const CMYK_ICC = bytesOf('color/cmyk-swop-profile.jpg'); // 500×333 CMYK with a SWOP profile
const BOMB = bytesOf('bombs/png-16384x16384.png'); // 268 Mpx declared in 33 kB
const TRUNCATED_JPEG = bytesOf('corrupt/truncated-10k-of-2725x2225.jpg');
const TRUNCATED_PNG = bytesOf('corrupt/truncated.png');

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const pathOf = (url: string) => new URL(url, 'http://kinu.test').pathname;

interface Backend {
  /** Settings of a server over a fresh, empty store. */
  env(): Record<string, string>;
  /** Every stored name, hidden temporaries included, relative to the store's root. */
  stored(): Promise<string[]>;
  /** The stored bytes of a key, or undefined. */
  read(key: string): Promise<Buffer | undefined>;
  /** Puts bytes into the store behind kinu's back. */
  seed(key: string, body: Buffer): Promise<void>;
  /** A bare adapter over the same store, to wrap. */
  adapter(): Source;
}

let s3: S3TestServer;
before(async () => {
  s3 = await startS3('kinu-objects');
  useS3rverCredentials();
});
after(async () => {
  await s3?.stop();
});

async function walk(root: string): Promise<string[]> {
  const out: string[] = [];
  const visit = async (dir: string) => {
    for (const e of await readdir(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) await visit(p);
      else out.push(relative(root, p));
    }
  };
  await visit(root);
  return out.sort();
}

function fileBackend(): Backend {
  let dir = '';
  return {
    env() {
      dir = tempDir('kinu-objects-');
      return { KINU_SOURCE: dir };
    },
    stored: () => walk(dir),
    read: (key) => readFile(join(dir, key)).catch(() => undefined),
    seed: async (key, body) => {
      await writeFile(join(dir, key), body);
    },
    adapter: () => createFileSource({ root: dir }),
  };
}

function s3Backend(): Backend {
  let n = 0;
  let prefix = '';
  const client = () => s3.client();
  return {
    env() {
      prefix = `t${++n}-${Date.now().toString(36)}/originals/`;
      return { KINU_SOURCE: `s3://${s3.bucket}/${prefix.slice(0, -1)}`, KINU_S3_ENDPOINT: s3.endpoint };
    },
    async stored() {
      const keys = await client().list(s3.bucket, prefix);
      return keys.map((k) => k.slice(prefix.length)).sort();
    },
    async read(key) {
      return (await client().get(s3.bucket, prefix + key))?.body;
    },
    seed: (key, body) => client().put(s3.bucket, prefix + key, body, 'application/octet-stream', {}),
    adapter: () => createS3Source({ url: `s3://${s3.bucket}/${prefix.slice(0, -1)}`, client: client() }),
  };
}

/** A raw HTTP/1.1 exchange over one socket, so a body can be cut short or sent in chunks by hand. */
interface RawAnswer {
  status: number;
  head: string;
  headers: Record<string, string>;
  body: string;
}
function exchange(
  port: number,
  data: Buffer[],
  opts: { after?: 'wait' | 'destroy' | 'end' } = {},
): Promise<RawAnswer | undefined> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let received = Buffer.alloc(0);
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      socket.destroy();
      resolve(parseAnswer(received));
    };
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      const a = parseAnswer(received);
      // A whole answer is in: no need to wait for the server to close (it may wait for the body we hold back).
      if (
        a &&
        a.headers['content-length'] !== undefined &&
        Buffer.byteLength(a.body) >= Number(a.headers['content-length'])
      )
        finish();
    });
    socket.on('error', () => finish());
    socket.on('close', () => finish());
    socket.on('connect', () => {
      for (const d of data) socket.write(d);
      if (opts.after === 'destroy') socket.destroy();
      else if (opts.after === 'end') socket.end();
    });
  });
}

function parseAnswer(buf: Buffer): RawAnswer | undefined {
  const text = buf.toString('latin1');
  const end = text.indexOf('\r\n\r\n');
  if (end < 0) return undefined;
  const head = text.slice(0, end);
  const [statusLine, ...lines] = head.split('\r\n');
  const headers: Record<string, string> = {};
  for (const l of lines) {
    const i = l.indexOf(':');
    headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
  }
  return {
    status: Number(statusLine!.split(' ')[1]),
    head,
    headers,
    body: buf.subarray(Buffer.byteLength(text.slice(0, end + 4), 'latin1')).toString(),
  };
}

function requestHead(method: string, path: string, headers: Record<string, string | number>): Buffer {
  const lines = [
    `${method} ${path} HTTP/1.1`,
    'Host: 127.0.0.1',
    `Authorization: Bearer ${TOKEN}`,
    ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
  ];
  return Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1');
}

function chunked(body: Buffer, size = 16 * 1024): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < body.length; i += size) {
    const part = body.subarray(i, i + size);
    out.push(Buffer.from(`${part.length.toString(16)}\r\n`), part, Buffer.from('\r\n'));
  }
  out.push(Buffer.from('0\r\n\r\n'));
  return out;
}

/**
 * A small TCP server standing in for Varnish: records every request's line and headers, answers 200.
 * (node:http's parser refuses the BAN method with a 400 before any handler runs, so it cannot be used.)
 */
async function startPurgeServer() {
  const seen: { method: string; url: string; headers: Record<string, string> }[] = [];
  const sockets = new Set<Socket>();
  const server = createNetServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    let buf = '';
    socket.on('data', (d: Buffer) => {
      buf += d.toString('latin1');
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const [line, ...lines] = buf.slice(0, end).split('\r\n');
      const [method, url] = line!.split(' ');
      const headers: Record<string, string> = {};
      for (const l of lines)
        headers[l.slice(0, l.indexOf(':')).trim().toLowerCase()] = l.slice(l.indexOf(':') + 1).trim();
      seen.push({ method: method!, url: url!, headers });
      buf = buf.slice(end + 4);
      socket.end('HTTP/1.1 200 OK\r\nContent-Length: 6\r\nConnection: close\r\n\r\nbanned');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/ban`,
    seen,
    stop: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

/** Resolves once the server holds no connection (polled; no timing is asserted). */
async function allClosed(app: KinuServer): Promise<void> {
  const open = () => new Promise<number>((r) => app.server.getConnections((_e, n) => r(n)));
  for (let i = 0; i < 500 && (await open()) > 0; i++) await new Promise((r) => setTimeout(r, 10));
  assert.equal(await open(), 0, 'the server still holds connections');
}

async function solid(width: number, height: number, hex: string, format: 'png' | 'jpeg' = 'png'): Promise<Buffer> {
  const img = sharp({ create: { width, height, channels: 3, background: hex } });
  return format === 'png' ? img.png().toBuffer() : img.jpeg({ quality: 95 }).toBuffer();
}

for (const [name, makeBackend] of [
  ['file', fileBackend],
  ['s3', s3Backend],
] as const) {
  describe(`management API over the ${name} source`, () => {
    const backend = makeBackend();
    const apps: KinuServer[] = [];
    afterEach(async () => {
      await Promise.all(apps.splice(0).map((a) => a.close()));
    });
    const server = (env: Record<string, string> = {}, deps: Parameters<typeof testServer>[1] = {}) => {
      const app = testServer({ ...backend.env(), KINU_TOKEN: TOKEN, ...env }, deps).app;
      apps.push(app);
      return app;
    };
    const put = (
      app: KinuServer,
      key: string,
      body: Buffer | string,
      contentType = 'application/octet-stream',
      path = `/_kinu/objects/${key}`,
    ) => app.inject({ method: 'PUT', url: path, payload: body, headers: { ...AUTH, 'content-type': contentType } });
    const post = (app: KinuServer, body: Buffer | string, query = '', contentType = 'application/octet-stream') =>
      app.inject({
        method: 'POST',
        url: `/_kinu/objects${query}`,
        payload: body,
        headers: { ...AUTH, 'content-type': contentType },
      });
    const nothingStored = async (what: string) => {
      assert.deepEqual(await backend.stored(), [], `${what}: nothing may be stored`);
    };

    test('PUT stores the exact bytes, answers 201 with the metadata, and the URL serves them', async () => {
      const app = server();
      const res = await put(app, 'dishes/curry.jpg', JPEG, 'image/jpeg');
      assert.equal(res.statusCode, 201, res.body);
      assert.match(String(res.headers['content-type']), /^application\/json/);
      assert.equal(res.headers['cache-control'], 'no-store');
      const j = res.json();
      for (const field of ['key', 'url', 'width', 'height', 'format', 'bytes', 'etag', 'created'])
        assert.ok(field in j, `answer lacks ${field}`);
      assert.equal(j.key, 'dishes/curry.jpg');
      assert.deepEqual([j.width, j.height, j.format, j.bytes, j.created], [640, 480, 'jpeg', JPEG.length, true]);
      assert.equal(pathOf(j.url), '/dishes/curry.jpg');
      assert.deepEqual(await backend.stored(), ['dishes/curry.jpg']);
      assert.ok((await backend.read('dishes/curry.jpg'))!.equals(JPEG), 'the stored bytes are the uploaded bytes');

      const original = await app.inject({ url: pathOf(j.url) });
      assert.equal(original.statusCode, 200);
      assert.ok(original.rawPayload.equals(JPEG));
      assert.equal(original.headers.etag, j.etag, 'the JSON etag is the one GET /<key> answers with');
      assert.equal(original.headers['content-type'], 'image/jpeg');
      const small = await app.inject({ url: `${pathOf(j.url)}?w=50` });
      assert.equal(small.statusCode, 200, small.body);
      assert.deepEqual([(await decode(small.rawPayload)).width, (await decode(small.rawPayload)).height], [50, 38]);
    });

    test('PUT of a large original (over 1 MiB) and chunked without Content-Length both work', async () => {
      const app = server();
      const res = await put(app, 'big.jpg', BIG_JPEG, 'image/jpeg');
      assert.equal(res.statusCode, 201, res.body);
      assert.ok((await backend.read('big.jpg'))!.equals(BIG_JPEG));
      const port = await listen(app);
      const a = await exchange(port, [
        requestHead('PUT', '/_kinu/objects/chunked.png', {
          'content-type': 'image/png',
          'transfer-encoding': 'chunked',
          connection: 'close',
        }),
        ...chunked(PNG_ALPHA, 4096),
      ]);
      assert.equal(a?.status, 201, a?.body);
      assert.equal(JSON.parse(a!.body).bytes, PNG_ALPHA.length);
      assert.ok((await backend.read('chunked.png'))!.equals(PNG_ALPHA));
    });

    test('PUT again replaces: 200, new dimensions, old variants gone, a fresh miss', async () => {
      const app = server();
      const first = await put(app, 'swap.jpg', JPEG);
      assert.equal(first.statusCode, 201, first.body);
      const v1 = await app.inject({ url: '/swap.jpg?w=50' });
      assert.equal(v1.headers['x-kinu-cache'], 'miss');
      assert.equal((await decode(v1.rawPayload)).height, 38);
      assert.equal((await app.inject({ url: '/swap.jpg?w=50' })).headers['x-kinu-cache'], 'memory');
      const originalBefore = await app.inject({ url: '/swap.jpg' });

      const second = await put(app, 'swap.jpg', JPEG2, 'image/jpeg');
      assert.equal(second.statusCode, 200, second.body);
      const j = second.json();
      assert.deepEqual([j.width, j.height, j.created, j.bytes], [290, 442, false, JPEG2.length]);
      assert.ok((await backend.read('swap.jpg'))!.equals(JPEG2));
      assert.deepEqual(await backend.stored(), ['swap.jpg']);

      const v2 = await app.inject({ url: '/swap.jpg?w=50' });
      assert.equal(v2.statusCode, 200);
      assert.equal(v2.headers['x-kinu-cache'], 'miss', 'the replaced original is processed again');
      assert.equal((await decode(v2.rawPayload)).height, 76, 'the new image is served (290×442 → 50×76)');
      assert.notEqual(v2.headers.etag, v1.headers.etag);
      const originalAfter = await app.inject({ url: '/swap.jpg' });
      assert.ok(originalAfter.rawPayload.equals(JPEG2));
      assert.equal(originalAfter.headers.etag, j.etag);
      assert.notEqual(originalAfter.headers.etag, originalBefore.headers.etag);
      // A client revalidating with the old ETag gets the new bytes, not a 304.
      const reval = await app.inject({ url: '/swap.jpg?w=50', headers: { 'if-none-match': String(v1.headers.etag) } });
      assert.equal(reval.statusCode, 200);
    });

    test('a replaced original is noticed by the fast path of a listening server too', async () => {
      const app = server();
      assert.equal((await put(app, 'fast.jpg', JPEG)).statusCode, 201);
      const port = await listen(app);
      const base = `http://127.0.0.1:${port}`;
      assert.equal((await fetch(`${base}/fast.jpg?w=60`)).headers.get('x-kinu-cache'), 'miss');
      assert.equal((await fetch(`${base}/fast.jpg?w=60`)).headers.get('x-kinu-cache'), 'memory');
      const res = await fetch(`${base}/_kinu/objects/fast.jpg`, { method: 'PUT', body: JPEG2, headers: AUTH });
      assert.equal(res.status, 200, await res.clone().text());
      const again = await fetch(`${base}/fast.jpg?w=60`);
      assert.equal(again.headers.get('x-kinu-cache'), 'miss');
      const meta = await decode(Buffer.from(await again.arrayBuffer()));
      assert.deepEqual([meta.width, meta.height], [60, 91]);
    });

    test('POST derives the key from the SHA-256 and the detected format, whatever the Content-Type says', async () => {
      const app = server();
      const cases: [Buffer, string, string][] = [
        [JPEG, 'image/png', 'jpg'],
        [PNG_ALPHA, 'image/jpeg', 'png'],
        [WEBP, 'application/octet-stream', 'webp'],
        [GIF, 'image/gif', 'gif'],
        [AVIF, 'image/avif', 'avif'],
      ];
      for (const [body, type, ext] of cases) {
        const res = await post(app, body, '', type);
        assert.equal(res.statusCode, 201, `${ext}: ${res.body}`);
        const j = res.json();
        assert.equal(j.key, `${sha256(body)}.${ext}`);
        assert.equal(j.created, true);
        assert.ok((await backend.read(j.key))!.equals(body), `${ext}: stored bytes`);
        const served = await app.inject({ url: pathOf(j.url) });
        assert.ok(served.rawPayload.equals(body), `${ext}: served bytes`);
        assert.equal(served.headers.etag, j.etag);
      }
      const again = await post(app, AVIF, '', 'image/avif');
      assert.equal(again.statusCode, 200, again.body);
      assert.deepEqual(
        [again.json().created, again.json().format, again.json().key],
        [false, 'avif', `${sha256(AVIF)}.avif`],
      );
      assert.equal((await backend.stored()).length, cases.length);
    });

    test('POST ?prefix= puts the hashed key under the prefix; the same content twice is the same key, created: false', async () => {
      const purge = await startPurgeServer();
      try {
        const app = server({ KINU_PURGE_URL: purge.url });
        const a = await post(app, JPEG, '?prefix=recipes');
        assert.equal(a.statusCode, 201, a.body);
        const key = `recipes/${sha256(JPEG)}.jpg`;
        assert.equal(a.json().key, key);
        assert.equal(pathOf(a.json().url), `/${key}`);
        const b = await post(app, JPEG, '?prefix=recipes/');
        assert.equal(b.statusCode, 200, b.body);
        assert.equal(b.json().key, key);
        assert.equal(b.json().created, false);
        assert.equal(b.json().etag, a.json().etag);
        assert.deepEqual(await backend.stored(), [key]);
        assert.equal(purge.seen.length, 0, 'the same content again purges nothing');
        assert.ok((await backend.read(key))!.equals(JPEG));
        problem(await post(app, JPEG, '?prefix=../up'), 400, 'invalid_key');
        problem(await post(app, JPEG, '?prefix=/abs'), 400, 'invalid_key');
        assert.deepEqual(await backend.stored(), [key]);
      } finally {
        await purge.stop();
      }
    });

    test('POST multipart/form-data (FormData + fetch), and a hand-built form through inject', async () => {
      const app = server();
      const port = await listen(app);
      const form = new FormData();
      form.append('image', new Blob([PNG_ALPHA], { type: 'image/jpeg' }), 'photo.jpg');
      const res = await fetch(`http://127.0.0.1:${port}/_kinu/objects?prefix=forms`, {
        method: 'POST',
        body: form,
        headers: AUTH,
      });
      const j = (await res.json()) as Record<string, unknown>;
      assert.equal(res.status, 201, JSON.stringify(j));
      assert.equal(j.key, `forms/${sha256(PNG_ALPHA)}.png`);
      assert.ok((await backend.read(String(j.key)))!.equals(PNG_ALPHA));
      const served = await fetch(`http://127.0.0.1:${port}${String(j.url)}`);
      assert.equal(served.status, 200);
      assert.ok(Buffer.from(await served.arrayBuffer()).equals(PNG_ALPHA));

      const boundary = '----kinu-test-boundary';
      const body = Buffer.concat([
        Buffer.from(
          `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="x.bin"\r\nContent-Type: application/octet-stream\r\n\r\n`,
        ),
        GIF,
        Buffer.from(`\r\n--${boundary}--\r\n`),
      ]);
      const hand = await app.inject({
        method: 'POST',
        url: '/_kinu/objects',
        payload: body,
        headers: { ...AUTH, 'content-type': `multipart/form-data; boundary=${boundary}` },
      });
      assert.equal(hand.statusCode, 201, hand.body);
      assert.equal(hand.json().key, `${sha256(GIF)}.gif`);
      assert.equal(hand.json().bytes, GIF.length);
      assert.ok((await backend.read(`${sha256(GIF)}.gif`))!.equals(GIF));
    });

    test('GET /_kinu/info describes an original: oriented size, format, alpha, frames, colour space, ICC, placeholder', async () => {
      const app = server();
      const flat = await solid(64, 48, '#3366cc');
      const uploads: [string, Buffer][] = [
        ['o6.jpg', ORIENTED_6],
        ['alpha.png', PNG_ALPHA],
        ['anim.gif', GIF],
        ['anim.webp', ANIMATED_WEBP],
        ['cmyk.jpg', CMYK],
        ['cmyk-icc.jpg', CMYK_ICC],
        ['flat.png', flat],
      ];
      for (const [key, body] of uploads) assert.equal((await put(app, key, body)).statusCode, 201, key);
      const info = async (key: string) => {
        const res = await app.inject({ url: `/_kinu/info/${key}`, headers: AUTH });
        assert.equal(res.statusCode, 200, `${key}: ${res.body}`);
        assert.equal(res.headers['cache-control'], 'no-store');
        return res.json();
      };

      const o6 = await info('o6.jpg');
      assert.deepEqual(
        [o6.width, o6.height, o6.orientation, o6.format, o6.bytes],
        [1800, 1200, 6, 'jpeg', ORIENTED_6.length],
      );
      assert.equal(o6.key, 'o6.jpg');
      assert.equal(o6.hasAlpha, false);
      assert.equal(o6.frames, 1);
      assert.equal(o6.space, 'srgb');
      assert.equal(o6.etag, (await app.inject({ url: '/o6.jpg' })).headers.etag);
      assert.match(o6.thumbhash, /^[A-Za-z0-9+/]+=*$/);
      assert.ok(Buffer.from(o6.thumbhash, 'base64').length >= 5);
      assert.match(o6.dominant, /^#[0-9a-f]{6}$/);
      // The thumbhash is of the upright image: ThumbHash stores the aspect ratio (landscape here).
      const { thumbHashToApproximateAspectRatio } = await import('thumbhash');
      assert.ok(
        thumbHashToApproximateAspectRatio(Buffer.from(o6.thumbhash, 'base64')) > 1,
        'placeholder is landscape, as shown',
      );

      const alpha = await info('alpha.png');
      assert.deepEqual(
        [alpha.width, alpha.height, alpha.format, alpha.hasAlpha, alpha.orientation, alpha.frames],
        [128, 128, 'png', true, 1, 1],
      );

      const gif = await info('anim.gif');
      assert.deepEqual([gif.format, gif.frames, gif.width, gif.height], ['gif', 10, 370, 285]);
      const webp = await info('anim.webp');
      assert.deepEqual([webp.format, webp.frames, webp.width, webp.height], ['webp', 9, 80, 80]);

      const cmyk = await info('cmyk.jpg');
      assert.deepEqual([cmyk.space, cmyk.hasIcc, cmyk.width, cmyk.height], ['cmyk', false, 500, 333]);
      const cmykIcc = await info('cmyk-icc.jpg');
      assert.deepEqual([cmykIcc.space, cmykIcc.hasIcc], ['cmyk', true]);

      const f = await info('flat.png');
      assert.equal(f.dominant, '#3366cc');
      assert.equal(f.hasIcc, false);

      problem(await app.inject({ url: '/_kinu/info/missing.jpg', headers: AUTH }), 404, 'not_found');
    });

    test('DELETE removes the original and its variants; GET is 404 at once; a second DELETE is 404', async () => {
      const app = server(); // default stat TTL (1 s): the delete itself must forget the stat
      assert.equal((await put(app, 'gone/soon.jpg', JPEG)).statusCode, 201);
      assert.equal((await app.inject({ url: '/gone/soon.jpg?w=40' })).statusCode, 200);
      assert.equal((await app.inject({ url: '/gone/soon.jpg?w=40' })).headers['x-kinu-cache'], 'memory');
      assert.equal((await app.inject({ url: '/gone/soon.jpg' })).statusCode, 200);

      const del = await app.inject({ method: 'DELETE', url: '/_kinu/objects/gone/soon.jpg', headers: AUTH });
      assert.equal(del.statusCode, 200, del.body);
      const j = del.json();
      assert.equal(j.deleted, true);
      assert.equal(j.key, 'gone/soon.jpg');
      assert.ok(j.variants >= 1, `variants: ${j.variants}`);
      assert.equal(j.hook, undefined, 'no hook configured, no hook reported');
      assert.deepEqual(
        (await backend.stored()).filter((k) => k.endsWith('.jpg')),
        [],
      );

      problem(await app.inject({ url: '/gone/soon.jpg' }), 404, 'not_found');
      problem(await app.inject({ url: '/gone/soon.jpg?w=40' }), 404, 'not_found');
      problem(await app.inject({ url: '/_kinu/info/gone/soon.jpg', headers: AUTH }), 404, 'not_found');
      problem(
        await app.inject({ method: 'DELETE', url: '/_kinu/objects/gone/soon.jpg', headers: AUTH }),
        404,
        'not_found',
      );
      problem(
        await app.inject({ method: 'DELETE', url: '/_kinu/objects/never-was.jpg', headers: AUTH }),
        404,
        'not_found',
      );

      // Uploaded again right after (the 404 above is remembered): served again at once.
      assert.equal((await put(app, 'gone/soon.jpg', JPEG2)).statusCode, 201);
      const back = await app.inject({ url: '/gone/soon.jpg?w=40' });
      assert.equal(back.statusCode, 200, back.body);
      assert.equal(back.headers['x-kinu-cache'], 'miss');
      assert.equal((await decode(back.rawPayload)).height, 61);
    });

    test('a delete on one server is seen by another with KINU_STAT_TTL=0', async () => {
      const env = backend.env();
      const a = testServer({ ...env, KINU_TOKEN: TOKEN, KINU_STAT_TTL: '0' }).app;
      const b = testServer({ ...env, KINU_TOKEN: TOKEN, KINU_STAT_TTL: '0' }).app;
      apps.push(a, b);
      assert.equal((await put(a, 'shared.jpg', JPEG)).statusCode, 201);
      assert.equal((await b.inject({ url: '/shared.jpg' })).statusCode, 200);
      assert.equal(
        (await a.inject({ method: 'DELETE', url: '/_kinu/objects/shared.jpg', headers: AUTH })).statusCode,
        200,
      );
      problem(await b.inject({ url: '/shared.jpg' }), 404, 'not_found');
    });

    test('a POST of content another server deleted stores it again, whatever this server remembers', async () => {
      const env = backend.env();
      const a = testServer({ ...env, KINU_TOKEN: TOKEN, KINU_STAT_TTL: '60' }).app;
      const b = testServer({ ...env, KINU_TOKEN: TOKEN, KINU_STAT_TTL: '60' }).app;
      apps.push(a, b);
      const first = await post(a, JPEG);
      assert.equal(first.statusCode, 201, first.body);
      const key = first.json().key as string;
      assert.equal((await a.inject({ url: `/${key}?w=30` })).statusCode, 200); // a now remembers the key's stat
      assert.equal((await b.inject({ method: 'DELETE', url: `/_kinu/objects/${key}`, headers: AUTH })).statusCode, 200);
      assert.deepEqual(await backend.stored(), []);
      const again = await post(a, JPEG);
      assert.ok(again.statusCode === 200 || again.statusCode === 201, again.body);
      assert.deepEqual(await backend.stored(), [key], 'the answer says the object is there: it must be');
      assert.ok((await backend.read(key))!.equals(JPEG));
    });

    test('purge hook: DELETE and a replacing PUT send one BAN each with X-Kinu-Key; a new key sends none', async () => {
      const purge = await startPurgeServer();
      try {
        // KINU_STAT_TTL=0: no second, delayed BAN (see the next test).
        const app = server({ KINU_PURGE_URL: purge.url, KINU_STAT_TTL: '0' });
        const key = 'menu/my dish+1.jpg';
        const path = `/_kinu/objects/${key.split('/').map(encodeURIComponent).join('/')}`;
        const created = await put(app, key, JPEG, 'image/jpeg', path);
        assert.equal(created.statusCode, 201, created.body);
        assert.equal(created.json().key, key);
        assert.equal(purge.seen.length, 0, 'a new key has nothing to purge');
        // The image answers carry the same tag the BAN will name.
        const img = await app.inject({ url: `${pathOf(created.json().url)}?w=30` });
        assert.equal(img.statusCode, 200, img.body);
        assert.equal(img.headers['x-kinu-key'], encodeURIComponent(key));

        const replaced = await put(app, key, JPEG2, 'image/jpeg', path);
        assert.equal(replaced.statusCode, 200);
        assert.equal(purge.seen.length, 1);
        assert.equal(purge.seen[0]!.method, 'BAN');
        assert.equal(purge.seen[0]!.url, '/ban');
        assert.equal(purge.seen[0]!.headers['x-kinu-key'], encodeURIComponent(key));
        assert.equal(replaced.json().purged?.hook?.ok, true);

        const del = await app.inject({ method: 'DELETE', url: path, headers: AUTH });
        assert.equal(del.statusCode, 200, del.body);
        assert.equal(purge.seen.length, 2);
        assert.equal(purge.seen[1]!.method, 'BAN');
        assert.equal(purge.seen[1]!.headers['x-kinu-key'], encodeURIComponent(key));
        assert.deepEqual(del.json().hook, { ok: true, status: 200 });
      } finally {
        await purge.stop();
      }
    });

    test('purge hook: every KINU_PURGE_URL is told, and told again once KINU_STAT_TTL has passed', async () => {
      const [a, b] = [await startPurgeServer(), await startPurgeServer()];
      try {
        const app = server({ KINU_PURGE_URL: `${a.url},${b.url}`, KINU_STAT_TTL: '0.2' });
        assert.equal((await put(app, 'twice.jpg', JPEG)).statusCode, 201);
        const del = await app.inject({ method: 'DELETE', url: '/_kinu/objects/twice.jpg', headers: AUTH });
        assert.equal(del.statusCode, 200, del.body);
        assert.equal(del.json().hook.ok, true);
        assert.deepEqual([a.seen.length, b.seen.length], [1, 1], 'one BAN each at once');
        const deadline = Date.now() + 5000;
        while ((a.seen.length < 2 || b.seen.length < 2) && Date.now() < deadline)
          await new Promise((r) => setTimeout(r, 50));
        assert.deepEqual([a.seen.length, b.seen.length], [2, 2], 'and one more each after the stat TTL');
        for (const s of [...a.seen, ...b.seen]) assert.equal(s.headers['x-kinu-key'], 'twice.jpg');
      } finally {
        await Promise.all([a.stop(), b.stop()]);
      }
    });

    test('purge hook down: the DELETE still succeeds and reports hook.ok false', async () => {
      const app = server({ KINU_PURGE_URL: `${await closedPort()}/ban` });
      assert.equal((await put(app, 'x.jpg', JPEG)).statusCode, 201);
      const del = await app.inject({ method: 'DELETE', url: '/_kinu/objects/x.jpg', headers: AUTH });
      assert.equal(del.statusCode, 200, del.body);
      assert.equal(del.json().deleted, true);
      assert.equal(del.json().hook.ok, false);
      assert.equal(typeof del.json().hook.error, 'string');
      assert.deepEqual(await backend.stored(), []);
      problem(await app.inject({ url: '/x.jpg' }), 404, 'not_found');
    });

    test('auth: 401 without a token, 403 with a wrong one, on every management route', async () => {
      const app = server();
      await backend.seed('seeded.jpg', JPEG);
      const routes = [
        { method: 'PUT' as const, url: '/_kinu/objects/a.jpg', payload: JPEG },
        { method: 'POST' as const, url: '/_kinu/objects', payload: JPEG },
        { method: 'DELETE' as const, url: '/_kinu/objects/seeded.jpg' },
        { method: 'GET' as const, url: '/_kinu/info/seeded.jpg' },
      ];
      for (const r of routes) {
        const none = await app.inject({ ...r, headers: { 'content-type': 'image/jpeg' } });
        problem(none, 401, 'unauthorized');
        assert.match(String(none.headers['www-authenticate']), /^Bearer\b/);
        const basic = await app.inject({
          ...r,
          headers: {
            'content-type': 'image/jpeg',
            authorization: `Basic ${Buffer.from(`u:${TOKEN}`).toString('base64')}`,
          },
        });
        problem(basic, 401, 'unauthorized');
        const wrong = await app.inject({
          ...r,
          headers: { 'content-type': 'image/jpeg', authorization: `Bearer ${TOKEN}x` },
        });
        problem(wrong, 403, 'bad_token');
        const short = await app.inject({ ...r, headers: { 'content-type': 'image/jpeg', authorization: 'Bearer x' } });
        problem(short, 403, 'bad_token');
      }
      assert.deepEqual(await backend.stored(), ['seeded.jpg']);
      assert.equal(
        (await app.inject({ url: '/_kinu/info/seeded.jpg', headers: { authorization: `bearer ${TOKEN}` } })).statusCode,
        200,
        'the scheme is case-insensitive',
      );
    });

    test('no KINU_TOKEN: every management route is 404 route_not_found; images still work', async () => {
      const app = testServer(backend.env()).app;
      apps.push(app);
      await backend.seed('seeded.jpg', JPEG);
      for (const r of [
        { method: 'PUT' as const, url: '/_kinu/objects/a.jpg', payload: JPEG },
        { method: 'POST' as const, url: '/_kinu/objects', payload: JPEG },
        { method: 'DELETE' as const, url: '/_kinu/objects/seeded.jpg' },
        { method: 'GET' as const, url: '/_kinu/info/seeded.jpg' },
        { method: 'GET' as const, url: '/_kinu/objects' },
      ]) {
        problem(await app.inject({ ...r, headers: { ...AUTH, 'content-type': 'image/jpeg' } }), 404, 'route_not_found');
        problem(await app.inject({ ...r, headers: { 'content-type': 'image/jpeg' } }), 404, 'route_not_found');
      }
      assert.deepEqual(await backend.stored(), ['seeded.jpg']);
      const img = await app.inject({ url: '/seeded.jpg?w=32' });
      assert.equal(img.statusCode, 200, img.body);
      assert.equal((await decode(img.rawPayload)).width, 32);
      assert.ok((await app.inject({ url: '/seeded.jpg' })).rawPayload.equals(JPEG));
    });

    test('bad uploads are refused and leave nothing stored', async () => {
      const app = server({ KINU_MAX_BYTES: String(200_000) });
      const half = JPEG.subarray(0, Math.floor(JPEG.length / 2));
      const checks: [string, () => Promise<Awaited<ReturnType<typeof put>>>, number, string][] = [
        [
          'not an image',
          () => put(app, 'text.jpg', 'hello, I am not a picture at all', 'text/plain'),
          415,
          'unsupported_format',
        ],
        ['not an image (POST)', () => post(app, Buffer.from('GIF89a but no more')), 422, 'corrupt_image'],
        ['a BMP of 40 bits per pixel', () => post(app, bytesOf('corrupt/bmp-invalid-bpp.bmp')), 422, 'corrupt_image'],
        ['empty PUT', () => put(app, 'empty.jpg', Buffer.alloc(0), 'image/jpeg'), 400, 'invalid_upload'],
        ['empty POST', () => post(app, Buffer.alloc(0)), 400, 'invalid_upload'],
        ['over KINU_MAX_BYTES', () => put(app, 'huge.jpg', BIG_JPEG, 'image/jpeg'), 413, 'upload_too_large'],
        ['over KINU_MAX_BYTES (POST)', () => post(app, BIG_JPEG), 413, 'upload_too_large'],
        ['a truncated JPEG (corpus)', () => put(app, 't1.jpg', TRUNCATED_JPEG), 422, 'corrupt_image'],
        ['a truncated PNG (corpus)', () => put(app, 't2.png', TRUNCATED_PNG), 422, 'corrupt_image'],
        ['a JPEG cut in half', () => put(app, 't3.jpg', half), 422, 'corrupt_image'],
        ['a JPEG cut in half (POST)', () => post(app, half), 422, 'corrupt_image'],
        ['a pixel bomb', () => put(app, 'bomb.png', BOMB), 422, 'too_many_pixels'],
        ['a pixel bomb (POST)', () => post(app, BOMB), 422, 'too_many_pixels'],
        ['a frame bomb', () => post(app, bytesOf('bombs/gif-1024-frames.gif')), 422, 'too_many_frames'],
        ['JPEG bytes under .png', () => put(app, 'liar.png', JPEG), 400, 'invalid_upload'],
        ['PNG bytes under .jpg', () => put(app, 'liar.jpg', PNG_ALPHA), 400, 'invalid_upload'],
        ['JPEG bytes under .GIF', () => put(app, 'liar.GIF', JPEG), 400, 'invalid_upload'],
        ['no key', () => put(app, '', JPEG, 'image/jpeg', '/_kinu/objects/'), 400, 'invalid_key'],
      ];
      for (const [what, send, status, code] of checks) {
        const res = await send();
        problem(res, status, code);
        assert.equal(res.headers['cache-control'], 'no-store', what);
        await nothingStored(what);
      }
      // And the server still takes a good one afterwards.
      assert.equal((await put(app, 'fine.jpeg', JPEG)).statusCode, 201);
    });

    test('bad keys are 400 invalid_key, sent byte for byte (no client-side dot-segment removal)', async () => {
      const app = server();
      const port = await listen(app);
      await backend.seed('b.jpg', JPEG);
      const bad = [
        'a/%2e%2e/b.jpg',
        'a/../b.jpg',
        '%2e%2e',
        '..',
        '..%2Fb.jpg',
        '%2E%2E/x/b.jpg',
        'a//b.jpg',
        'a%5Cb.jpg',
        '%00.jpg',
        'a/./b.jpg',
        '%zz.jpg',
        '',
      ];
      for (const key of bad) {
        const up = await exchange(port, [
          requestHead('PUT', `/_kinu/objects/${key}`, {
            'content-type': 'image/jpeg',
            'content-length': JPEG.length,
            connection: 'close',
          }),
          JPEG,
        ]);
        assert.equal(up?.status, 400, `PUT ${key}: ${up?.head}`);
        assert.equal(JSON.parse(up!.body).code, 'invalid_key', `PUT ${key}`);
        for (const [method, path] of [
          ['DELETE', `/_kinu/objects/${key}`],
          ['GET', `/_kinu/info/${key}`],
        ]) {
          const r = await raw(port, path!, method, AUTH);
          assert.equal(r.status, 400, `${method} ${key}: ${r.body.toString()}`);
          assert.equal(JSON.parse(r.body.toString()).code, 'invalid_key', `${method} ${key}`);
        }
      }
      assert.deepEqual(await backend.stored(), ['b.jpg'], 'nothing stored, nothing deleted');
      assert.ok((await backend.read('b.jpg'))!.equals(JPEG));
    });

    test('an empty PUT without a Content-Type is 400 invalid_upload', async () => {
      const app = server();
      problem(await app.inject({ method: 'PUT', url: '/_kinu/objects/e.jpg', headers: AUTH }), 400, 'invalid_upload');
      problem(await app.inject({ method: 'POST', url: '/_kinu/objects', headers: AUTH }), 400, 'invalid_upload');
      await nothingStored('empty without content-type');
    });

    test('a PUT with a body but no Content-Type is taken as raw bytes', async () => {
      const app = server();
      const port = await listen(app);
      const a = await exchange(port, [
        requestHead('PUT', '/_kinu/objects/untyped.jpg', { 'content-length': JPEG.length, connection: 'close' }),
        JPEG,
      ]);
      assert.equal(a?.status, 201, a?.body);
      assert.ok((await backend.read('untyped.jpg'))!.equals(JPEG));
    });

    test('over KINU_MAX_BYTES by Content-Length: 413 before the body is read', async () => {
      const app = server({ KINU_MAX_BYTES: String(200_000) });
      const port = await listen(app);
      // 5 MB declared, 1 kB sent, and the socket kept open: the answer must come without the rest.
      const a = await exchange(
        port,
        [
          requestHead('PUT', '/_kinu/objects/huge.jpg', { 'content-type': 'image/jpeg', 'content-length': 5_000_000 }),
          BIG_JPEG.subarray(0, 1024),
        ],
        { after: 'wait' },
      );
      assert.ok(a, 'an answer');
      assert.equal(a.status, 413, a.head);
      assert.equal(JSON.parse(a.body).code, 'upload_too_large');
      assert.match(a.headers['content-type'] ?? '', /^application\/problem\+json/);
      const b = await exchange(
        port,
        [
          requestHead('POST', '/_kinu/objects', { 'content-type': 'image/jpeg', 'content-length': 5_000_000 }),
          BIG_JPEG.subarray(0, 1024),
        ],
        { after: 'wait' },
      );
      assert.equal(b?.status, 413, b?.head);
      await nothingStored('declared too large');
      assert.equal((await fetch(`http://127.0.0.1:${port}/_kinu/health`)).status, 200, 'still serving');
    });

    test('over KINU_MAX_BYTES while chunked: 413, nothing stored', async () => {
      const app = server({ KINU_MAX_BYTES: String(200_000) });
      const port = await listen(app);
      for (const [method, path] of [
        ['PUT', '/_kinu/objects/huge.jpg'],
        ['POST', '/_kinu/objects'],
      ] as const) {
        const a = await exchange(port, [
          requestHead(method, path, { 'content-type': 'image/jpeg', 'transfer-encoding': 'chunked' }),
          ...chunked(BIG_JPEG.subarray(0, 400_000)),
        ]);
        assert.equal(a?.status, 413, a?.head);
        assert.equal(JSON.parse(a!.body).code, 'upload_too_large');
      }
      await nothingStored('chunked too large');
      // A multipart form whose file is over the limit.
      const form = new FormData();
      form.append('file', new Blob([BIG_JPEG]), 'big.jpg');
      const m = await fetch(`http://127.0.0.1:${port}/_kinu/objects`, { method: 'POST', body: form, headers: AUTH });
      assert.equal(m.status, 413);
      assert.equal(((await m.json()) as { code: string }).code, 'upload_too_large');
      await nothingStored('multipart too large');
      assert.equal((await fetch(`http://127.0.0.1:${port}/_kinu/health`)).status, 200, 'still serving');
    });

    test('a client that sends half its Content-Length and goes away leaves nothing; the server keeps serving', async () => {
      const app = server();
      const port = await listen(app);
      for (const after of ['destroy', 'end'] as const) {
        for (const [method, path] of [
          ['PUT', '/_kinu/objects/cut.jpg'],
          ['POST', '/_kinu/objects'],
        ] as const) {
          const a = await exchange(
            port,
            [
              requestHead(method, path, { 'content-type': 'image/jpeg', 'content-length': BIG_JPEG.length }),
              BIG_JPEG.subarray(0, BIG_JPEG.length >> 1),
            ],
            { after },
          );
          // Nobody to answer to when the socket is gone; a half-closed one may get a 400.
          if (a) assert.equal(a.status, 400, a.head);
        }
      }
      await allClosed(app);
      await nothingStored('interrupted uploads');
      // A multipart body cut short as well.
      const boundary = 'kinu-cut';
      const partial = Buffer.concat([
        Buffer.from(
          `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="x.jpg"\r\nContent-Type: image/jpeg\r\n\r\n`,
        ),
        BIG_JPEG.subarray(0, 500_000),
      ]);
      await exchange(
        port,
        [
          requestHead('POST', '/_kinu/objects', {
            'content-type': `multipart/form-data; boundary=${boundary}`,
            'content-length': partial.length + 1_000_000,
          }),
          partial,
        ],
        { after: 'destroy' },
      );
      await allClosed(app);
      await nothingStored('interrupted multipart upload');

      const ok = await fetch(`http://127.0.0.1:${port}/_kinu/objects/after.jpg`, {
        method: 'PUT',
        body: JPEG,
        headers: AUTH,
      });
      assert.equal(ok.status, 201);
      const img = await fetch(`http://127.0.0.1:${port}/after.jpg?w=20`);
      assert.equal(img.status, 200);
      assert.equal((await decode(Buffer.from(await img.arrayBuffer()))).width, 20);
      assert.deepEqual(await backend.stored(), ['after.jpg']);
    });

    test('multipart forms that hold no usable file are 400', async () => {
      const app = server();
      const boundary = 'kinu-b';
      const form = (parts: string[]) =>
        Buffer.from(`${parts.map((p) => `--${boundary}\r\n${p}\r\n`).join('')}--${boundary}--\r\n`);
      const send = (payload: Buffer) =>
        app.inject({
          method: 'POST',
          url: '/_kinu/objects',
          payload,
          headers: { ...AUTH, 'content-type': `multipart/form-data; boundary=${boundary}` },
        });
      problem(await send(form(['Content-Disposition: form-data; name="title"\r\n\r\nhello'])), 400, 'invalid_upload');
      problem(
        await send(
          form(['Content-Disposition: form-data; name="file"; filename="e.jpg"\r\nContent-Type: image/jpeg\r\n\r\n']),
        ),
        400,
        'invalid_upload',
      );
      problem(await send(Buffer.from('this is not a form')), 400, 'invalid_upload');
      await nothingStored('bad forms');
    });

    test('a form with two files is refused, not half taken', async () => {
      const app = server();
      const boundary = 'kinu-two';
      const file = (name: string, body: Buffer) => [
        Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${name}"; filename="${name}.bin"\r\n\r\n`),
        body,
        Buffer.from('\r\n'),
      ];
      const payload = Buffer.concat([...file('a', JPEG), ...file('b', PNG_ALPHA), Buffer.from(`--${boundary}--\r\n`)]);
      problem(
        await app.inject({
          method: 'POST',
          url: '/_kinu/objects',
          payload,
          headers: { ...AUTH, 'content-type': `multipart/form-data; boundary=${boundary}` },
        }),
        400,
        'invalid_upload',
      );
      await nothingStored('two files');
    });

    test('a key under an existing original is a client error, not 502', async () => {
      const app = server();
      assert.equal((await put(app, 'b.jpg', JPEG)).statusCode, 201);
      const res = await put(app, 'b.jpg/c.jpg', JPEG);
      assert.ok(res.statusCode < 500, `${res.statusCode} ${res.body}`);
      if (name === 'file') problem(res, 400, 'invalid_key');
      assert.ok((await backend.read('b.jpg'))!.equals(JPEG));
    });

    test('wrong methods are 405 with Allow', async () => {
      const app = server();
      const cases: [string, string, string][] = [
        ['GET', '/_kinu/objects', 'POST'],
        ['PUT', '/_kinu/objects', 'POST'],
        ['DELETE', '/_kinu/objects', 'POST'],
        ['GET', '/_kinu/objects/a.jpg', 'PUT, DELETE'],
        ['POST', '/_kinu/objects/a.jpg', 'PUT, DELETE'],
        ['PATCH', '/_kinu/objects/a.jpg', 'PUT, DELETE'],
        ['PUT', '/_kinu/info/a.jpg', 'GET, HEAD'],
        ['DELETE', '/_kinu/info/a.jpg', 'GET, HEAD'],
        ['POST', '/_kinu/info/a.jpg', 'GET, HEAD'],
      ];
      for (const [method, url, allow] of cases) {
        const res = await app.inject({
          method: method as 'GET',
          url,
          headers: AUTH,
          ...(method === 'GET' || method === 'DELETE' ? {} : { payload: JPEG }),
        });
        problem(res, 405, 'method_not_allowed');
        assert.equal(res.headers.allow, allow, `${method} ${url}`);
      }
      await nothingStored('wrong methods');
      // HEAD of info is allowed.
      await backend.seed('h.jpg', JPEG);
      assert.equal((await app.inject({ method: 'HEAD', url: '/_kinu/info/h.jpg', headers: AUTH })).statusCode, 200);
    });

    test('a read-only source: PUT, POST and DELETE are 405 method_not_allowed, info still works', async () => {
      const env = backend.env();
      const { put: _put, delete: _delete, ...readOnly } = backend.adapter();
      const app = testServer({ ...env, KINU_TOKEN: TOKEN }, { source: readOnly }).app;
      apps.push(app);
      await backend.seed('ro.jpg', JPEG);
      for (const res of [
        await put(app, 'new.jpg', JPEG),
        await put(app, 'ro.jpg', JPEG2),
        await post(app, JPEG),
        await app.inject({ method: 'DELETE', url: '/_kinu/objects/ro.jpg', headers: AUTH }),
      ]) {
        problem(res, 405, 'method_not_allowed');
        assert.equal(res.headers.allow, 'GET, HEAD');
      }
      assert.deepEqual(await backend.stored(), ['ro.jpg']);
      assert.ok((await backend.read('ro.jpg'))!.equals(JPEG));
      const info = await app.inject({ url: '/_kinu/info/ro.jpg', headers: AUTH });
      assert.equal(info.statusCode, 200, info.body);
      assert.equal(info.json().width, 640);
    });
  });
}
