// The 2011 architecture, running: Varnish (deploy/varnish/kinu.vcl) → two kinu processes (`node bin/kinu.js
// serve`) → S3 (s3rver) for originals and the shared result store. Every request below goes through varnishd;
// Varnish's own log (varnishncsa -b) says which requests reached kinu, kinu's /_kinu/metrics how often the
// pipeline ran. Tests run in order on one stack: (c) kills an instance and (d) stops S3, so they come last.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request as httpRequest } from 'node:http';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { startS3, S3RVER_CREDENTIALS, type S3TestServer } from '../cache/s3-server.ts';
import { EXAMPLES } from '../helpers.ts';
import {
  eventually,
  freePort,
  startKinu,
  startVarnish,
  stop,
  varnishSkip,
  type KinuProcess,
  type VarnishProcess,
} from './harness.ts';

const SKIP = varnishSkip('the stack test');

const BUCKET = 'kinu-stack';
const TOKEN = 'stack-test-token-0123456789';

const JPEG = readFileSync(join(EXAMPLES, 'kimono.jpg'));
const OTHER_JPEG = readFileSync(join(EXAMPLES, 'pigeons.jpg'));
const KEY = 'recipes/kimono.jpg';

const ACCEPT = {
  chrome: 'image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8',
  firefox: 'image/avif,image/webp,*/*',
  safari14: 'image/webp,image/png,image/svg+xml,image/*;q=0.8,video/*;q=0.8,*/*;q=0.5',
  jpegOnly: 'image/jpeg,image/png;q=0.9,*/*;q=0.5',
  avifRefused: 'image/avif;q=0,image/webp,*/*',
};

interface Res {
  status: number;
  headers: Headers;
  body: Buffer;
  ms: number;
}

let dir: string;
let s3: S3TestServer | undefined;
let kinu: KinuProcess[] = [];
let varnish: VarnishProcess | undefined;

async function get(path: string, headers: Record<string, string> = {}, method = 'GET', body?: Buffer): Promise<Res> {
  const t0 = performance.now();
  const r = await fetch(`${varnish!.url}${path}`, { method, headers, body: body && new Uint8Array(body) });
  return { status: r.status, headers: r.headers, body: Buffer.from(await r.arrayBuffer()), ms: performance.now() - t0 };
}

const fetchesOf = async (url: string) => (await varnish!.backendFetches()).filter((f) => f.url === url);
/** The backend fetches of `url` once at least `n` are logged and a moment has passed for any extra one to show. */
async function settledFetches(url: string, n: number) {
  await eventually(
    () => fetchesOf(url),
    (f) => f.length >= n,
  );
  await new Promise((r) => setTimeout(r, 200));
  return fetchesOf(url);
}

/** Sum of kinu_pipeline_runs_total over the instances still running. */
async function pipelineRuns(): Promise<number> {
  let sum = 0;
  for (const k of kinu.filter((x) => x.child.exitCode === null && x.child.signalCode === null)) {
    const text = await (await fetch(`${k.url}/_kinu/metrics`)).text();
    const m = /^kinu_pipeline_runs_total(?:\{[^}]*\})?\s+(\S+)$/m.exec(text);
    assert.ok(m, `${k.name} exposes no kinu_pipeline_runs_total`);
    sum += Number(m[1]);
  }
  return sum;
}

async function decoded(r: Res) {
  assert.equal(r.status, 200, r.body.toString().slice(0, 300));
  return sharp(r.body).metadata();
}

