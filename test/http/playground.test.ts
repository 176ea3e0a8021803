// /_kinu/playground over inject: when it is on, what it serves (with its CSP), kinu/client's own module among
// it, the controls the page builds from kinu/client's spec (form.js, run here in Node), the URLs it writes
// (kinuUrl's, byte for byte) and its signing endpoint.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { kinuUrl, PARAM_SPEC, type KinuParams } from '../../client/index.js';
import { PARAM_DOCS } from '../../client/params.generated.js';
import { PLAYGROUND_CSP, playgroundEnabled } from '../../src/http/playground.ts';
import { createFileSource } from '../../src/source/file.ts';
import { PARAM_NAMES } from '../../src/url/params.ts';
import { signUrl } from '../../src/url/sign.ts';
import { CORPUS, EXAMPLES, testServer } from '../helpers.ts';
import { problem } from './fakes.ts';

const SECRET = 'playground-secret-0123456789';
const PAGE = [
  '/_kinu/playground',
  '/_kinu/playground/',
  '/_kinu/playground/playground.js',
  '/_kinu/playground/client/index.js',
  '/_kinu/playground/config.json',
  '/_kinu/playground/sign?url=/a.jpg%3Fw%3D1',
];
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

interface PlaygroundConfig {
  prefix: string;
  signed: boolean;
  originals: string;
  keys: string[] | null;
  presets: string[];
}

// The page's form logic, as the browser runs it (plain JS: imported by URL, typed here).
interface Control {
  name: string;
  doc: string;
  values: string;
  example: string;
  control: Record<string, unknown> & { kind: string };
}
interface Form {
  controlsFor(spec: typeof PARAM_SPEC, docs: typeof PARAM_DOCS): Control[];
  paramsOf(spec: typeof PARAM_SPEC, strings: Record<string, string>): KinuParams;
}
const form = (await import(new URL('../../src/http/playground/form.js', import.meta.url).href)) as Form;
/** What the page does with its controls' strings. */
const pageUrl = (prefix: string, key: string, strings: Record<string, string>) =>
  kinuUrl(prefix, key, form.paramsOf(PARAM_SPEC, strings));

