// What answers may not take from the request: the upload answer's `url` never echoes the Host header (a path,
// or KINU_PUBLIC_URL + path); and every problem+json answer carries nosniff.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config.ts';
import { signUrl } from '../../src/url/sign.ts';
import { corpus, tempDir, testServer } from '../helpers.ts';
import { problem } from './fakes.ts';

const TOKEN = 'public-url-test-token-0123';
const SECRET = 'a-kinu-secret-of-32-characters!!';
const PNG = readFileSync(corpus('png/rgba.png'));
const upload = (env: Record<string, string>) => {
  const { app } = testServer({ KINU_SOURCE: tempDir(), KINU_TOKEN: TOKEN, ...env });
  const put = () =>
    app.inject({
      method: 'PUT',
      url: '/_kinu/objects/a/b.png',
      payload: PNG,
      headers: {
        authorization: `Bearer ${TOKEN}`,
        host: 'evil.example',
        'x-forwarded-host': 'evil.example',
        'content-type': 'image/png',
      },
    });
  return { app, put };
};

describe("the upload answer's url", () => {
  test('without KINU_PUBLIC_URL: a path, whatever Host the request names', async () => {
    const { app, put } = upload({});
    try {
      const res = await put();
      assert.equal(res.statusCode, 201, res.body);
      const { url } = res.json() as { url: string };
      assert.equal(url, '/a/b.png');
      assert.equal((await app.inject({ url })).statusCode, 200);
    } finally {
      await app.close();
    }
  });

  test('with KINU_PUBLIC_URL: that base and the path (signed when signing is on)', async () => {
    const { app, put } = upload({ KINU_PUBLIC_URL: 'https://img.example.com/media/', KINU_SECRET: SECRET });
    try {
      const { url } = (await put()).json() as { url: string };
      assert.equal(url, `https://img.example.com/media${signUrl(SECRET, '/a/b.png')}`);
      assert.ok(!url.includes('evil'));
    } finally {
      await app.close();
    }
  });

  test('KINU_PUBLIC_URL must be an http(s) base URL', () => {
    for (const bad of [
      'img.example.com',
      'ftp://img.example.com',
      'https://img.example.com/?a=1',
      'https://u:p@img.example.com',
      'https://img.example.com/#x',
    ]) {
      assert.throws(
        () => loadConfig({ env: { KINU_PUBLIC_URL: bad } }),
        (e: unknown) => e instanceof ConfigError && /KINU_PUBLIC_URL/.test(e.message),
        bad,
      );
    }
    assert.equal(loadConfig({ env: { KINU_PUBLIC_URL: 'http://127.0.0.1:8080' } }).publicUrl, 'http://127.0.0.1:8080');
  });
});

describe('problem+json answers', () => {
  test('carry X-Content-Type-Options: nosniff', async () => {
    const { app } = testServer({ KINU_SECRET: SECRET });
    try {
      for (const [url, status, code] of [
        ['/_kinu/nope', 404, 'route_not_found'],
        ['/png/rgba.png?w=40', 403, 'bad_signature'],
        ['/png/rgba.png?zoom=2', 400, 'invalid_param'],
      ] as const) {
        const res = await app.inject({ url: status === 400 ? signUrl(SECRET, url) : url });
        problem(res, status, code);
        assert.equal(res.headers['x-content-type-options'], 'nosniff', url);
      }
    } finally {
      await app.close();
    }
  });
});
