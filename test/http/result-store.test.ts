// Two kinu instances sharing one result store on a real S3-protocol server (s3rver on 127.0.0.1).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startS3, useS3rverCredentials, type S3TestServer } from '../cache/s3-server.ts';
import { decode, testServer } from '../helpers.ts';

let s3: S3TestServer;
before(async () => {
  s3 = await startS3('kinu-results');
  useS3rverCredentials();
});
after(async () => {
  await s3.stop();
});

test('a variant made by one instance is served by another from the store, then from its memory', async () => {
  const env = { KINU_RESULT_STORE: 's3://kinu-results/variants', KINU_S3_ENDPOINT: s3.endpoint };
  const a = testServer(env).app;
  const b = testServer(env).app;
  const url = '/photos/jolla-leaf.jpg?w=90&fmt=webp';
  const made = await a.inject({ url });
  assert.equal(made.headers['x-kinu-cache'], 'miss');
  await a.kinu.cache.flush();
  const shared = await b.inject({ url });
  assert.equal(shared.statusCode, 200);
  assert.equal(shared.headers['x-kinu-cache'], 'store');
  assert.equal(shared.headers.etag, made.headers.etag);
  assert.equal(shared.headers['content-type'], 'image/webp');
  assert.ok(shared.rawPayload.equals(made.rawPayload));
  assert.equal((await decode(shared.rawPayload)).width, 90);
  await b.kinu.cache.flush();
  assert.equal((await b.inject({ url })).headers['x-kinu-cache'], 'memory');

  // Purging the original on one instance empties the shared store too.
  assert.ok((await a.kinu.cache.purge('photos/jolla-leaf.jpg')) >= 2);
  const c = testServer(env).app;
  assert.equal((await c.inject({ url })).headers['x-kinu-cache'], 'miss');
  await Promise.all([a.close(), b.close(), c.close()]);
});
