// kinu/client against the server's own parser: every param round-trips into the same canonical transform,
// the range edges agree, signatures are `kinu sign`'s byte for byte (Node crypto and Web Crypto alike), and
// srcset widths are sorted, unique and clamped. Imported as a page would: `kinu/client` (the built files).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  kinuQuery,
  kinuUrl,
  kinuUrlAsync,
  LIMITS,
  PARAM_SPEC,
  sizes,
  srcset,
  srcsetAsync,
  srcsetWidths,
  type KinuParams,
  type ParamSpec,
  type Range,
} from 'kinu/client';
import { kinuLoader } from 'kinu/next';
import { main } from '../../src/cli.ts';
import { KinuError } from '../../src/errors.ts';
import { canonicalKey } from '../../src/transform.ts';
import { parseNative, parseParams, toTransform, type NativeOptions } from '../../src/url/native.ts';
import { PARAM_NAMES, type ParamValues } from '../../src/url/params.ts';
import { signUrl } from '../../src/url/sign.ts';
import { decode, EXAMPLES, testServer } from '../helpers.ts';

const PRESETS = { thumb: { w: 200, h: 200 } } satisfies NativeOptions['presets'];
const UNSIGNED: NativeOptions = { prefix: '', secrets: [], presets: PRESETS };
const SECRET = 'kinu-client-test-secret-0123456789';

/** The raw query of a URL (without `?`), and the URL without its origin. */
const query = (url: string) => (url.includes('?') ? url.slice(url.indexOf('?') + 1) : '');
const pathOf = (url: string) => url.replace(/^[a-z]+:\/\/[^/]+/i, '');

const transformOf = (url: string, opts: NativeOptions = UNSIGNED) => {
  const t = parseNative(pathOf(url), opts).transform;
  assert.ok(t, `${url} should carry a transform`);
  return canonicalKey(t);
};

// ---- samples of every param, from the generated table ----

const mid = (r: Range) => Math.round((r.min + (r.max - r.min) * 0.37) * 10 ** r.places) / 10 ** r.places;
const edges = (r: Range) => [r.min, r.max, mid(r)];

/** Client values to try for one param, each with what the server's parser should make of it. */
function samples(_name: string, spec: ParamSpec): { value: unknown; server: unknown }[] {
  switch (spec.kind) {
    case 'number':
      return edges(spec.range).map((n) => ({ value: n, server: n }));
    case 'enum':
      return spec.values.map((v) => ({ value: v, server: v }));
    case 'flag':
      return [
        { value: true, server: true },
        { value: false, server: false },
      ];
    case 'position': {
      const words = spec.words.map((w) => ({
        value: w,
        server: w === 'attention' || w === 'entropy' ? { kind: w } : { kind: 'gravity', gravity: w },
      }));
      const points = [0, 1, 2].map((i) => spec.items.map((r) => edges(r)[i]!));
      return [...words, ...points.map(([x, y]) => ({ value: [x, y], server: { kind: 'focal', x, y } }))];
    }
    case 'list': {
      const lists = [0, 1, 2].map((i) => spec.items.map((r) => edges(r)[i]!));
      const out: { value: unknown; server: unknown }[] = lists.map((l) => ({ value: l, server: l }));
      if (spec.counts.includes(1))
        out.push({ value: spec.items[0]!.max, server: [0, 1, 2, 3].map(() => spec.items[0]!.max) });
      return out;
    }
    case 'colour':
      return [
        { value: 'FF8800', server: { r: 255, g: 136, b: 0, alpha: 1 } },
        { value: '#11223380', server: { r: 17, g: 34, b: 51, alpha: 0.502 } },
      ];
    case 'string':
      return [{ value: 'thumb', server: 'thumb' }];
    case 'key':
      return [{ value: "logos/my logo (1)!'*.png", server: "logos/my logo (1)!'*.png" }];
  }
}

/** Params some params need beside them (wm_* need wm). */
const companions = (name: string): KinuParams => (name.startsWith('wm_') ? { wm: 'logo.png' } : {});

test('the client table has every server param but sig, in the server order', () => {
  assert.deepEqual(
    Object.keys(PARAM_SPEC),
    PARAM_NAMES.filter((n) => n !== 'sig'),
  );
});

