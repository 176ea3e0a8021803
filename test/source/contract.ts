// What every source adapter must do, whatever holds the originals: run it from each adapter's contract file with
// a factory that returns the adapter plus a back door into its store (write, replace, remove an object without
// going through the adapter) and, where the adapter can observe it, the handles it holds open.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { KinuError } from '../../src/errors.ts';
import type { Source } from '../../src/source/source.ts';
import { until } from '../helpers.ts';

export interface SourceFixture {
  readonly source: Source;
  /** Creates or replaces the object at `key` in the backing store, bypassing the adapter. */
  put(key: string, bytes: Buffer): Promise<void>;
  /** Removes it from the backing store. */
  remove(key: string): Promise<void>;
  /**
   * Handles the adapter holds on the store right now: open file descriptors under the folder, responses the
   * origin is still sending, connections the store still serves. The abort case checks it goes back down.
   */
  handles(): number;
  /** Bytes the store has sent so far (undefined where it cannot be seen): proves a refused body was not read to the end. */
  sentBytes?(): number;
  close(): Promise<void>;
}

export interface SourceContractOptions {
  /**
   * Where versions come from a clock (a file's mtime, an origin's Last-Modified in whole seconds), how long to wait
   * before a rewrite for it to get a new version; 0 where versions follow the bytes (ETags).
   */
  readonly versionTickMs?: number;
  /** The store does not tell lengths (an origin sending chunked bodies): sizes are then -1, as SourceStat says. */
  readonly undeclaredLength?: boolean;
  /** Skip every case, with this reason (said loudly by node:test). */
  readonly skip?: string;
}

/** Bytes that differ from every other call's, deterministic, of the given length. */
export function bytes(n: number, seed: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    b[i] = x & 0xff;
  }
  return b;
}

async function failure(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  return assert.fail('expected a failure');
}

function isCode(e: unknown, code: string, status: number): void {
  assert.ok(e instanceof KinuError, `expected KinuError ${code}, got ${String(e)}`);
  assert.equal(e.code, code, e.message);
  assert.equal(e.status, status);
}

async function drain(body: AsyncIterable<unknown>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of body) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

