import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decode, testServer } from './helpers.ts';

test('a photo resized to webp over HTTP decodes at the asked width', async () => {
  const { app } = testServer();
  const res = await app.inject({ url: '/photos/hato-pigeons.jpg?w=400&fmt=webp' });
  assert.equal(res.statusCode, 200);
  assert.equal(res.headers['content-type'], 'image/webp');
  const meta = await decode(res.rawPayload);
  assert.equal(meta.format, 'webp');
  assert.equal(meta.width, 400);
  assert.equal(meta.height, Math.round((2048 * 400) / 3082));
  await app.close();
});
