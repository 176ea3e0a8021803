// The AWS SDK is ~4 MB of heap (a fifth of kinu's at rest, walked by every full collection): a server without
// S3 must not load it, and one with S3 loads it once its first client is made. Its own file, so its own process.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import { createS3Client } from '../../src/source/s3-client.ts';
import { testServer } from '../helpers.ts';

const require = createRequire(import.meta.url);
const sdkModules = () => Object.keys(require.cache).filter((k) => k.includes('@aws-sdk')).length;

test('a file-source server serves a miss without loading the AWS SDK; an S3 client loads it', async () => {
  const { app } = testServer();
  const res = await app.inject({ url: '/photos/hato-pigeons.jpg?w=16' });
  assert.equal(res.statusCode, 200);
  await app.close();
  assert.equal(sdkModules(), 0, 'no @aws-sdk module in the process');

  const client = createS3Client({ endpoint: 'http://127.0.0.1:9' });
  for (let i = 0; i < 500 && sdkModules() === 0; i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(sdkModules() > 0, 'making a client loads the SDK in the background');
  client.destroy();
});