test('every param round-trips: builder → parseNative → the value asked for, and the same canonical transform', () => {
  let checked = 0;
  for (const [name, spec] of Object.entries(PARAM_SPEC)) {
    for (const s of samples(name, spec)) {
      const params = { ...companions(name), [name]: s.value } as KinuParams;
      const url = kinuUrl('https://img.example.com', 'photos/a.jpg', params);
      const label = `${name}=${JSON.stringify(s.value)} → ${url}`;
      const parsed = parseParams(query(url).split('&'));
      assert.deepEqual(parsed[name as keyof ParamValues], s.server, label);
      const expected = toTransform({
        ...parseParams(companions(name).wm ? ['wm=logo.png'] : []),
        [name]: s.server,
      } as ParamValues);
      if (name !== 'preset') assert.equal(transformOf(url), canonicalKey(expected), label);
      else assert.equal(transformOf(url), canonicalKey(toTransform(PRESETS.thumb)), label);
      checked++;
    }
  }
  assert.ok(checked > 60, `only ${checked} samples`);
});

test('the client and the server agree on every numeric edge: inside is taken by both, outside refused by both', () => {
  const step = (r: Range) => 10 ** -r.places;
  for (const [name, spec] of Object.entries(PARAM_SPEC)) {
    const ranges: { range: Range; make: (n: number) => unknown; raw: (n: number) => string }[] = [];
    if (spec.kind === 'number')
      ranges.push({ range: spec.range, make: (n) => n, raw: (n) => String(Number(n.toFixed(spec.range.places))) });
    if (spec.kind === 'list' || spec.kind === 'position') {
      spec.items.forEach((range, i) => {
        const others = spec.items.map((r) => mid(r));
        const at = (n: number) => others.map((o, j) => (j === i ? n : o));
        ranges.push({
          range,
          make: at,
          raw: (n) =>
            at(n)
              .map((v) => Number(v.toFixed(range.places)))
              .join(','),
        });
      });
    }
    for (const { range, make, raw } of ranges) {
      const outside = [range.min - step(range), range.max + step(range)];
      for (const n of [range.min, range.max]) {
        const url = kinuUrl('', 'a.jpg', { ...companions(name), [name]: make(n) } as KinuParams);
        assert.doesNotThrow(() => parseNative(url, UNSIGNED), `${name} ${n}: ${url}`);
      }
      for (const n of outside) {
        if (n < 0) continue; // the server's grammar has no minus sign at all
        assert.throws(() => kinuQuery({ [name]: make(n) } as KinuParams), RangeError, `client takes ${name} ${n}`);
        assert.throws(
          () => parseParams([...(companions(name).wm ? ['wm=logo.png'] : []), `${name}=${raw(n)}`]),
          KinuError,
          `server takes ${name}=${raw(n)}`,
        );
      }
    }
  }
});

test("the width limits are the server's: w 1–8192", () => {
  assert.deepEqual([LIMITS.width.min, LIMITS.width.max, LIMITS.height.min, LIMITS.height.max], [1, 8192, 1, 8192]);
  assert.doesNotThrow(() => parseParams([`w=${LIMITS.width.max}`]));
  assert.doesNotThrow(() => parseParams([`w=${LIMITS.width.min}`]));
  assert.throws(() => parseParams([`w=${LIMITS.width.max + 1}`]), KinuError);
  assert.throws(() => parseParams([`w=${LIMITS.width.min - 1}`]), KinuError);
  assert.equal(LIMITS.maxSide, 16384);
});

test("URLs are canonical: param order does not matter, numbers take the server's precision, colours are lower-case", () => {
  const a = kinuUrl('https://img.example.com/', '/photos/a.jpg', {
    fmt: 'auto',
    dpr: 2.625,
    w: 400,
    bg: '#FFAA00',
    pos: [0.123456, 0.5],
  });
  const b = kinuUrl('https://img.example.com', 'photos/a.jpg', {
    pos: [0.1235, 0.5],
    bg: 'ffaa00',
    w: 400.2,
    dpr: 2.63,
    fmt: 'auto',
  });
  assert.equal(a, b);
  assert.equal(a, 'https://img.example.com/photos/a.jpg?w=400&dpr=2.63&pos=0.1235,0.5&fmt=auto&bg=ffaa00');
  // The server refuses what the client rounds away.
  assert.throws(() => parseParams(['dpr=2.625']), KinuError);
  // Hand-written native URLs with the same meaning give the same transform (and so one cache entry).
  const cases: [KinuParams, string][] = [
    [
      { w: 300, h: 200, fit: 'contain', pos: 'top-left', bg: '000000' },
      'h=200&w=300&bg=000000&pos=top-left&fit=contain',
    ],
    [{ crop: [10, 20, 300, 200], rot: 270, flip: 'hv', gray: true }, 'gray=1&flip=hv&rot=270&crop=10,20,300,200'],
    [
      { w: 400, dpr: 1.5, enlarge: true, q: 70, fmt: 'webp', anim: false },
      'anim=0&fmt=webp&q=70&enlarge=1&dpr=1.50&w=400',
    ],
    [
      { pad: 8, trim: 10, blur: 0.3, sharpen: 10, pixelate: 12 },
      'pad=8,8,8,8&trim=10&blur=0.30&sharpen=10&pixelate=12',
    ],
    [
      { wm: 'marks/logo.png', wm_pos: 'top', wm_opacity: 0.5, wm_scale: 0.25 },
      'wm_scale=0.25&wm_opacity=0.50&wm_pos=top&wm=marks%2Flogo.png',
    ],
  ];
  for (const [params, raw] of cases) {
    const built = kinuUrl('', 'photos/a.jpg', params);
    assert.equal(transformOf(built), transformOf(`/photos/a.jpg?${raw}`), `${built} vs ?${raw}`);
  }
});

