// The native grammar as tables: raw query → Transform fields, or the error code and the param it names.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { rejectsKinu as rejects } from '../helpers.ts';
import type { KinuError } from '../../src/errors.ts';
import { OUTPUT_FORMATS } from '../../src/formats.ts';
import { canonicalKey, FITS, GRAVITIES, IDENTITY, type Transform } from '../../src/transform.ts';
import { parseNative, type NativeOptions } from '../../src/url/native.ts';
import { PARAM_NAMES } from '../../src/url/params.ts';

const OPTS: NativeOptions = {
  prefix: '',
  secrets: [],
  presets: { thumb: { w: 200, h: 200, fit: 'contain' }, retina: { w: 100, dpr: 2 } },
};

function parse(query: string, path = '/a.jpg', opts: NativeOptions = OPTS) {
  return parseNative(query === '' ? path : `${path}?${query}`, opts);
}

function transform(query: string): Transform {
  const t = parse(query).transform;
  assert.ok(t, `expected a transform for ${query}`);
  return t;
}

const same = (a: string, b: string) =>
  assert.equal(canonicalKey(transform(a)), canonicalKey(transform(b)), `${a} ≡ ${b}`);
const differ = (a: string, b: string) =>
  assert.notEqual(canonicalKey(transform(a)), canonicalKey(transform(b)), `${a} ≢ ${b}`);

// query → expected fields of the Transform (the rest must equal IDENTITY's)
const VALID: [string, Partial<Transform>][] = [
  ['w=1', { width: 1 }],
  ['w=8192', { width: 8192 }],
  ['w=0400', { width: 400 }],
  ['h=1', { height: 1 }],
  ['h=8192', { height: 8192 }],
  ['w=100&dpr=1', { width: 100 }],
  ['w=100&dpr=4', { width: 400 }],
  ['w=100&h=50&dpr=2.5', { width: 250, height: 125 }],
  ['w=333&dpr=1.5', { width: 500 }],
  ['w=1&dpr=1.01', { width: 1 }],
  ['dpr=2', {}],
  ...FITS.map((f): [string, Partial<Transform>] => [`w=10&h=10&fit=${f}`, { width: 10, height: 10, fit: f }]),
  ...GRAVITIES.map((g): [string, Partial<Transform>] => [
    `w=10&h=10&pos=${g}`,
    { width: 10, height: 10, position: { kind: 'gravity', gravity: g } },
  ]),
  ['w=10&h=10&pos=attention', { width: 10, height: 10, position: { kind: 'attention' } }],
  ['w=10&h=10&pos=entropy', { width: 10, height: 10, position: { kind: 'entropy' } }],
  ['w=10&h=10&pos=0.3,0.6', { width: 10, height: 10, position: { kind: 'focal', x: 0.3, y: 0.6 } }],
  ['w=10&h=10&pos=0,1', { width: 10, height: 10, position: { kind: 'focal', x: 0, y: 1 } }],
  [
    'w=10&h=10&fit=contain&pos=top',
    { width: 10, height: 10, fit: 'contain', position: { kind: 'gravity', gravity: 'top' } },
  ],
  ['w=10&enlarge=1', { width: 10, enlarge: true }],
  ['h=10&enlarge=0', { height: 10 }],
  ['crop=0,0,1,1', { crop: { x: 0, y: 0, width: 1, height: 1 } }],
  ['crop=100,50,800,600', { crop: { x: 100, y: 50, width: 800, height: 600 } }],
  ['crop=100000,100000,100000,100000', { crop: { x: 100000, y: 100000, width: 100000, height: 100000 } }],
  ...[...OUTPUT_FORMATS, 'auto', 'json'].map((f): [string, Partial<Transform>] => [
    `fmt=${f}`,
    { format: f as Transform['format'] },
  ]),
  ['q=1', { quality: 1 }],
  ['q=100', { quality: 100 }],
  ['bg=ff8800', { background: { r: 255, g: 136, b: 0, alpha: 1 } }],
  ['bg=FF880000', { background: { r: 255, g: 136, b: 0, alpha: 0 } }],
  ['bg=ffffff', { background: { r: 255, g: 255, b: 255, alpha: 1 } }],
  ['bg=ffffffff', { background: { r: 255, g: 255, b: 255, alpha: 1 } }],
  ['blur=0.3', { blur: 0.3 }],
  ['blur=100', { blur: 100 }],
  ['sharpen=0.5', { sharpen: 0.5 }],
  ['sharpen=10', { sharpen: 10 }],
  ['rot=0', {}],
  ['rot=90', { rotate: 90 }],
  ['rot=180', { rotate: 180 }],
  ['rot=270', { rotate: 270 }],
  ['flip=h', { flipH: true }],
  ['flip=v', { flipV: true }],
  ['flip=hv', { flipH: true, flipV: true }],
  ['anim=0', { animated: false }],
  ['anim=1', {}],
  ['trim=0', { trim: 0 }],
  ['trim=255', { trim: 255 }],
  ['pad=10', { pad: [10, 10, 10, 10] }],
  ['pad=1,2,3,4', { pad: [1, 2, 3, 4] }],
  ['pad=0', {}],
  ['pad=4096', { pad: [4096, 4096, 4096, 4096] }],
  ['wm=logo.png', { watermark: { key: 'logo.png', gravity: 'bottom-right', opacity: 1, scale: undefined } }],
  [
    'wm=a%2Fb.png&wm_pos=top-left&wm_opacity=0&wm_scale=1',
    { watermark: { key: 'a/b.png', gravity: 'top-left', opacity: 0, scale: 1 } },
  ],
  [
    'wm=logo.png&wm_opacity=0.25&wm_scale=0.0001',
    { watermark: { key: 'logo.png', gravity: 'bottom-right', opacity: 0.25, scale: 0.0001 } },
  ],
  ['gray=1', { gray: true }],
  ['gray=0', {}],
  ['pixelate=2', { pixelate: 2 }],
  ['pixelate=100', { pixelate: 100 }],
  ['preset=thumb', { width: 200, height: 200, fit: 'contain' }],
  ['preset=thumb&w=100', { width: 100, height: 200, fit: 'contain' }],
  ['preset=thumb&fit=fill&q=50', { width: 200, height: 200, fit: 'fill', quality: 50 }],
  ['preset=retina', { width: 200 }],
  ['preset=retina&dpr=1', { width: 100 }],
];

