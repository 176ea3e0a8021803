// /_kinu/playground over inject: when it is on, what it serves (with its CSP), the param table it builds its
// controls from, and its signing endpoint.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { PLAYGROUND_CSP, playgroundEnabled, type ParamControl } from '../../src/http/playground.ts';
import { createFileSource } from '../../src/source/file.ts';
import { PARAM_NAMES } from '../../src/url/params.ts';
import { signUrl } from '../../src/url/sign.ts';
import { CORPUS, EXAMPLES, testServer } from '../helpers.ts';
import { problem } from './fakes.ts';

const SECRET = 'playground-secret-0123456789';
const PAGE = ['/_kinu/playground', '/_kinu/playground/', '/_kinu/playground/playground.js', '/_kinu/playground/config.json', '/_kinu/playground/sign?url=/a.jpg%3Fw%3D1'];

interface PlaygroundConfig { prefix: string; signed: boolean; originals: string; keys: string[] | null; presets: string[]; params: ParamControl[] }

describe('/_kinu/playground', () => {
  test('on by default; off with a secret unless KINU_PLAYGROUND=on; off without the native dialect', () => {
    const table: [Parameters<typeof playgroundEnabled>[0], boolean][] = [
      [{ mode: 'auto', native: '', secrets: [] }, true],
      [{ mode: 'auto', native: '', secrets: [SECRET] }, false],
      [{ mode: 'on', native: '', secrets: [SECRET] }, true],
      [{ mode: 'off', native: '', secrets: [] }, false],
      [{ mode: 'on', native: undefined, secrets: [] }, false],
    ];
    for (const [o, on] of table) assert.equal(playgroundEnabled(o), on, JSON.stringify(o));
  });

  for (const [label, env] of [
    ['a secret', { KINU_SECRET: SECRET }],
    ['KINU_PLAYGROUND=off', { KINU_PLAYGROUND: 'off' }],
    ['no native dialect', { KINU_PLAYGROUND: 'on', KINU_DIALECTS: 'thumbor=/th' }],
  ] as const) {
    test(`with ${label}, every playground path is 404 route_not_found`, async () => {
      const { app } = testServer(env);
      for (const url of PAGE) problem(await app.inject({ url }), 404, 'route_not_found');
      await app.close();
    });
  }

  test('serves the page and its files with a strict CSP; no inline script or style', async () => {
    const { app } = testServer({ KINU_SOURCE: EXAMPLES });
    const types: [string, RegExp][] = [
      ['/_kinu/playground', /^text\/html/], ['/_kinu/playground/', /^text\/html/], ['/_kinu/playground/playground.css', /^text\/css/],
      ['/_kinu/playground/playground.js', /^text\/javascript/], ['/_kinu/playground/thumbhash.js', /^text\/javascript/],
      ['/_kinu/playground/icon.svg', /^image\/svg\+xml/], ['/_kinu/playground/config.json', /^application\/json/],
    ];
    for (const [url, type] of types) {
      const res = await app.inject({ url });
      assert.equal(res.statusCode, 200, url);
      assert.match(String(res.headers['content-type']), type, url);
      assert.equal(res.headers['content-security-policy'], PLAYGROUND_CSP, url);
      assert.equal(res.headers['x-content-type-options'], 'nosniff', url);
      assert.equal(res.headers['cache-control'], 'no-store', url);
    }
    assert.match(PLAYGROUND_CSP, /^default-src 'none'; script-src 'self'; style-src 'self';/);
    assert.doesNotMatch(PLAYGROUND_CSP, /unsafe|\*|data:/);

    const html = (await app.inject({ url: '/_kinu/playground' })).body;
    assert.doesNotMatch(html, /<style|\sstyle=|\son[a-z]+=/i, 'no inline style or handlers');
    for (const m of html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)) {
      assert.match(m[1]!, /src="\/_kinu\/playground\//);
      assert.equal(m[2], '', 'no inline script');
    }
    for (const m of html.matchAll(/(?:src|href)="([^"]+)"/g)) assert.match(m[1]!, /^\/(_kinu\/playground\/|$)/, `${m[1]} is one of the playground's own files`);
    // The script imports nothing but the files the route serves.
    const js = (await app.inject({ url: '/_kinu/playground/playground.js' })).body;
    assert.deepEqual([...js.matchAll(/^import .* from '([^']+)'/gm)].map((m) => m[1]), ['./thumbhash.js']);
    await app.close();
  });

  test('config.json: a control for every native param but sig, read from PARAMS; image keys from the source', async () => {
    const { app } = testServer({ KINU_SOURCE: EXAMPLES, KINU_PRESETS: '{"thumb":"w=100"}' });
    const cfg = (await app.inject({ url: '/_kinu/playground/config.json' })).json() as PlaygroundConfig;
    assert.deepEqual(cfg.params.map((p) => p.name), PARAM_NAMES.filter((n) => n !== 'sig'));
    const by = Object.fromEntries(cfg.params.map((p) => [p.name, p]));
    assert.deepEqual(by.w!.control, { kind: 'range', min: 1, max: 8192, step: 1, log: true });
    assert.deepEqual(by.q!.control, { kind: 'range', min: 1, max: 100, step: 1, log: false });
    assert.deepEqual(by.dpr!.control, { kind: 'range', min: 1, max: 4, step: 0.01, log: false });
    assert.deepEqual(by.fmt!.control, { kind: 'select', options: ['jpeg', 'png', 'webp', 'avif', 'gif', 'auto', 'json'] });
    assert.deepEqual(by.rot!.control, { kind: 'select', options: ['0', '90', '180', '270'] });
    assert.equal(by.w!.example, '400');
    assert.ok(by.pos!.control.kind === 'text' && Array.isArray(by.pos!.control.suggest) && by.pos!.control.suggest.includes('attention'));
    assert.deepEqual(by.bg!.control, { kind: 'text', suggest: [], colour: true });
    assert.deepEqual(by.wm!.control, { kind: 'text', suggest: 'keys', colour: false });
    assert.deepEqual(cfg.presets, ['thumb']);
    assert.deepEqual([cfg.prefix, cfg.signed, cfg.originals], ['', false, 'allow']);
    // LICENSES.md sits in the folder too: only images are offered.
    assert.deepEqual(cfg.keys, ['blackbug.png', 'fox.avif', 'kimono.jpg', 'landscape-exif-6.jpg', 'pigeons.jpg', 'rotating-squares.gif']);
    await app.close();
  });

  test('config.json: keys is null when the source cannot list (the page asks for a key)', async () => {
    const source = { ...createFileSource({ root: CORPUS } as Parameters<typeof createFileSource>[0]), list: undefined };
    const { app } = testServer({}, { source });
    const cfg = (await app.inject({ url: '/_kinu/playground/config.json' })).json() as PlaygroundConfig;
    assert.equal(cfg.keys, null);
    await app.close();
  });

  test('sign: unsigned server → the URL as it is, after the same checks as the image route', async () => {
    const { app } = testServer({ KINU_SOURCE: EXAMPLES });
    const sign = (url: string) => app.inject({ url: `/_kinu/playground/sign?url=${encodeURIComponent(url)}` });
    assert.deepEqual((await sign('/pigeons.jpg?w=100&fmt=webp')).json(), { url: '/pigeons.jpg?w=100&fmt=webp' });
    const p = problem(await sign('/pigeons.jpg?w=0'), 400, 'invalid_param');
    assert.match(p.detail, /^w: /);
    for (const bad of ['', 'pigeons.jpg?w=1', 'http://evil.example/a.jpg?w=1', '/a.jpg?w=1#x']) problem(await sign(bad), 400, 'invalid_param');
    problem(await app.inject({ url: '/_kinu/playground/sign' }), 400, 'invalid_param');
    problem(await sign('/../etc/passwd?w=1'), 400, 'invalid_key');
    await app.close();
  });

  test('sign: with KINU_PLAYGROUND=on and a secret, URLs are signed as `kinu sign` does and are served', async () => {
    const { app } = testServer({ KINU_SOURCE: EXAMPLES, KINU_SECRET: `${SECRET},old-secret-0123456789abc`, KINU_PLAYGROUND: 'on', KINU_DIALECTS: 'native=/img' });
    const cfg = (await app.inject({ url: '/_kinu/playground/config.json' })).json() as PlaygroundConfig;
    assert.deepEqual([cfg.prefix, cfg.signed], ['/img', true]);
    const url = '/img/pigeons.jpg?w=100&fmt=webp';
    const signed = ((await app.inject({ url: `/_kinu/playground/sign?url=${encodeURIComponent(url)}` })).json() as { url: string }).url;
    assert.equal(signed, signUrl(SECRET, url));
    assert.equal((await app.inject({ url: signed })).statusCode, 200);
    // The original needs no signature.
    assert.deepEqual((await app.inject({ url: `/_kinu/playground/sign?url=${encodeURIComponent('/img/pigeons.jpg')}` })).json(), { url: '/img/pigeons.jpg' });
    // Checked against the native mount, as the image route will.
    problem(await app.inject({ url: `/_kinu/playground/sign?url=${encodeURIComponent('/pigeons.jpg?w=1')}` }), 400, 'invalid_key');
    await app.close();
  });
});