test('keys and key-valued params are percent-encoded so the server reads them back exactly', () => {
  for (const key of ["a b/ü/it's (1)!*.jpg", '100%/q?#&=+,;.png', 'ümlaut/日本.jpg']) {
    const url = kinuUrl('https://img.example.com/prefix', key, { w: 10, wm: key });
    assert.match(url, /^https:\/\/img\.example\.com\/prefix\/[A-Za-z0-9%._~/-]+\?w=10&wm=[A-Za-z0-9%._~/-]+$/, url);
    const parsed = parseNative(pathOf(url), { ...UNSIGNED, prefix: '/prefix' });
    assert.equal(parsed.key, key);
    assert.equal(parsed.transform?.watermark?.key, key);
  }
  assert.equal(kinuUrl('', 'a.jpg'), '/a.jpg');
  for (const bad of ['', '/', 'a/../b.jpg', 'a//b.jpg', './a.jpg'])
    assert.throws(() => kinuUrl('', bad), RangeError, bad);
  for (const bad of ['img.example.com', 'https://img.example.com/?x=1', 'https://img.example.com/#a'])
    assert.throws(() => kinuUrl(bad, 'a.jpg'), TypeError, bad);
});

test('bad params throw before any URL exists: unknown names, sig, wrong types', () => {
  const loose = (p: Record<string, unknown>) => () => kinuQuery(p as KinuParams);
  assert.throws(loose({ wdth: 400 }), /wdth: unknown parameter/);
  assert.throws(loose({ sig: 'x'.repeat(43) }), /sig: unknown parameter/);
  assert.throws(loose({ w: '400' }), TypeError);
  assert.throws(loose({ fit: 'stretch' }), RangeError);
  assert.throws(loose({ rot: 45 }), RangeError);
  assert.throws(loose({ enlarge: 1 }), TypeError);
  assert.throws(loose({ crop: [1, 2, 3] }), TypeError);
  assert.throws(loose({ bg: 'orange' }), RangeError);
  assert.throws(loose({ preset: 'a b' }), RangeError);
  assert.throws(loose({ q: 'auto:max' }), /q: expected a number or auto · auto:high · auto:low/);
  assert.throws(loose({ w: 'auto' }), TypeError, 'words only where the server takes them');
  assert.equal(kinuQuery({ w: undefined, h: 5 }), 'h=5');
  assert.equal(kinuQuery({ q: 'auto:high' }), 'q=auto:high', 'q takes the words the server takes');
});

// ---- signing ----

async function cliSign(url: string, secret: string): Promise<string> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(['sign', url, '--secret', secret], {}, { out: (s) => out.push(s), err: (s) => err.push(s) });
  assert.equal(code, 0, err.join('\n'));
  return out.join('\n');
}