/** Strings typed into the controls, with the params they stand for: odd characters, a key with a slash in wm. */
const ODD: { key: string; strings: Record<string, string>; params: KinuParams } = {
  key: 'odd dir/ä b (1)!*.jpg',
  strings: {
    w: '300',
    dpr: '1.234',
    pos: '0.3,0.6',
    enlarge: '0',
    fmt: 'webp',
    bg: '#FF8800',
    rot: '90',
    flip: 'hv',
    anim: '1',
    pad: '10',
    wm: 'logos/a.png',
    wm_pos: 'top-left',
    wm_scale: '0.25',
    preset: 'thumb',
    crop: '',
  },
  params: {
    w: 300,
    dpr: 1.234,
    pos: [0.3, 0.6],
    enlarge: false,
    fmt: 'webp',
    bg: '#FF8800',
    rot: 90,
    flip: 'hv',
    anim: true,
    pad: 10,
    wm: 'logos/a.png',
    wm_pos: 'top-left',
    wm_scale: 0.25,
    preset: 'thumb',
  },
};

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
      ['/_kinu/playground', /^text\/html/],
      ['/_kinu/playground/', /^text\/html/],
      ['/_kinu/playground/playground.css', /^text\/css/],
      ['/_kinu/playground/playground.js', /^text\/javascript/],
      ['/_kinu/playground/thumbhash.js', /^text\/javascript/],
      ['/_kinu/playground/icon.svg', /^image\/svg\+xml/],
      ['/_kinu/playground/config.json', /^application\/json/],
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
    for (const m of html.matchAll(/(?:src|href)="([^"]+)"/g))
      assert.match(m[1]!, /^\/(_kinu\/playground\/|$)/, `${m[1]} is one of the playground's own files`);
    // The page's module graph, followed through the route: every import is served, and nothing else is needed.
    const seen = new Map<string, string>();
    const walk = async (url: string): Promise<void> => {
      if (seen.has(url)) return;
      const res = await app.inject({ url });
      assert.equal(res.statusCode, 200, url);
      assert.match(String(res.headers['content-type']), /^text\/javascript/, url);
      seen.set(url, res.body);
      for (const m of res.body.matchAll(/^(?:import|export) [^;]*? from '([^']+)'/gm)) {
        assert.match(m[1]!, /^\.\//, `${url} imports ${m[1]}: only files beside it`);
        await walk(new URL(m[1]!, `http://x${url}`).pathname);
      }
    };
    await walk('/_kinu/playground/playground.js');
    assert.deepEqual(
      [...seen.keys()].sort(),
      ['client/index.js', 'client/params.generated.js', 'form.js', 'playground.js', 'thumbhash.js'].map(
        (f) => `/_kinu/playground/${f}`,
      ),
    );
    assert.match(
      seen.get('/_kinu/playground/playground.js')!,
      /^import \{ kinuUrl, PARAM_SPEC \} from '\.\/client\/index\.js';$/m,
    );
    // …and kinu/client there is the package's own build, byte for byte: the file package.json exports.
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
      exports: Record<string, { default: string }>;
    };
    const shipped = join(ROOT, pkg.exports['./client']!.default);
    for (const f of ['index.js', 'params.generated.js'])
      assert.equal(seen.get(`/_kinu/playground/client/${f}`), readFileSync(join(dirname(shipped), f), 'utf8'), f);
    // The page's own files encode nothing: URLs are kinuUrl's.
    for (const f of ['playground.js', 'form.js'])
      assert.doesNotMatch(seen.get(`/_kinu/playground/${f}`)!, /encodeURI/, f);
    await app.close();
  });

  test("controls: one for every param of kinu/client's spec, in its order, with its docs; sig alone is left out", () => {
    const controls = form.controlsFor(PARAM_SPEC, PARAM_DOCS);
    assert.deepEqual(
      controls.map((p) => p.name),
      Object.keys(PARAM_SPEC),
    );
    // The server's params the page has no control for, and why: the page signs through /sign.
    assert.deepEqual(
      PARAM_NAMES.filter((n) => !controls.some((p) => p.name === n)),
      ['sig'],
    );
    for (const p of controls) assert.ok(p.doc && p.values && p.example, `${p.name} has its doc, values and example`);
    const by = Object.fromEntries(controls.map((p) => [p.name, p]));
    assert.deepEqual(by.w!.control, { kind: 'range', min: 1, max: 8192, step: 1, log: true });
    assert.deepEqual(by.q!.control, { kind: 'range', min: 1, max: 100, step: 1, log: false });
    assert.deepEqual(by.dpr!.control, { kind: 'range', min: 1, max: 4, step: 0.01, log: false });
    assert.deepEqual(by.blur!.control, { kind: 'range', min: 0.3, max: 100, step: 0.01, log: true });
    assert.deepEqual(by.wm_scale!.control, { kind: 'range', min: 0.0001, max: 1, step: 0.0001, log: false });
    assert.deepEqual(by.fmt!.control, {
      kind: 'select',
      options: ['jpeg', 'png', 'webp', 'avif', 'gif', 'jxl', 'auto', 'best', 'json'],
    });
    assert.deepEqual(by.rot!.control, { kind: 'select', options: ['0', '90', '180', '270'] });
    assert.deepEqual(by.gray!.control, { kind: 'select', options: ['0', '1'] });
    assert.equal(by.w!.example, '400');
    assert.ok(
      by.pos!.control.kind === 'text' &&
        Array.isArray(by.pos!.control.suggest) &&
        by.pos!.control.suggest.includes('attention'),
    );
    assert.deepEqual(by.bg!.control, { kind: 'text', suggest: [], colour: true });
    assert.deepEqual(by.wm!.control, { kind: 'text', suggest: 'keys', colour: false });
    assert.deepEqual(by.preset!.control, { kind: 'text', suggest: 'presets', colour: false });
  });

  test("the page's URL is kinuUrl's: each param's example string comes out as it went in; odd characters and wm=logos/a.png", () => {
    for (const name of Object.keys(PARAM_SPEC) as (keyof typeof PARAM_DOCS)[]) {
      const example = PARAM_DOCS[name].example;
      assert.equal(pageUrl('', 'a.jpg', { [name]: example }), `/a.jpg?${name}=${example}`, name);
    }
    assert.equal(pageUrl('', ODD.key, {}), kinuUrl('', ODD.key), 'no params: the key alone');
    assert.equal(pageUrl('/img', ODD.key, ODD.strings), kinuUrl('/img', ODD.key, ODD.params));
    assert.equal(
      pageUrl('/img', ODD.key, ODD.strings),
      '/img/odd%20dir/%C3%A4%20b%20%281%29%21%2A.jpg?w=300&dpr=1.23&pos=0.3,0.6&enlarge=0&fmt=webp&bg=ff8800&rot=90&flip=hv&anim=1&pad=10&wm=logos/a.png&wm_pos=top-left&wm_scale=0.25&preset=thumb',
    );
    assert.equal(pageUrl('', 'a.jpg', { wm: 'logos/a b+c.png' }), '/a.jpg?wm=logos/a%20b%2Bc.png');
  });

  test("a value the server would refuse gets kinu/client's message, not a URL (an empty list item is not 0)", () => {
    assert.throws(
      () => pageUrl('', 'a.jpg', { crop: '1,2,3' }),
      /^TypeError: kinu: crop: expected 4 numbers, got 1,2,3$/,
    );
    assert.throws(() => pageUrl('', 'a.jpg', { crop: '1,,3,4' }), /kinu: crop\[1\]: expected a number, got NaN/);
    assert.throws(() => pageUrl('', 'a.jpg', { w: '0' }), /kinu: w: expected an integer 1–8192, got 0/);
    assert.throws(() => pageUrl('', 'a.jpg', { rot: '45' }), /kinu: rot: expected 0 · 90 · 180 · 270, got "45"/);
    assert.throws(() => pageUrl('', '../a.jpg', {}), /kinu: key: "..\/a.jpg" has an empty, "." or ".." segment/);
  });

  test("config.json: this server's prefix, presets and image keys from the source", async () => {
    const { app } = testServer({ KINU_SOURCE: EXAMPLES, KINU_PRESETS: '{"thumb":"w=100"}' });
    const cfg = (await app.inject({ url: '/_kinu/playground/config.json' })).json() as PlaygroundConfig;
    assert.deepEqual(Object.keys(cfg).sort(), ['keys', 'originals', 'prefix', 'presets', 'signed']);
    assert.deepEqual(cfg.presets, ['thumb']);
    assert.deepEqual([cfg.prefix, cfg.signed, cfg.originals], ['', false, 'allow']);
    // LICENSES.md sits in the folder too: only images are offered.
    assert.deepEqual(cfg.keys, [
      'blackbug.png',
      'fox.avif',
      'kimono.jpg',
      'landscape-exif-6.jpg',
      'pigeons.jpg',
      'rotating-squares.gif',
    ]);
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
    for (const bad of ['', 'pigeons.jpg?w=1', 'http://evil.example/a.jpg?w=1', '/a.jpg?w=1#x'])
      problem(await sign(bad), 400, 'invalid_param');
    problem(await app.inject({ url: '/_kinu/playground/sign' }), 400, 'invalid_param');
    problem(await sign('/../etc/passwd?w=1'), 400, 'invalid_key');
    await app.close();
  });

  test('sign: with KINU_PLAYGROUND=on and a secret, URLs are signed as `kinu sign` does and are served', async () => {
    const { app } = testServer({
      KINU_SOURCE: EXAMPLES,
      KINU_SECRET: `${SECRET},old-secret-0123456789abc`,
      KINU_PLAYGROUND: 'on',
      KINU_DIALECTS: 'native=/img',
      KINU_PRESETS: '{"thumb":"w=100"}',
    });
    const cfg = (await app.inject({ url: '/_kinu/playground/config.json' })).json() as PlaygroundConfig;
    assert.deepEqual([cfg.prefix, cfg.signed], ['/img', true]);
    const url = '/img/pigeons.jpg?w=100&fmt=webp';
    const signed = (
      (await app.inject({ url: `/_kinu/playground/sign?url=${encodeURIComponent(url)}` })).json() as { url: string }
    ).url;
    assert.equal(signed, signUrl(SECRET, url));
    assert.equal((await app.inject({ url: signed })).statusCode, 200);
    // What the page shows for its odd controls is what kinuUrl signs itself with the server's secret.
    const built = pageUrl('/img', ODD.key, ODD.strings);
    const viaPage = (
      (await app.inject({ url: `/_kinu/playground/sign?${new URLSearchParams({ url: built })}` })).json() as {
        url: string;
      }
    ).url;
    assert.equal(viaPage, kinuUrl('/img', ODD.key, ODD.params, { secret: `${SECRET},old-secret-0123456789abc` }));
    // The original needs no signature.
    assert.deepEqual(
      (await app.inject({ url: `/_kinu/playground/sign?url=${encodeURIComponent('/img/pigeons.jpg')}` })).json(),
      { url: '/img/pigeons.jpg' },
    );
    // Checked against the native mount, as the image route will.
    problem(
      await app.inject({ url: `/_kinu/playground/sign?url=${encodeURIComponent('/pigeons.jpg?w=1')}` }),
      400,
      'invalid_key',
    );
    await app.close();
  });
});
