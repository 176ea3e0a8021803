// tofu URLs over HTTP: the same photo through a tofu URL and its native equivalent gives the same bytes,
// Content-Type and ETag (rendered twice: no result cache); a bad signature is 403, a bad size 400 naming it.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { signTofu } from '../../src/url/tofu.ts';
import { assertSameAsNative, testServer } from '../helpers.ts';
import { problem } from './fakes.ts';

const PHOTO = 'photos/hato-pigeons.jpg'; // 3082×2048
const TOFU_SECRET = 'tofu-secret-2011';

describe('tofu over HTTP', () => {
  // {path}.jpg: /t/photos/hato-pigeons/… reads photos/hato-pigeons.jpg
  const { app } = testServer({
    KINU_DIALECTS: 'native=/,tofu=/t',
    KINU_TOFU_SECRET: TOFU_SECRET,
    KINU_UNSIGNED_DIALECTS: 'native',
    KINU_MEMORY_CACHE_MB: '0',
    KINU_PRESETS: '{"square":"w=120&h=120&fit=cover"}',
  });
  after(() => app.close());
  const url = (path: string) => `/t${signTofu(TOFU_SECRET, path)}`;

  test('the same photo through tofu and native gives identical bytes and ETag', async () => {
    await assertSameAsNative(
      app,
      url('/photos/hato-pigeons/300x200cq70/.webp'),
      `/${PHOTO}?w=300&h=200&fit=cover&q=70&fmt=webp`,
      [300, 200],
    );
    await assertSameAsNative(
      app,
      url('/photos/hato-pigeons/300x300s/.avif'),
      `/${PHOTO}?w=300&h=300&fit=inside&fmt=avif`,
      [300, 199],
    );
    await assertSameAsNative(
      app,
      url('/photos/hato-pigeons/square/.jpg'),
      `/${PHOTO}?w=120&h=120&fit=cover&fmt=jpeg`,
      [120, 120],
    );
  });

  test('a bad signature is 403, a bad size 400 naming it', async () => {
    const good = url('/photos/hato-pigeons/300x200cq70/.webp');
    problem(await app.inject({ url: good.replace('cq70', 'cq71') }), 403, 'bad_signature');
    problem(
      await app.inject({ url: '/t/photos/hato-pigeons/300x200cq70/0123456789abcdef0123456789abcdef.webp' }),
      403,
      'bad_signature',
    );
    const p = problem(await app.inject({ url: url('/photos/hato-pigeons/300x200/.webp') }), 400, 'invalid_param');
    assert.match(p.detail, /^size: /);
  });
});

describe('tofu over HTTP without KINU_TOFU_SECRET', () => {
  const { app } = testServer({ KINU_DIALECTS: 'native=/,tofu=/t' });
  after(() => app.close());

  test('any 32-hex token is accepted unchecked; a malformed one is a 400', async () => {
    const res = await app.inject({ url: '/t/photos/hato-pigeons/64/0123456789abcdef0123456789abcdef.png' });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.headers['content-type'], 'image/png');
    problem(await app.inject({ url: '/t/photos/hato-pigeons/64/nothex.png' }), 400, 'invalid_param');
  });
});