test("signatures equal kinu sign's, with Node crypto and with Web Crypto, and the server accepts them", async () => {
  const cases: [string, string, KinuParams][] = [
    ['https://img.example.com', 'recipes/curry.jpg', { w: 400, fmt: 'auto' }],
    [
      'https://img.example.com/img/',
      "dir/it's a photo ü.jpg",
      { w: 300, h: 300, pos: [0.25, 0.75], bg: 'ff880080', wm: 'logo one.png', wm_opacity: 0.5 },
    ],
    ['', 'a.jpg', { crop: [0, 0, 10, 10], pad: [1, 2, 3, 4], gray: true }],
    ['//cdn.example.com', 'a.jpg', {}],
  ];
  for (const secret of [SECRET, `  ${SECRET}-new , ${SECRET}-old`]) {
    for (const [base, key, params] of cases) {
      const unsigned = kinuUrl(base, key, params);
      const signed = kinuUrl(base, key, params, { secret });
      // kinu sign reads "//host/…" as a path (it needs a scheme to see a host), so it is given one here.
      const viaCli = unsigned.startsWith('//')
        ? (await cliSign(`https:${unsigned}`, secret)).slice('https:'.length)
        : await cliSign(unsigned, secret);
      assert.equal(signed, viaCli, `kinu sign ${unsigned}`);
      assert.equal(signed, await kinuUrlAsync(base, key, params, { secret }));
      const first = secret.split(',')[0]!.trim();
      if (!unsigned.startsWith('//')) assert.equal(signed, signUrl(first, unsigned));
      const prefix = pathOf(base)
        .replace(/\/+$/, '')
        .replace(/^\/\/.*/, '');
      assert.doesNotThrow(
        () => parseNative(pathOf(signed).replace(/^\/\/[^/]+/, ''), { ...UNSIGNED, prefix, secrets: [first] }),
        signed,
      );
    }
  }
  // A tampered URL fails, so the check above could fail.
  const signed = kinuUrl('', 'a.jpg', { w: 400 }, { secret: SECRET });
  assert.throws(() => parseNative(signed.replace('w=400', 'w=401'), { ...UNSIGNED, secrets: [SECRET] }), KinuError);
});

test('Web Crypto and Node crypto agree on many random URLs', async () => {
  for (let i = 0; i < 50; i++) {
    const params: KinuParams = { w: 1 + ((i * 97) % 8192), q: 1 + (i % 100), blur: i % 2 ? 0.3 + i : undefined };
    const secret = `${SECRET}-${i}-${'x'.repeat(i)}`;
    assert.equal(
      await kinuUrlAsync('https://a.example', `k/${i}.jpg`, params, { secret }),
      kinuUrl('https://a.example', `k/${i}.jpg`, params, { secret }),
    );
  }
});

test('a signed URL gets the image from a signing server; the same URL unsigned or tampered is a 403', async (t) => {
  const { app } = testServer({ KINU_SOURCE: EXAMPLES, KINU_SECRET: `${SECRET},another-secret-0123456789` });
  t.after(() => app.close());
  const url = kinuUrl('', 'pigeons.jpg', { w: 120, fmt: 'webp' }, { secret: SECRET });
  const ok = await app.inject({ url });
  assert.equal(ok.statusCode, 200, ok.body);
  const meta = await decode(ok.rawPayload);
  assert.equal(meta.format, 'webp');
  assert.equal(meta.width, 120);
  assert.equal((await app.inject({ url: kinuUrl('', 'pigeons.jpg', { w: 120, fmt: 'webp' }) })).statusCode, 403);
  assert.equal((await app.inject({ url: url.replace('w=120', 'w=121') })).statusCode, 403);
});

test('secrets: too short or empty is refused; without node:crypto, sync signing says to use kinuUrlAsync', async (t) => {
  assert.throws(() => kinuUrl('', 'a.jpg', { w: 1 }, { secret: 'short' }), RangeError);
  assert.throws(() => kinuUrl('', 'a.jpg', { w: 1 }, { secret: ' , ' }), RangeError);
  const proc = process as { getBuiltinModule?: unknown };
  const original = proc.getBuiltinModule;
  t.after(() => {
    proc.getBuiltinModule = original;
  });
  const expected = kinuUrl('', 'a.jpg', { w: 1 }, { secret: SECRET });
  proc.getBuiltinModule = undefined; // as in a browser
  assert.throws(() => kinuUrl('', 'a.jpg', { w: 1 }, { secret: SECRET }), /kinuUrlAsync/);
  assert.equal(kinuUrl('', 'a.jpg', { w: 1 }), '/a.jpg?w=1');
  assert.equal(await kinuUrlAsync('', 'a.jpg', { w: 1 }, { secret: SECRET }), expected);
});

// ---- responsive images ----

const candidatesOf = (s: string) =>
  s.split(', ').map((c) => {
    const m = /^(\S+) (\d+)w$/.exec(c);
    assert.ok(m, `candidate "${c}"`);
    return { url: m[1]!, w: Number(m[2]) };
  });

