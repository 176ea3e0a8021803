import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { signUrl } from '../../src/url/sign.ts';
import { decode, testServer } from '../helpers.ts';
import { problem } from './fakes.ts';

const NEW = 'new-secret-0123456789abcdef';
const OLD = 'old-secret-0123456789abcdef';
const URL = '/photos/hato-pigeons.jpg?w=120&fmt=webp';

describe('signing on', () => {
  const { app } = testServer({ KINU_SECRET: `${NEW},${OLD}` });
  after(() => app.close());

  test('unsigned → 403 bad_signature', async () => {
    problem(await app.inject({ url: URL }), 403, 'bad_signature');
  });

  test('signed as `kinu sign` does → 200; with the old secret during rotation → 200', async () => {
    for (const secret of [NEW, OLD]) {
      const res = await app.inject({ url: signUrl(secret, URL) });
      assert.equal(res.statusCode, 200, res.body);
      const meta = await decode(res.rawPayload);
      assert.deepEqual([meta.format, meta.width], ['webp', 120]);
    }
  });

  test('a full URL signed by `kinu sign` works by its path', async () => {
    const full = signUrl(NEW, `https://img.example.com${URL}`);
    assert.equal((await app.inject({ url: full.slice('https://img.example.com'.length) })).statusCode, 200);
  });

  test('tampered, foreign, duplicated or moved params → 403', async () => {
    const signed = signUrl(NEW, URL);
    const sig = signed.slice(signed.indexOf('sig='));
    const bad = [
      signed.replace('w=120', 'w=121'),
      signed.replace('fmt=webp', 'fmt=png'),
      `${signed}&q=50`,
      `${signed}&${sig}`,
      signed.replace('/photos/', '/Photos/'),
      signUrl('some-other-secret-0123456', URL),
      `/photos/hato-pigeons.jpg?fmt=webp&w=120&${sig}`,
      `${URL}&sig=${'A'.repeat(43)}`,
      `${URL}&sig=`,
    ];
    for (const url of bad) problem(await app.inject({ url }), 403, 'bad_signature');
  });

  test('sig first or in the middle works too', async () => {
    const signed = signUrl(NEW, URL);
    const sig = signed.slice(signed.indexOf('sig='));
    assert.equal((await app.inject({ url: `/photos/hato-pigeons.jpg?${sig}&w=120&fmt=webp` })).statusCode, 200);
    assert.equal((await app.inject({ url: `/photos/hato-pigeons.jpg?w=120&${sig}&fmt=webp` })).statusCode, 200);
  });

  test('originals without params need no sig', async () => {
    assert.equal((await app.inject({ url: '/photos/hato-pigeons.jpg' })).statusCode, 200);
    assert.equal((await app.inject({ url: signUrl(NEW, '/photos/hato-pigeons.jpg') })).statusCode, 200);
  });

  test('an invalid param behind a valid sig is a 400, not a 403', async () => {
    problem(await app.inject({ url: signUrl(NEW, '/photos/hato-pigeons.jpg?w=0') }), 400, 'invalid_param');
  });
});

describe('signing off', () => {
  test('unsigned URLs work, and a stray sig is ignored', async () => {
    const { app } = testServer();
    assert.equal((await app.inject({ url: URL })).statusCode, 200);
    assert.equal((await app.inject({ url: signUrl(NEW, URL) })).statusCode, 200);
    await app.close();
  });
});

describe('signing under a prefix', () => {
  test('the prefix is part of the signed path', async () => {
    const { app } = testServer({ KINU_SECRET: NEW, KINU_DIALECTS: 'native=/img' });
    assert.equal((await app.inject({ url: signUrl(NEW, `/img${URL}`) })).statusCode, 200);
    problem(await app.inject({ url: `/img${signUrl(NEW, URL)}` }), 403, 'bad_signature');
    await app.close();
  });
});
