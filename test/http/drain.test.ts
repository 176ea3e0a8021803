import assert from 'node:assert/strict';
import { test } from 'node:test';
import { testServer } from '../helpers.ts';

test('while draining: images get 503 shutting_down, ready is 503, health stays 200', async () => {
  const { app } = testServer();
  assert.equal((await app.inject({ url: '/photos/hato-pigeons.jpg?w=10' })).statusCode, 200);
  app.kinu.drain();
  const img = await app.inject({ url: '/photos/hato-pigeons.jpg?w=10' });
  assert.equal(img.statusCode, 503);
  assert.equal(img.headers['content-type'], 'application/problem+json; charset=utf-8');
  assert.equal(img.json().code, 'shutting_down');
  assert.equal(img.headers['retry-after'], '1');
  const ready = await app.inject({ url: '/_kinu/ready' });
  assert.equal(ready.statusCode, 503);
  assert.equal(ready.json().code, 'not_ready');
  assert.equal((await app.inject({ url: '/_kinu/health' })).statusCode, 200);
  await app.close();
});