test("srcset: widths are rounded, clamped to the server's range, sorted and unique; each URL asks for its width", () => {
  const s = srcset('https://img.example.com', 'photos/a.jpg', [1600, 400, 800, 400, 0, -5, 99999, 399.6, 1e9], {
    fmt: 'auto',
  });
  const list = candidatesOf(s);
  assert.deepEqual(
    list.map((c) => c.w),
    [1, 400, 800, 1600, 8192],
  );
  for (const c of list) {
    const t = parseNative(pathOf(c.url), UNSIGNED).transform!;
    assert.equal(t.width, c.w, c.url);
    assert.equal(t.height, undefined);
    assert.equal(t.format, 'auto');
  }
  assert.deepEqual(srcsetWidths([3, 2, 1, 2, 3]), [1, 2, 3]);
  assert.throws(() => srcsetWidths([]), RangeError);
  assert.throws(() => srcsetWidths([Number.NaN]), TypeError);
});

test("srcset with a ratio crops every candidate to it, and keeps the height within the server's range", () => {
  const list = candidatesOf(srcset('', 'a.jpg', [600, 300], { fit: 'cover', pos: 'attention' }, { ratio: 3 / 2 }));
  assert.deepEqual(
    list.map((c) => [c.w, parseNative(c.url, UNSIGNED).transform!.height]),
    [
      [300, 200],
      [600, 400],
    ],
  );
  for (const ratio of [0.01, 100, 1 / 3]) {
    for (const c of candidatesOf(srcset('', 'a.jpg', [1, 500, 8192, 20000], {}, { ratio }))) {
      const t = parseNative(c.url, UNSIGNED).transform!;
      assert.equal(t.width, c.w);
      assert.ok(t.height! >= 1 && t.height! <= 8192, `${c.url}`);
      assert.ok(Math.abs(t.width! / t.height! - ratio) <= (ratio * 0.5) / t.height! + 1e-9, `${c.url} keeps ${ratio}`);
    }
  }
  assert.throws(() => srcset('', 'a.jpg', [400], {}, { ratio: 0 }), RangeError);
  assert.throws(() => srcset('', 'a.jpg', [400], { w: 400 } as KinuParams), /w comes from the widths/);
});

test('signed srcset: every candidate verifies, and the Web Crypto variant gives the same string', async () => {
  const s = srcset('', 'a.jpg', [400, 200], { fmt: 'webp' }, { secret: SECRET });
  for (const c of candidatesOf(s))
    assert.doesNotThrow(() => parseNative(c.url, { ...UNSIGNED, secrets: [SECRET] }), c.url);
  assert.equal(await srcsetAsync('', 'a.jpg', [400, 200], { fmt: 'webp' }, { secret: SECRET }), s);
});

test('sizes', () => {
  assert.equal(sizes(), '100vw');
  assert.equal(
    sizes({ '(min-width: 1024px)': '33vw', '(min-width: 640px)': 480 }, 320),
    '(min-width: 1024px) 33vw, (min-width: 640px) 480px, 320px',
  );
});

// ---- Next.js ----

test('kinu/next: width → w (clamped), quality → q over the defaults; full URLs under base; never a secret', () => {
  const loader = kinuLoader({ base: 'https://img.example.com/', fmt: 'auto', q: 70 });
  assert.equal(
    loader({ src: '/recipes/curry.jpg', width: 640 }),
    'https://img.example.com/recipes/curry.jpg?w=640&fmt=auto&q=70',
  );
  assert.equal(
    loader({ src: 'recipes/curry.jpg', width: 640, quality: 50 }),
    'https://img.example.com/recipes/curry.jpg?w=640&fmt=auto&q=50',
  );
  assert.equal(
    loader({ src: 'https://img.example.com/recipes/curry.jpg', width: 3840 }),
    'https://img.example.com/recipes/curry.jpg?w=3840&fmt=auto&q=70',
  );
  const t = parseNative(pathOf(loader({ src: '/a.jpg', width: 100000 })), UNSIGNED).transform!;
  assert.equal(t.width, 8192);
  assert.throws(() => loader({ src: 'https://elsewhere.example.com/a.jpg', width: 640 }), /not under/);
  const cropped = kinuLoader({ base: '', ratio: 16 / 9 })({ src: '/a.jpg', width: 1920 });
  assert.deepEqual(
    [parseNative(cropped, UNSIGNED).transform!.width, parseNative(cropped, UNSIGNED).transform!.height],
    [1920, 1080],
  );
  assert.throws(
    () => kinuLoader({ base: '', secret: SECRET } as unknown as Parameters<typeof kinuLoader>[0]),
    /must not hold a secret/,
  );
});