// query → [code, param named first in the detail]
const INVALID: [string, string][] = [
  ['w=0', 'w'],
  ['w=8193', 'w'],
  ['w=-1', 'w'],
  ['w=1.5', 'w'],
  ['w=abc', 'w'],
  ['w=1e3', 'w'],
  ['w=', 'w'],
  ['w', 'w'],
  ['w=%20400', 'w'],
  ['h=0', 'h'],
  ['h=8193', 'h'],
  ['dpr=0.99', 'dpr'],
  ['dpr=4.01', 'dpr'],
  ['dpr=0', 'dpr'],
  ['dpr=1.255', 'dpr'],
  ['dpr=2x', 'dpr'],
  ['dpr=.5', 'dpr'],
  ['fit=stretch', 'fit'],
  ['fit=COVER', 'fit'],
  ['pos=middle', 'pos'],
  ['pos=0.5', 'pos'],
  ['pos=1.1,0', 'pos'],
  ['pos=0,-0.1', 'pos'],
  ['pos=0.1,0.2,0.3', 'pos'],
  ['enlarge=2', 'enlarge'],
  ['enlarge=true', 'enlarge'],
  ['crop=0,0,0,1', 'crop'],
  ['crop=0,0,1,0', 'crop'],
  ['crop=1,2,3', 'crop'],
  ['crop=1,2,3,4,5', 'crop'],
  ['crop=-1,0,1,1', 'crop'],
  ['crop=100001,0,1,1', 'crop'],
  ['fmt=bmp', 'fmt'],
  ['fmt=JPEG', 'fmt'],
  ['fmt=jpg', 'fmt'],
  ['q=0', 'q'],
  ['q=101', 'q'],
  ['bg=fff', 'bg'],
  ['bg=gg0000', 'bg'],
  ['bg=%23ff0000', 'bg'],
  ['bg=ff00000', 'bg'],
  ['blur=0.29', 'blur'],
  ['blur=100.01', 'blur'],
  ['blur=0', 'blur'],
  ['sharpen=0.4', 'sharpen'],
  ['sharpen=10.5', 'sharpen'],
  ['rot=45', 'rot'],
  ['rot=360', 'rot'],
  ['rot=-90', 'rot'],
  ['flip=x', 'flip'],
  ['flip=vh', 'flip'],
  ['anim=2', 'anim'],
  ['trim=256', 'trim'],
  ['trim=-1', 'trim'],
  ['pad=1,2', 'pad'],
  ['pad=4097', 'pad'],
  ['pad=1,2,3,4,5', 'pad'],
  ['wm=..%2Fsecret.png', 'wm'],
  ['wm=%2Fetc%2Fpasswd', 'wm'],
  ['wm=a%5Cb', 'wm'],
  ['wm=a.png&wm_pos=attention', 'wm_pos'],
  ['wm=a.png&wm_opacity=1.5', 'wm_opacity'],
  ['wm=a.png&wm_scale=0', 'wm_scale'],
  ['wm=a.png&wm_scale=2', 'wm_scale'],
  ['wm_pos=top', 'wm_pos'],
  ['wm_opacity=0.5', 'wm_opacity'],
  ['wm_scale=0.5', 'wm_scale'],
  ['gray=2', 'gray'],
  ['pixelate=1', 'pixelate'],
  ['pixelate=101', 'pixelate'],
  ['preset=nope', 'preset'],
  ['preset=bad%20name', 'preset'],
  ['foo=1', 'foo'],
  ['W=100', 'W'],
  ['%77=100', '%77'],
  ['w=1&w=2', 'w'],
  ['w=1&h=2&w=1', 'w'],
  ['w=%zz', 'w'],
  ['w=%E2%82', 'w'],
];

