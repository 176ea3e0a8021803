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
