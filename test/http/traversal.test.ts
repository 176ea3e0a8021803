// Path traversal over a real socket: the raw path reaches kinu byte for byte (fetch() would normalise it).
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { corpus, tempDir, testServer } from '../helpers.ts';
import { listen, raw } from './fakes.ts';

const SECRET = 'TOP-SECRET-CONTENT';

describe('path traversal over a socket', () => {
  // images/ is the source; secret.txt and package.json sit next to it.
  const base = tempDir();
  const root = join(base, 'images');
  mkdirSync(join(root, 'photos'), { recursive: true });
  copyFileSync(corpus('photos/hato-pigeons.jpg'), join(root, 'photos', 'a.jpg'));
  writeFileSync(join(base, 'secret.txt'), SECRET);
  writeFileSync(join(base, 'package.json'), `{"secret":"${SECRET}"}`);
  symlinkSync(join(base, 'secret.txt'), join(root, 'photos', 'link.txt'));
  const { app } = testServer({ KINU_SOURCE: root });
  let port = 0;
  before(async () => {
    port = await listen(app);
  });
  after(() => app.close());

  const PATHS = [
    '/../package.json',
    '/../secret.txt',
    '/photos/../../secret.txt',
    '/%2e%2e/package.json',
    '/%2E%2E/secret.txt',
    '/.%2e/secret.txt',
    '/photos/..%2f..%2fpackage.json',
    '/photos/..%2F..%2Fsecret.txt',
    '/photos%2f..%2f..%2fsecret.txt',
    '/%2fetc%2fpasswd',
    '//etc/passwd',
    '/..%5c..%5csecret.txt',
    '/photos\\..\\..\\secret.txt',
    '/photos/a.jpg%00.txt',
    '/%00../secret.txt',
    '/photos/link.txt',
    '/photos/%2e%2e/%2e%2e/secret.txt',
    '/./secret.txt',
    '/%252e%252e/secret.txt',
    `/${base.slice(1)}/secret.txt`,
    `/${encodeURIComponent(join(base, 'secret.txt'))}`,
    '/%zz/../secret.txt',
    '/%',
  ];
  for (const path of PATHS) {
    test(`${path} → 400 or 404, never the file`, async () => {
      for (const p of [path, `${path}?w=10`]) {
        const res = await raw(port, p);
        assert.ok(res.status === 400 || res.status === 404, `${p}: ${res.status}`);
        assert.match(String(res.headers['content-type']), /^application\/problem\+json/);
        assert.ok(!res.body.toString('latin1').includes(SECRET), p);
      }
    });
  }

  test('the same socket setup serves a real key', async () => {
    const res = await raw(port, '/photos/a.jpg?w=10');
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-type'], 'image/jpeg');
  });

  test('HEAD of an original over a socket carries its Content-Length', async () => {
    const get = await raw(port, '/photos/a.jpg');
    const head = await raw(port, '/photos/a.jpg', 'HEAD');
    assert.equal(head.status, 200);
    assert.equal(head.headers['content-length'], String(get.body.length));
    assert.equal(head.body.length, 0);
  });
});