describe('native params', () => {
  test('every param in PARAMS has a valid row in this table', () => {
    const tested = new Set(VALID.flatMap(([q]) => q.split('&').map((s) => s.split('=')[0])));
    for (const name of PARAM_NAMES) if (name !== 'sig') assert.ok(tested.has(name), `no valid case for ${name}`);
  });

  for (const [query, fields] of VALID) {
    test(`?${query}`, () => assert.deepEqual(transform(query), { ...IDENTITY, ...fields }));
  }

  for (const [query, name] of INVALID) {
    test(`?${query} → invalid_param naming ${name}`, () => rejects(() => parse(query), 'invalid_param', name));
  }

  test('empty names and stray & are refused', () => {
    for (const q of ['w=1&&h=2', '&w=1', 'w=1&', '=5', '&']) rejects(() => parse(q), 'invalid_param');
  });

  test('the unknown-param detail lists the known params', () => {
    assert.throws(
      () => parse('foo=1'),
      (e: KinuError) => e.detail.includes('w, h, dpr'),
    );
  });

  test('no query, or an empty one, asks for the original', () => {
    assert.equal(parse('').transform, null);
    assert.equal(parseNative('/a.jpg?', OPTS).transform, null);
  });

  test('sig is not a transform param in unsigned mode', () => {
    assert.deepEqual(transform(`w=10&sig=${'A'.repeat(43)}`), { ...IDENTITY, width: 10 });
  });
});

describe('native canonical form', () => {
  test('dpr is folded into w and h', () => {
    same('w=400&dpr=2', 'w=800');
    same('w=400&h=300&dpr=2', 'w=800&h=600');
    same('h=50&dpr=1.5', 'h=75');
    same('w=100&dpr=1', 'w=100');
  });
  test('param order does not matter', () => same('w=10&h=20&fmt=webp&q=70', 'q=70&fmt=webp&h=20&w=10'));
  test('defaults given explicitly equal defaults left out', () => {
    same('w=10&h=10&fit=cover&pos=center', 'w=10&h=10');
    same('w=10&enlarge=0&rot=0&anim=1&gray=0&pad=0', 'w=10');
    same('wm=a.png&wm_pos=bottom-right&wm_opacity=1', 'wm=a.png');
  });
  test('fit and pos are dropped where they cannot change the result', () => {
    same('w=10&fit=contain', 'w=10');
    same('h=10&pos=top', 'h=10');
    same('w=10&h=10&fit=fill&pos=top', 'w=10&h=10&fit=fill');
    same('w=10&h=10&fit=inside&pos=0.1,0.1', 'w=10&h=10&fit=inside');
    same('w=10&h=10&fit=outside&pos=entropy', 'w=10&h=10&fit=outside');
    same('w=10&h=10&fit=contain&pos=attention', 'w=10&h=10&fit=contain');
    same('w=10&h=10&fit=contain&pos=0.2,0.2', 'w=10&h=10&fit=contain');
    differ('w=10&h=10&pos=attention', 'w=10&h=10');
    differ('w=10&h=10&fit=contain&pos=top', 'w=10&h=10&fit=contain');
    differ('w=10&h=10&pos=top', 'w=10&h=10');
  });
  test('enlarge is dropped without a size', () => {
    same('enlarge=1', 'enlarge=0');
    same('crop=0,0,5,5&enlarge=1', 'crop=0,0,5,5');
    differ('w=10&enlarge=1', 'w=10');
  });
  test('different requests differ', () => {
    differ('w=10', 'h=10');
    differ('w=10&fmt=webp', 'w=10&fmt=png');
    differ('w=10&fmt=auto', 'w=10');
    differ('bg=000000', 'bg=00000000');
  });
  test('a preset equals its expansion', () => {
    same('preset=thumb', 'w=200&h=200&fit=contain');
    same('preset=retina', 'w=200');
  });
});

