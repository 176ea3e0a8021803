import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { readLimited } from '../../src/source/limit.ts';

const chunks = (n: number, size: number) => Readable.from(Array.from({ length: n }, (_, i) => Buffer.alloc(size, i)));

test('readLimited joins a stream of unknown length into its exact bytes', async () => {
  const buf = await readLimited(chunks(3, 4), -1, 100);
  assert.deepEqual([...buf], [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2]);
});

test('readLimited refuses a declared size over the limit before reading', async () => {
  const body = chunks(1, 10);
  await assert.rejects(readLimited(body, 1000, 100), { code: 'source_too_large' });
  assert.ok(body.destroyed);
});

test('readLimited stops a stream that lies about its size once it passes the limit', async () => {
  await assert.rejects(readLimited(chunks(10, 20), 10, 100), { code: 'source_too_large' });
});

test("readLimited copies a declared size into the caller's buffer, and still returns every byte when the body is longer or shorter", async () => {
  const given: Buffer[] = [];
  const alloc = (size: number) => {
    const b = Buffer.alloc(size, 0xee);
    given.push(b);
    return b;
  };
  const exact = await readLimited(chunks(3, 4), 12, 100, undefined, alloc);
  assert.ok(exact.buffer === given[0]!.buffer, 'read into the buffer given');
  assert.deepEqual([...exact], [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2]);
  const short = await readLimited(chunks(2, 4), 12, 100, undefined, alloc);
  assert.deepEqual([...short], [0, 0, 0, 0, 1, 1, 1, 1]);
  const long = await readLimited(chunks(4, 4), 10, 100, undefined, alloc);
  assert.deepEqual([...long], [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3]);
  assert.ok(long.buffer !== given[2]!.buffer, 'a body longer than declared is joined anew');
  await assert.rejects(readLimited(chunks(10, 20), 50, 100, undefined, alloc), { code: 'source_too_large' });
  await readLimited(chunks(1, 4), -1, 100, undefined, alloc);
  assert.equal(given.length, 4, 'nothing asked for an unknown size');
});

test('readLimited fails a body whose stream closes before its end (a cut connection), an errored one, and an abort', async () => {
  const cut = new Readable({ read() {} });
  cut.push(Buffer.alloc(10, 1));
  setImmediate(() => cut.destroy());
  await assert.rejects(readLimited(cut, 100, 1000), { code: 'source_failed' });

  const broken = new Readable({ read() {} });
  broken.push(Buffer.alloc(10, 1));
  setImmediate(() => broken.destroy(new Error('ECONNRESET')));
  await assert.rejects(readLimited(broken, 100, 1000), (e: Error & { code?: string; cause?: Error }) => {
    assert.equal(e.code, 'source_failed');
    assert.equal(e.cause?.message, 'ECONNRESET');
    return true;
  });

  const slow = new Readable({ read() {} });
  slow.push(Buffer.alloc(10, 1));
  const why = new Error('client gone');
  const abort = new AbortController();
  setImmediate(() => abort.abort(why));
  await assert.rejects(readLimited(slow, 100, 1000, abort.signal), (e) => e === why);
  assert.ok(slow.destroyed, 'the aborted body is destroyed');
});