export function runSourceContract(
  name: string,
  make: () => Promise<SourceFixture>,
  opts: SourceContractOptions = {},
): void {
  const size = (n: number) => (opts.undeclaredLength ? -1 : n);
  const tick = () => new Promise((r) => setTimeout(r, opts.versionTickMs ?? 0));
  describe(`${name} source contract`, { skip: opts.skip }, () => {
    async function withFixture(fn: (f: SourceFixture) => Promise<void>) {
      const f = await make();
      try {
        await fn(f);
      } finally {
        await f.close();
      }
    }

    test('a missing key is not_found (404) from stat, get and read', () =>
      withFixture(async (f) => {
        for (const key of ['missing.jpg', 'no/such/dir/x.png']) {
          isCode(await failure(f.source.stat(key, {})), 'not_found', 404);
          isCode(await failure(f.source.get(key, {})), 'not_found', 404);
          isCode(await failure(f.source.read(key, { maxBytes: 1e9 })), 'not_found', 404);
        }
        // Removed from the store: gone for the adapter too.
        await f.put('gone.jpg', bytes(100, 1));
        assert.equal((await f.source.stat('gone.jpg', {})).size, size(100));
        await f.remove('gone.jpg');
        isCode(await failure(f.source.stat('gone.jpg', {})), 'not_found', 404);
        isCode(await failure(f.source.read('gone.jpg', { maxBytes: 1e9 })), 'not_found', 404);
      }));

    test('stat, get and read of a present key agree: its size, its bytes, one version', () =>
      withFixture(async (f) => {
        const data = bytes(300_000, 2);
        await f.put('dir/present.jpg', data);
        const st = await f.source.stat('dir/present.jpg', {});
        assert.equal(st.size, size(data.length));
        assert.equal(typeof st.version, 'string');
        assert.ok(st.version.length > 0, 'a version');
        assert.ok(st.lastModified instanceof Date && !Number.isNaN(st.lastModified.getTime()));
        const o = await f.source.get('dir/present.jpg', {});
        assert.equal(o.version, st.version);
        assert.equal(o.size, size(data.length));
        assert.ok((await drain(o.body)).equals(data), 'get streams exactly the bytes');
        assert.ok(
          (await f.source.read('dir/present.jpg', { maxBytes: data.length })).equals(data),
          'read returns exactly the bytes, at the limit too',
        );
        // An empty object is an object.
        await f.put('empty.jpg', Buffer.alloc(0));
        assert.equal((await f.source.stat('empty.jpg', {})).size, size(0));
        assert.equal((await f.source.read('empty.jpg', { maxBytes: 10 })).length, 0);
      }));

    test('replacing the bytes changes the version', () =>
      withFixture(async (f) => {
        await f.put('v.jpg', bytes(1000, 3));
        const v1 = (await f.source.stat('v.jpg', {})).version;
        assert.equal((await f.source.stat('v.jpg', {})).version, v1, 'stable while the bytes are');
        if (opts.undeclaredLength) await tick(); // the length is no part of the version then
        await f.put('v.jpg', bytes(1001, 4));
        const v2 = await f.source.stat('v.jpg', {});
        assert.notEqual(v2.version, v1, 'a new length, a new version');
        assert.equal(
          await f.source.get('v.jpg', {}).then((o) => {
            o.body.destroy();
            return o.version;
          }),
          v2.version,
        );
        // Same length, other bytes: what a version is for.
        await tick();
        await f.put('v.jpg', bytes(1001, 5));
        const v3 = await f.source.stat('v.jpg', {});
        assert.notEqual(v3.version, v2.version, 'same length, other bytes, a new version');
        assert.ok((await f.source.read('v.jpg', { maxBytes: 1e6 })).equals(bytes(1001, 5)));
      }));

    test('a body over the byte limit is source_too_large (413), not read to its end', () =>
      withFixture(async (f) => {
        const size = 16 * 1024 * 1024;
        await f.put('big.bin', bytes(size, 6));
        const sent = f.sentBytes?.();
        isCode(await failure(f.source.read('big.bin', { maxBytes: 256 * 1024 })), 'source_too_large', 413);
        if (sent !== undefined) {
          // What the store pushed before the adapter cut it off: socket buffers at most, not the object.
          await new Promise((r) => setTimeout(r, 50));
          const pushed = f.sentBytes!() - sent;
          assert.ok(pushed < size / 2, `the store sent ${pushed} of ${size} bytes for a refused body`);
        }
        await until(() => f.handles() === 0, 'the refused body released its handle');
        // One byte over is over; exactly at the limit is not.
        await f.put('edge.bin', bytes(1000, 7));
        isCode(await failure(f.source.read('edge.bin', { maxBytes: 999 })), 'source_too_large', 413);
        assert.equal((await f.source.read('edge.bin', { maxBytes: 1000 })).length, 1000);
      }));

    test('an abort stops a get in flight and releases its handle', () =>
      withFixture(async (f) => {
        await f.put('stream.bin', bytes(16 * 1024 * 1024, 8));
        const before = f.handles();
        const ac = new AbortController();
        const o = await f.source.get('stream.bin', { signal: ac.signal });
        const it = o.body[Symbol.asyncIterator]();
        const first = await it.next();
        assert.ok(!first.done && (first.value as Buffer).length > 0, 'the body flows');
        assert.ok(f.handles() > before, 'the handle is seen while the body is read (else this case proves nothing)');
        const closed = new Promise<void>((resolve) => o.body.once('close', () => resolve()));
        ac.abort(new Error('client went away'));
        await closed;
        assert.ok(o.body.destroyed, 'the body stream is destroyed by the abort');
        await it.return?.();
        await until(() => f.handles() <= before, 'the aborted get released its handle');
        // An aborted read fails with the caller's reason, not as a source failure.
        const why = new Error('already gone');
        const e = await failure(f.source.read('stream.bin', { maxBytes: 1e9, signal: AbortSignal.abort(why) }));
        assert.ok(
          !(e instanceof KinuError) || e.code !== 'source_failed',
          `an abort is no source failure: ${String(e)}`,
        );
        await until(() => f.handles() <= before, 'the aborted read released its handle');
      }));

    test('keys with spaces, unicode, % and other odd characters round-trip, and do not alias', () =>
      withFixture(async (f) => {
        const keys = [
          'odd/a b.jpg',
          'odd/ünïcödé 日本語 🐦.png',
          'odd/100% sure.jpg',
          'odd/100%25 sure.jpg',
          'odd/%zz%.jpg',
          'odd/plus+and&eq=semi;.jpg',
          'odd/quote\'double"comma,.jpg',
          'odd/hash#question?.jpg',
          'odd/tilde~paren(1)[2]{3}!$@.jpg',
        ];
        for (const [i, key] of keys.entries()) await f.put(key, bytes(50 + i, 100 + i));
        for (const [i, key] of keys.entries()) {
          const st = await f.source.stat(key, {});
          assert.equal(st.size, size(50 + i), key);
          assert.ok((await f.source.read(key, { maxBytes: 1e6 })).equals(bytes(50 + i, 100 + i)), `read ${key}`);
          assert.ok((await drain((await f.source.get(key, {})).body)).equals(bytes(50 + i, 100 + i)), `get ${key}`);
        }
        // Decoded once, never twice: the percent-encoded spelling of a key is another key.
        for (const key of ['odd/a%20b.jpg', 'odd/100%25%20sure.jpg', 'odd/%C3%BCn%C3%AFc%C3%B6d%C3%A9 日本語 🐦.png']) {
          isCode(await failure(f.source.stat(key, {})), 'not_found', 404);
        }
      }));
  });
}