describe('native keys', () => {
  const KEYS: [string, string][] = [
    ['/a.jpg', 'a.jpg'],
    ['/photos/hato-pigeons.jpg', 'photos/hato-pigeons.jpg'],
    ['/photos/%E2%82%AC%20sign.jpg', 'photos/€ sign.jpg'],
    ['/a%2Fb.jpg', 'a/b.jpg'],
    ['/a..b/c..jpg', 'a..b/c..jpg'],
    ['/a.b/c.d./e.', 'a.b/c.d./e.'],
    [`/${'k'.repeat(1024)}`, 'k'.repeat(1024)],
  ];
  for (const [path, key] of KEYS)
    test(`${path.slice(0, 40)} → ${key.slice(0, 30)}`, () => assert.equal(parse('', path).key, key));

  const BAD = [
    '/',
    '/..',
    '/../a.jpg',
    '/a/../../b.jpg',
    '/a/..',
    '/%2e%2e/a.jpg',
    '/.%2E/a.jpg',
    '/a%2F..%2F..%2Fb',
    '/.',
    '/./a.jpg',
    '/a/./b.jpg',
    // A segment starting with a dot is private: dotfiles, dot-folders, .well-known, upload temporaries.
    '/.hidden',
    '/.env',
    '/a/.git/config',
    '/.well-known/x',
    '/%2Eenv',
    '/a/%2egit/HEAD',
    '/...',
    '/.kinu-upload-1',
    '/a%00.jpg',
    '/a.jpg%00.png',
    '/a%5Cb.jpg',
    '/..%5Ca.jpg',
    '/a\\b.jpg',
    '//etc/passwd',
    '/%2Fetc/passwd',
    '/C:/x.jpg',
    '/c:x.jpg',
    '/a//b.jpg',
    '/a/',
    '/a.jpg/',
    `/${'k'.repeat(1025)}`,
    `/${'%C3%A9'.repeat(1025)}`,
    '/%zz.jpg',
    '/%E2%82.jpg',
    '/%',
  ];
  for (const path of BAD) {
    test(`${path.slice(0, 40)} → invalid_key`, () => {
      rejects(() => parse('', path), 'invalid_key', 'key');
      rejects(() => parse('w=10', path), 'invalid_key', 'key');
    });
  }

  test('a prefix is stripped, and other paths are refused', () => {
    const opts = { ...OPTS, prefix: '/img' };
    assert.equal(parse('w=1', '/img/a/b.jpg', opts).key, 'a/b.jpg');
    rejects(() => parse('w=1', '/other/a.jpg', opts), 'invalid_key');
    rejects(() => parse('w=1', '/img', opts), 'invalid_key');
  });
});

test('a param value parsed before gives the same result, an object value is never shared, and a bad value after a good one is still refused', () => {
  for (let i = 0; i < 3; i++) {
    assert.deepEqual([transform('w=400&q=80&fmt=webp').width, transform('w=400&q=80&fmt=webp').quality], [400, 80]);
    assert.equal(transform('w=401').width, 401);
  }
  const a = transform('w=10&h=10&pos=0.3,0.6').position;
  const b = transform('w=10&h=10&pos=0.3,0.6').position;
  assert.deepEqual(a, b);
  assert.notEqual(a, b, 'each URL gets its own object');
  assert.throws(
    () => parse('w=400x'),
    (e: KinuError) => e.code === 'invalid_param' && /\bw: expected integer/.test(e.message),
  );
  // Past the memo's bound (1,024 values a param) values keep parsing.
  for (let w = 1; w <= 1100; w++) assert.equal(transform(`w=${w}`).width, w);
});