describe('stack: Varnish → 2 × kinu → S3', { skip: SKIP }, () => {
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kinu-stack-'));
    s3 = await startS3(BUCKET);
    const env: Record<string, string> = {
      KINU_RESULT_STORE: `s3://${BUCKET}/results`,
      KINU_S3_ENDPOINT: s3.endpoint,
      AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
      AWS_REGION: 'us-east-1',
      AWS_EC2_METADATA_DISABLED: 'true',
      KINU_CONCURRENCY: '2',
      KINU_MEMORY_CACHE_MB: '32',
      // A delete or replace must be seen by the other instance at once: within a stat TTL it could still answer
      // the old version right after kinu's BAN, and Varnish would cache that again (see deploy/README.md).
      KINU_STAT_TTL: '0',
    };
    await s3.client().put(BUCKET, `originals/${KEY}`, JPEG, 'image/jpeg', {});
    // kinu's purge hook needs Varnish's address before Varnish (which needs kinu's ports) starts: reserve it.
    const varnishPort = await freePort();
    Object.assign(env, {
      KINU_SOURCE: `s3://${BUCKET}/originals`,
      KINU_TOKEN: TOKEN,
      KINU_PURGE_URL: `http://127.0.0.1:${varnishPort}/`,
    });
    kinu = await Promise.all(['kinu1', 'kinu2'].map((name) => startKinu(name, env)));
    varnish = await startVarnish(dir, kinu, varnishPort);
  });

  after(async () => {
    await Promise.all([...kinu.map((k) => stop(k.child)), varnish?.stop()]);
    await s3?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('(a) a repeated request is a Varnish hit and reaches kinu once', async () => {
    const url = `/${KEY}?w=120`;
    const first = await get(url);
    assert.equal((await decoded(first)).width, 120);
    assert.equal(first.headers.get('x-cache'), 'MISS');
    assert.equal(first.headers.get('x-kinu-cache'), 'miss');
    assert.equal(first.headers.get('x-kinu-key'), null, 'X-Kinu-Key is for Varnish only');
    const second = await get(url);
    assert.equal(second.status, 200);
    assert.equal(second.headers.get('x-cache'), 'HIT');
    assert.equal(second.headers.get('etag'), first.headers.get('etag'));
    assert.ok(second.body.equals(first.body));
    assert.deepEqual(
      (await settledFetches(url, 1)).map((f) => [f.status, f.kinuCache]),
      [[200, 'miss']],
      'exactly one backend fetch',
    );
  });

  test('/_kinu/* is passed to kinu, never cached', async () => {
    const url = '/_kinu/health';
    const before = (await fetchesOf(url)).length;
    for (let i = 0; i < 2; i++) {
      const r = await get(url);
      assert.equal(r.status, 200);
      assert.equal(r.headers.get('x-cache'), 'MISS');
    }
    assert.equal(
      (
        await eventually(
          () => fetchesOf(url),
          (f) => f.length >= before + 2,
        )
      ).length,
      before + 2,
    );
  });

  test('PURGE and BAN are refused outside the ACL, and X-Kinu-Backend is not shown there', async () => {
    const url = `/${KEY}?w=120`;
    // 127.0.0.2 is loopback too on Linux, but not in the test's kinu_purge ACL (127.0.0.1 only).
    const outsider = (method: string, headers: Record<string, string> = {}) =>
      new Promise<{ status: number; headers: Record<string, unknown> }>((resolve, reject) => {
        const req = httpRequest(`${varnish!.url}${url}`, { method, headers, localAddress: '127.0.0.2' }, (res) => {
          res.resume();
          res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers }));
        });
        req.on('error', reject);
        req.end();
      });
    assert.equal((await outsider('PURGE')).status, 403);
    assert.equal((await outsider('BAN', { 'x-kinu-key': encodeURIComponent(KEY) })).status, 403);
    const r = await outsider('GET');
    assert.equal(r.status, 200);
    assert.equal(r.headers['x-cache'], 'HIT', 'still cached: the refused PURGE and BAN did nothing');
    assert.equal(r.headers['x-kinu-backend'], undefined);
    assert.equal(r.headers['x-kinu-key'], undefined);
    // From inside the ACL a BAN needs a well-formed key.
    assert.equal((await get('/', { 'x-kinu-key': 'a key with spaces' }, 'BAN')).status, 400);
  });

  test('(b) fmt=auto: each Accept class gets its format, is cached once, and Accept variants share it', async () => {
    const url = `/${KEY}?w=140&fmt=auto`;
    const avif = await get(url, { accept: ACCEPT.chrome });
    assert.equal(avif.headers.get('content-type'), 'image/avif');
    const avifMeta = await decoded(avif);
    assert.equal(avifMeta.format, 'heif');
    assert.equal(avifMeta.compression, 'av1');
    assert.equal(avifMeta.width, 140);
    assert.match(avif.headers.get('vary') ?? '', /accept/i);

    const jpeg = await get(url, { accept: ACCEPT.jpegOnly });
    assert.equal(jpeg.headers.get('content-type'), 'image/jpeg');
    assert.equal((await decoded(jpeg)).format, 'jpeg');
    assert.equal(jpeg.headers.get('x-cache'), 'MISS');

    const webp = await get(url, { accept: ACCEPT.safari14 });
    assert.equal((await decoded(webp)).format, 'webp');

    // Same classes again, from other browsers' Accept strings: Varnish hits, same bytes.
    const again = [
      [ACCEPT.firefox, avif, 'heif'],
      [ACCEPT.chrome, avif, 'heif'],
      [ACCEPT.jpegOnly, jpeg, 'jpeg'],
      ['*/*', jpeg, 'jpeg'],
      [ACCEPT.avifRefused, webp, 'webp'],
    ] as const;
    for (const [accept, before, format] of again) {
      const r = await get(url, { accept });
      assert.equal(r.headers.get('x-cache'), 'HIT', accept);
      assert.equal((await decoded(r)).format, format, accept);
      assert.ok(r.body.equals(before.body), accept);
    }
    assert.equal((await settledFetches(url, 3)).length, 3, 'one backend fetch per Accept class');
  });

  test('Accept normalised by the VCL gives the format kinu picks from the raw header', async () => {
    const url = `/${KEY}?w=60&fmt=auto`;
    const odd = [
      'image/avif;q=0.5',
      'IMAGE/AVIF',
      'image/avif ; q=0',
      'image/avif;q=0.000,image/webp;q=0',
      'image/webp;q=0.0',
      'image/avif;q=0.001',
      'image/avif;q=0,image/webp;q=0.3',
      'text/html,image/webp;level=1',
      'image/*',
      'image/avifx,image/webpz',
      'image/jpeg',
      '*/*',
      'image/webp,image/avif;q=0.9',
      'image/jxl,image/avif;q=0',
      'IMAGE/JXL;q=0.5,image/webp',
    ];
    const direct = kinu.find((k) => k.child.exitCode === null)!;
    for (const accept of odd) {
      const viaVarnish = await get(url, { accept });
      const fromKinu = await fetch(`${direct.url}${url}`, { headers: { accept } });
      assert.equal(viaVarnish.status, 200, accept);
      assert.equal(viaVarnish.headers.get('content-type'), fromKinu.headers.get('content-type'), accept);
    }
    // Fifteen Accept headers, six classes among them (JPEG XL alone, JPEG XL with WebP): six objects, six fetches.
    assert.equal((await settledFetches(url, 6)).length, 6);
  });

  test('(f) a burst of 50 concurrent identical new requests runs the pipeline once across the stack', async () => {
    const url = `/${KEY}?w=190&fmt=webp`;
    const runsBefore = await pipelineRuns();
    const all = await Promise.all(Array.from({ length: 50 }, () => get(url)));
    for (const r of all) {
      assert.equal(r.status, 200);
      assert.ok(r.body.equals(all[0]!.body));
    }
    assert.equal((await decoded(all[0]!)).width, 190);
    assert.equal(
      all.filter((r) => r.headers.get('x-cache') === 'MISS').length,
      1,
      'one request fetched, 49 waited for it',
    );
    assert.deepEqual(
      (await settledFetches(url, 1)).map((f) => f.kinuCache),
      ['miss'],
      'one backend fetch',
    );
    assert.equal((await pipelineRuns()) - runsBefore, 1, 'kinu_pipeline_runs_total over both instances');
  });

  test('(e) upload → served → replaced → served anew → deleted → 404 through Varnish (banned)', async () => {
    const key = 'uploads/stack test ü.jpg';
    const path = `/${key.split('/').map(encodeURIComponent).join('/')}`;
    const auth = { authorization: `Bearer ${TOKEN}` };
    const put = await get(`/_kinu/objects${path}`, { ...auth, 'content-type': 'image/jpeg' }, 'PUT', JPEG);
    assert.ok(put.status === 200 || put.status === 201, `PUT: ${put.status} ${put.body}`);

    const url = `${path}?w=80`;
    const first = await get(url);
    const m1 = await decoded(first);
    assert.equal(m1.width, 80);
    assert.equal((await get(url)).headers.get('x-cache'), 'HIT');

    // Replaced: kinu bans the old variants in Varnish, so the new image shows at once (other aspect ratio).
    const replace = await get(`/_kinu/objects${path}`, { ...auth, 'content-type': 'image/jpeg' }, 'PUT', OTHER_JPEG);
    assert.ok(replace.status === 200 || replace.status === 201, `PUT again: ${replace.status} ${replace.body}`);
    const expected = await sharp(OTHER_JPEG).metadata();
    const second = await get(url);
    assert.equal(second.headers.get('x-cache'), 'MISS', 'the old variant was banned');
    const m2 = await decoded(second);
    assert.equal(m2.height, Math.round((80 * expected.height!) / expected.width!));
    assert.notEqual(m2.height, m1.height);

    const del = await get(`/_kinu/objects${path}`, auth, 'DELETE');
    assert.ok(del.status === 200 || del.status === 204, `DELETE: ${del.status} ${del.body}`);
    const gone = await get(url);
    assert.equal(gone.status, 404, `after DELETE: ${gone.status} ${gone.headers.get('x-cache')}`);
    assert.match(
      await varnish!.adm('ban.list'),
      new RegExp(`obj\\.http\\.X-Kinu-Key == ${encodeURIComponent(key).replace(/[.*()]/g, '\\$&')}`),
    );
    // Varnish keeps no 404 either: an upload under the same key is served at once.
    assert.equal((await get(url)).headers.get('x-cache'), 'MISS');

    // A delete made on the instance that did not make the variant: the one that did must not put it back.
    const put2 = await get(`/_kinu/objects${path}`, { ...auth, 'content-type': 'image/jpeg' }, 'PUT', JPEG);
    assert.equal(put2.status, 201);
    const served = await get(url);
    assert.equal(served.status, 200);
    const other = kinu.find((k) => k.name !== served.headers.get('x-kinu-backend'))!;
    const del2 = await fetch(`${other.url}/_kinu/objects${path}`, { method: 'DELETE', headers: auth });
    assert.ok(del2.status === 200 || del2.status === 204, `DELETE on ${other.name}: ${del2.status}`);
    const after = await get(url);
    assert.equal(
      after.status,
      404,
      `after DELETE on ${other.name}: ${after.status} from ${after.headers.get('x-kinu-backend')}`,
    );
  });

  test('(c) killing one kinu instance: requests keep succeeding, then its probe takes it out', async () => {
    // Find a URL the first instance makes (the shard director places URLs on both).
    const seen = new Map<string, string>();
    let victimUrl: string | undefined;
    for (let w = 150; w < 190 && (victimUrl === undefined || seen.size < 2); w++) {
      const url = `/${KEY}?w=${w}`;
      const r = await get(url);
      assert.equal(r.status, 200);
      const backend = r.headers.get('x-kinu-backend') ?? '';
      seen.set(backend, url);
      if (backend === 'kinu1') victimUrl ??= url;
    }
    assert.deepEqual([...seen.keys()].sort(), ['kinu1', 'kinu2'], 'URLs are spread over both instances');
    const cached = seen.get('kinu2')!;

    // Varnish forgets the variant, then its instance dies (SIGKILL: no draining).
    assert.equal((await get(victimUrl!, {}, 'PURGE')).status, 200);
    await stop(kinu[0]!.child, 'SIGKILL');

    const again = await get(victimUrl!);
    assert.equal(again.headers.get('x-kinu-backend'), 'kinu2', 'retried on the next instance of the ring');
    assert.equal((await decoded(again)).width, Number(new URL(victimUrl!, 'http://x').searchParams.get('w')));
    // The variant kinu1 made was shared through the result store (or made again, if its write was still under way).
    assert.ok(
      ['store', 'miss'].includes(again.headers.get('x-kinu-cache') ?? ''),
      again.headers.get('x-kinu-cache') ?? 'none',
    );
    for (let w = 200; w < 210; w++) assert.equal((await get(`/${KEY}?w=${w}`)).status, 200, `w=${w}`);
    assert.equal((await get(cached)).headers.get('x-cache'), 'HIT');

    // The health probe (/_kinu/health) marks it sick: Varnish stops trying it first.
    const list = await eventually(
      () => varnish!.adm('backend.list'),
      (l) => /\.kinu1\s+\S+\s+\S+\s+sick/.test(l),
      20_000,
    );
    assert.match(list, /\.kinu1\s+\S+\s+\S+\s+sick/);
    assert.match(list, /\.kinu2\s+\S+\s+\S+\s+healthy/);
  });

  test('(d) S3 stopped: variants served before are still served, new ones fail fast with 502/504', async () => {
    const before = `/${KEY}?w=120`;
    const fresh = await get(before);
    assert.equal(fresh.status, 200);
    await s3!.stop();

    const cached = await get(before);
    assert.equal(cached.headers.get('x-cache'), 'HIT');
    assert.ok(cached.body.equals(fresh.body));
    assert.equal((await decoded(cached)).width, 120);

    for (const w of [211, 212, 213]) {
      const r = await get(`/${KEY}?w=${w}`);
      assert.ok(r.status === 502 || r.status === 504, `w=${w}: ${r.status} ${r.body}`);
      const problem = JSON.parse(r.body.toString()) as { code: string };
      assert.ok(['source_failed', 'source_timeout'].includes(problem.code), problem.code);
      // Generous: well inside Varnish's first_byte_timeout (30 s), i.e. kinu answered, nothing hung.
      assert.ok(r.ms < 15_000, `answered in ${Math.round(r.ms)} ms`);
      assert.notEqual(r.headers.get('x-cache'), 'HIT');
    }
    // The errors were not cached: the same URL reaches kinu again.
    const url = `/${KEY}?w=211`;
    const fetches = await eventually(
      () => fetchesOf(url),
      (f) => f.length >= 1,
    );
    await get(url);
    assert.equal(
      (
        await eventually(
          () => fetchesOf(url),
          (f) => f.length > fetches.length,
        )
      ).length,
      fetches.length + 1,
    );
  });
});
