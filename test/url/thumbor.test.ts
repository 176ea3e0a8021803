// The thumbor dialect as tables: real thumbor/libthumbor URLs (their docs and tests) → the native URL that must
// give the same canonical Transform; the published signature vectors; what is refused, naming the part.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { rejectsKinu } from '../helpers.ts';
import { loadConfig } from '../../src/config.ts';
import type { ErrorCode } from '../../src/errors.ts';
import { canonicalKey, IDENTITY, type Transform } from '../../src/transform.ts';
import { parseNative } from '../../src/url/native.ts';
import { parseThumbor, signThumbor, thumborSignature } from '../../src/url/thumbor.ts';

const UNSIGNED = { prefix: '', keys: [] };
const LIB = 'my.server.com/some/path/to/image.jpg'; // libthumbor's IMAGE_URL

function native(query: string): Transform {
  const t = parseNative(`/x.jpg?${query}`, { prefix: '', secrets: [], presets: {} }).transform;
  return t ?? IDENTITY;
}

/** The native fields of a thumbor transform: what remains after thumbor's own geometry and filters are set aside. */
const THUMBOR_ONLY = {
  thumbor: undefined,
  adjust: undefined,
  roundCorner: undefined,
  watermarkAt: undefined,
  pngToJpeg: undefined,
  flattenAlways: undefined,
} as const;

function nativePart(t: Transform | null): Transform | null {
  return t && { ...t, ...THUMBOR_ONLY };
}

function rejects(
  url: string,
  code: ErrorCode,
  part: string,
  opts: { prefix: string; keys: readonly string[] } = UNSIGNED,
): void {
  rejectsKinu(() => parseThumbor(url, opts), code, part, url);
}

// [thumbor path after /unsafe/, expected key, nearest native query ('' = identity)]. A URL with a box also carries
// thumbor's own geometry (`thumbor`), which the plan follows: set aside here, tested in thumbor-peer.test.ts.
// Images given as http(s) URLs in thumbor's docs are replaced by a key (a folder source reads keys; see below).
const TABLE: [string, string, string][] = [
  // libthumbor tests/test_url_composer.py, tests/test_cryptourl.py
  [`300x200/${LIB}`, LIB, 'w=300&h=200&enlarge=1'],
  [`300x0/${LIB}`, LIB, 'w=300&enlarge=1'],
  [`0x300/${LIB}`, LIB, 'h=300&enlarge=1'],
  [`200x300/${LIB}`, LIB, 'w=200&h=300&enlarge=1'],
  [`origx0/${LIB}`, LIB, ''],
  [`0xorig/${LIB}`, LIB, ''],
  [`origxorig/${LIB}`, LIB, ''],
  [`200x300/smart/${LIB}`, LIB, 'w=200&h=300&pos=attention&enlarge=1'],
  [`fit-in/200x300/${LIB}`, LIB, 'w=200&h=300&fit=inside'],
  [`full-fit-in/200x300/${LIB}`, LIB, 'w=200&h=300&fit=outside&enlarge=1'],
  [`adaptive-fit-in/300x300/${LIB}`, LIB, 'w=300&h=300&fit=inside'],
  [`adaptive-fit-in/300x0/${LIB}`, LIB, 'w=300'],
  [`-0x0/${LIB}`, LIB, 'flip=h'],
  [`-200x0/${LIB}`, LIB, 'w=200&flip=h&enlarge=1'],
  [`0x-0/${LIB}`, LIB, 'flip=v'],
  [`0x-200/${LIB}`, LIB, 'h=200&flip=v&enlarge=1'],
  [`-0x-0/${LIB}`, LIB, 'flip=hv'],
  [`-200x-300/${LIB}`, LIB, 'w=200&h=300&flip=hv&enlarge=1'],
  [`left/${LIB}`, LIB, ''],
  [`top/${LIB}`, LIB, ''],
  [`left/top/${LIB}`, LIB, ''],
  [`left/smart/${LIB}`, LIB, ''],
  [`trim/${LIB}`, LIB, 'trim=0'],
  [`trim:top-left/${LIB}`, LIB, 'trim=0'],
  [`trim:top-left:15/${LIB}`, LIB, 'trim=15'],
  [`10x20:30x40/${LIB}`, LIB, 'crop=10,20,20,20'],
  [`0x0:0x0/${LIB}`, LIB, ''],
  [`10x10:200x200/300x200/${LIB}`, LIB, 'crop=10,10,190,190&w=300&h=200&enlarge=1'],
  // thumbor docs/usage.rst
  [
    '-300x-200/left/top/smart/path/to/my/nice/image.jpg',
    'path/to/my/nice/image.jpg',
    'w=300&h=200&flip=hv&pos=attention&enlarge=1',
  ],
  ['300x200/left/top/path/to/my/nice/image.jpg', 'path/to/my/nice/image.jpg', 'w=300&h=200&pos=top-left&enlarge=1'],
  ['300x200/right/a.jpg', 'a.jpg', 'w=300&h=200&pos=right&enlarge=1'],
  ['300x200/center/bottom/a.jpg', 'a.jpg', 'w=300&h=200&pos=bottom&enlarge=1'],
  ['300x200/center/middle/a.jpg', 'a.jpg', 'w=300&h=200&enlarge=1'],
  ['fit-in/300x200/left/top/a.jpg', 'a.jpg', 'w=300&h=200&fit=inside'],
  // thumbor docs: filling.rst, background_color.rst, blur.rst, sharpen.rst, rotate.rst, format.rst, quality.rst, …
  ['fit-in/300x300/filters:fill(blue)/example.jpg', 'example.jpg', 'w=300&h=300&fit=contain&bg=0000ff'],
  ['fit-in/300x300/filters:fill(f00)/example.jpg', 'example.jpg', 'w=300&h=300&fit=contain&bg=ff0000'],
  ['fit-in/300x300/filters:fill(add8e6)/example.jpg', 'example.jpg', 'w=300&h=300&fit=contain&bg=add8e6'],
  [
    'fit-in/300x225/filters:fill(blue,1)/dice_transparent_background.png',
    'dice_transparent_background.png',
    'w=300&h=225&fit=contain&bg=0000ff',
  ],
  [
    'fit-in/300x225/filters:fill(f00,true)/dice_transparent_background.png',
    'dice_transparent_background.png',
    'w=300&h=225&fit=contain&bg=ff0000',
  ],
  ['fit-in/300x225/filters:fill(transparent)/d.png', 'd.png', 'w=300&h=225&fit=contain&bg=00000000'],
  ['fit-in/300x300/filters:background_color(blue)/dice.png', 'dice.png', 'w=300&h=300&fit=inside&bg=0000ff'],
  ['fit-in/300x300/filters:background_color(add8e6)/dice.png', 'dice.png', 'w=300&h=300&fit=inside&bg=add8e6'],
  ['filters:blur(7)/example.jpg', 'example.jpg', 'blur=4'],
  ['filters:blur(4,2)/example.jpg', 'example.jpg', 'blur=1.85'],
  ['filters:sharpen(2,1.0,true)/example.jpg', 'example.jpg', 'sharpen=1'],
  ['filters:sharpen(0,1.0,true)/example.jpg', 'example.jpg', ''],
  ['filters:rotate(90)/example.jpg', 'example.jpg', 'rot=270'],
  ['filters:rotate(-90)/example.jpg', 'example.jpg', 'rot=90'],
  ['filters:rotate(540)/example.jpg', 'example.jpg', 'rot=180'],
  ['300x200/filters:rotate(90)/example.jpg', 'example.jpg', 'w=200&h=300&rot=270&enlarge=1'],
  ['-300x200/filters:rotate(270)/example.jpg', 'example.jpg', 'w=200&h=300&rot=90&flip=v&enlarge=1'],
  ['filters:format(webp)/example.jpg', 'example.jpg', 'fmt=webp'],
  ['filters:format(JPG)/example.jpg', 'example.jpg', 'fmt=jpeg'],
  ['filters:quality(40)/example.jpg', 'example.jpg', 'q=40'],
  ['filters:no_upscale()/example.jpg', 'example.jpg', ''],
  ['300x200/filters:no_upscale()/example.jpg', 'example.jpg', 'w=300&h=200'],
  [
    'fit-in/600x500/filters:upscale()/dice_transparent_background.png',
    'dice_transparent_background.png',
    'w=600&h=500&fit=inside&enlarge=1',
  ],
  ['filters:grayscale()/example.jpg', 'example.jpg', 'gray=1'],
  ['filters:strip_exif()/example.jpg', 'example.jpg', ''],
  ['filters:strip_icc()/example.jpg', 'example.jpg', ''],
  ['fit-in/300x200/filters:focal(146x206:279x360)/example.jpg', 'example.jpg', 'w=300&h=200&fit=inside'],
  [
    'filters:watermark(logo.png,-0,-0,50)/some/image.jpg',
    'some/image.jpg',
    'wm=logo.png&wm_pos=bottom-right&wm_opacity=0.5',
  ],
  [
    'filters:watermark(logo.png,0,center,0,20)/some/image.jpg',
    'some/image.jpg',
    'wm=logo.png&wm_pos=left&wm_opacity=1&wm_scale=0.2',
  ],
  ["filters:watermark('wm/logo.png',center,0p,100,none,none)/a.jpg", 'a.jpg', 'wm=wm/logo.png&wm_pos=top&wm_opacity=0'],
  [
    'fit-in/300x200/filters:format(webp):quality(70):fill(white):grayscale()/a.png',
    'a.png',
    'w=300&h=200&fit=contain&fmt=webp&q=70&gray=1&bg=ffffff',
  ],
  // thumbor tests/handlers/test_base_handler.py
  ['smart/image.jpg', 'image.jpg', ''],
  ['smart/image', 'image', ''],
  ['image%20space.jpg', 'image space.jpg', ''],
  [
    '15967251_212831_19242645_%D0%90%D0%B3%D0%B0%D1%82%D0%B0%D0%B2%D0%97%D0%BE%D0%BE%D0%BF%D0%B0%D1%80%D0%BA%D0%B5.jpg',
    '15967251_212831_19242645_АгатавЗоопарке.jpg',
    '',
  ],
  ['filters:fill(blue)/image.jpg', 'image.jpg', 'bg=0000ff'],
];

describe('thumbor URLs → the native fields of the nearest native URL', () => {
  for (const [path, key, query] of TABLE) {
    test(`/unsafe/${path} ≈ ?${query}`, () => {
      const r = parseThumbor(`/unsafe/${path}`, UNSIGNED);
      assert.equal(r.key, key);
      assert.ok(r.transform);
      assert.deepEqual(nativePart(r.transform), native(query));
      // Without thumbor's geometry or filters it is the native transform itself: one cache key, one ETag.
      if (Object.keys(THUMBOR_ONLY).every((k) => r.transform![k as keyof Transform] === undefined))
        assert.equal(canonicalKey(r.transform), canonicalKey(native(query)));
    });
  }

  test("thumbor's geometry enters the cache key: a box differs from its nearest native URL", () => {
    const r = parseThumbor('/unsafe/300x200/a.jpg', UNSIGNED).transform!;
    assert.ok(r.thumbor);
    assert.notEqual(canonicalKey(r), canonicalKey(native('w=300&h=200&enlarge=1')));
    const bright = parseThumbor('/unsafe/filters:brightness(10)/a.jpg', UNSIGNED).transform!;
    assert.notEqual(
      canonicalKey(bright),
      canonicalKey(parseThumbor('/unsafe/filters:brightness(11)/a.jpg', UNSIGNED).transform!),
    );
    const corner = (c: string) =>
      canonicalKey(parseThumbor(`/unsafe/filters:round_corner(${c})/a.jpg`, UNSIGNED).transform!);
    assert.notEqual(corner('20,255,0,0'), corner('20,0,0,255'));
    assert.notEqual(corner('20,255,0,0'), corner('20,255,0,0,1'));
    const focal = (f: string) =>
      canonicalKey(parseThumbor(`/unsafe/300x200/filters:focal(${f})/a.jpg`, UNSIGNED).transform!);
    assert.notEqual(focal('0x0:10x10'), focal('100x0:110x10'));
  });

  test("the README's side-by-side table holds", () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const section = readme.slice(readme.indexOf('## Migrating from thumbor'), readme.indexOf('**Settings to copy.**'));
    const rows = [...section.matchAll(/^\| `(\/unsafe\/[^`]+)` \| `\/([^`?]+)\?([^`]+)` \|$/gm)];
    assert.ok(rows.length >= 10, `found ${rows.length} rows`);
    for (const [, thumbor, key, query] of rows) {
      const r = parseThumbor(thumbor!, UNSIGNED);
      assert.equal(r.key, key, thumbor);
      assert.deepEqual(nativePart(r.transform), native(query!), thumbor);
    }
  });

  test('under a prefix, with a query string (ignored, as thumbor does)', () => {
    const r = parseThumbor('/th/unsafe/fit-in/300x200/photos/a.jpg?v=3', { prefix: '/th', keys: [] });
    assert.equal(r.key, 'photos/a.jpg');
    assert.deepEqual(nativePart(r.transform), native('w=300&h=200&fit=inside'));
  });
});

describe('refused, naming the part', () => {
  const BAD: [string, ErrorCode, string][] = [
    // thumbor's docs load every example from https://github.com/…, which is outside a folder source.
    [
      '/unsafe/filters:blur(7)/https%3A%2F%2Fgithub.com%2Fthumbor%2Fthumbor%2Fraw%2Fmaster%2Fexample.jpg',
      'not_found',
      'image',
    ],
    [
      '/unsafe/fit-in/300x225/filters:fill(blue,1)/https://github.com/thumbor/thumbor/wiki/dice_transparent_background.png',
      'not_found',
      'image',
    ],
    ['/unsafe/a/../b.jpg', 'invalid_key', 'image'],
    ['/unsafe/a%ZZ.jpg', 'invalid_param', 'image'],
    ['/unsafe/', 'invalid_param', 'image'],
    ['/unsafe', 'invalid_param', 'image'],
    ['/unsafe/300x200/smart', 'invalid_param', 'image'],
    ['/alabama1_ap620%C3%A9.jpg', 'invalid_param', 'signature'],
    ['/%D1%80=/alabama1_ap620%C3%A9.jpg', 'invalid_param', 'signature'],
    ['/unsafe/meta/-300x-200/left/top/smart/path/to/my/nice/image.jpg', 'invalid_param', 'meta'],
    [
      '/unsafe/debug/meta/trim/300x200:400x500/adaptive-full-fit-in/-300x-400/left/top/smart/filters:brightness(100)/some/image.jpg',
      'invalid_param',
      'debug',
    ],
    ['/unsafe/9000x0/a.jpg', 'invalid_param', 'width'],
    ['/unsafe/0x8193/a.jpg', 'invalid_param', 'height'],
    ['/unsafe/trim:top-left:300/a.jpg', 'invalid_param', 'trim:top-left:300'],
    ['/unsafe/trim::15/a.jpg', 'invalid_param', 'trim::15'],
    ['/unsafe/smart/300x200/a.jpg', 'invalid_param', '300x200'],
    ['/unsafe/300x200/fit-in/a.jpg', 'invalid_param', 'fit-in'],
    ['/unsafe/filters:quality(80)/smart/a.jpg', 'invalid_param', 'smart'],
    ['/unsafe/filters:quality(80/a.jpg', 'invalid_param', 'filters'],
    ['/unsafe/filters:quality(80)x/a.jpg', 'invalid_param', 'filters'],
    ['/unsafe/filters:max_bytes(-1)/example.jpg', 'invalid_param', 'filter max_bytes'],
    ['/unsafe/filters:noise(-5)/a.jpg', 'invalid_param', 'filter noise'],
    ['/unsafe/filters:noise(10,2147483648)/a.jpg', 'invalid_param', 'filter noise'],
    ['/unsafe/filters:equalize(1)/a.jpg', 'invalid_param', 'filter equalize'],
    ['/unsafe/filters:frame()/a.gif', 'invalid_param', 'filter frame'],
    ['/unsafe/filters:frame(http://x.org/f.png)/a.gif', 'invalid_param', 'filter frame'],
    ['/unsafe/filters:quality(0)/a.jpg', 'invalid_param', 'filter quality'],
    ['/unsafe/filters:quality(101)/a.jpg', 'invalid_param', 'filter quality'],
    ['/unsafe/filters:quality()/a.jpg', 'invalid_param', 'filter quality'],
    ['/unsafe/filters:quality(80):quality(90)/a.jpg', 'invalid_param', 'filter quality'],
    ['/unsafe/filters:max_age(1.5)/a.jpg', 'invalid_param', 'filter max_age'],
    ['/unsafe/filters:blur(2,-1)/a.jpg', 'invalid_param', 'filter blur'],
    ['/unsafe/filters:sharpen(1,2)/a.jpg', 'invalid_param', 'filter sharpen'],
    ['/unsafe/filters:sharpen(1,20,true)/a.jpg', 'invalid_param', 'filter sharpen'],
    ['/unsafe/filters:sharpen(1,1,maybe)/a.jpg', 'invalid_param', 'filter sharpen'],
    ['/unsafe/filters:grayscale(1)/a.jpg', 'invalid_param', 'filter grayscale'],
    ['/unsafe/filters:brightness(1.5)/a.jpg', 'invalid_param', 'filter brightness'],
    ['/unsafe/filters:rgb(1,2)/a.jpg', 'invalid_param', 'filter rgb'],
    ['/unsafe/filters:saturation(x)/a.jpg', 'invalid_param', 'filter saturation'],
    ['/unsafe/filters:round_corner(20,255,0)/a.jpg', 'invalid_param', 'filter round_corner'],
    ['/unsafe/filters:round_corner(20,256,0,0)/a.jpg', 'invalid_param', 'filter round_corner'],
    ['/unsafe/filters:proportion(half)/a.jpg', 'invalid_param', 'filter proportion'],
    ['/unsafe/filters:fill(nocolour)/a.jpg', 'invalid_param', 'filter fill'],
    ['/unsafe/filters:fill(red,2)/a.jpg', 'invalid_param', 'filter fill'],
    ['/unsafe/filters:background_color(%23fff)/a.jpg', 'invalid_param', 'filter background_color'],
    ['/unsafe/filters:fill(red):background_color(blue)/a.jpg', 'invalid_param', 'filter background_color'],
    ['/unsafe/filters:no_upscale():upscale()/a.jpg', 'invalid_param', 'filter upscale'],
    // thumbor docs/watermark.rst
    [
      '/unsafe/filters:watermark(http://my.site.com/img.png,-10,-10,50)/some/image.jpg',
      'invalid_param',
      'filter watermark',
    ],
    ['/unsafe/filters:watermark(img.png,0,0,150)/some/image.jpg', 'invalid_param', 'filter watermark'],
    ['/unsafe/filters:watermark(../img.png,0,0,50)/some/image.jpg', 'invalid_param', 'filter watermark'],
    ['/unsafe/filters:watermark(img.png,0,0)/some/image.jpg', 'invalid_param', 'filter watermark'],
    ['/unsafe/filters:watermark(img.png,left,0,50)/some/image.jpg', 'invalid_param', 'filter watermark'],
    ['/unsafe/filters:watermark(img.png,0,0,50,200)/some/image.jpg', 'invalid_param', 'filter watermark'],
  ];
  for (const [url, code, part] of BAD) test(`${url} → ${code} naming ${part}`, () => rejects(url, code, part));

  test('a path outside the mount prefix', () =>
    rejects('/other/unsafe/a.jpg', 'invalid_key', 'path', { prefix: '/th', keys: [] }));
});

describe('what thumbor ignores, kinu ignores (tests/filters/test_rotate.py, test_format.py, test_focal.py, test_blur.py, test_proportion.py; transformer.py manual_crop)', () => {
  const SAME: [string, string][] = [
    ['filters:rotate(45)/a.jpg', 'a.jpg'],
    ['filters:rotate(181)/a.jpg', 'a.jpg'],
    ['filters:format(invalid)/a.jpg', 'a.jpg'],
    ['filters:format(bmp)/a.jpg', 'a.jpg'],
    ['filters:blur(0)/a.jpg', 'a.jpg'],
    ['filters:focal()/a.jpg', 'a.jpg'],
    ['filters:focal(0x0:0x0)/a.jpg', 'a.jpg'],
    ['filters:focal(lkasjdklfjlkajsfd)/a.jpg', 'a.jpg'],
    ['filters:focal(146x206)/a.jpg', 'a.jpg'],
    ['10x10:5x20/a.jpg', 'a.jpg'],
    // thumbor/filters/__init__.py FiltersFactory.create_instances: a name without a filter is skipped;
    // tests/handlers/test_base_handler.py's urls_helpers send redeye() and gifv().
    ['filters:gifv()/a.jpg', 'a.jpg'],
    ['filters:redeye():gifv(webm):gifv(webm)/a.jpg', 'a.jpg'],
    ['filters:no_such_filter(1,2)/a.jpg', 'a.jpg'],
  ];
  for (const [path, plain] of SAME) {
    test(`/unsafe/${path} = /unsafe/${plain}`, () => {
      assert.deepEqual(
        parseThumbor(`/unsafe/${path}`, UNSIGNED).transform,
        parseThumbor(`/unsafe/${plain}`, UNSIGNED).transform,
      );
    });
  }
  test('proportion outside (0, 1] is ignored; inside it is kept', () => {
    for (const p of ['0', '-0.5', '10000'])
      assert.equal(
        parseThumbor(`/unsafe/filters:proportion(${p})/a.jpg`, UNSIGNED).transform!.thumbor?.proportion,
        undefined,
        p,
      );
    assert.equal(parseThumbor('/unsafe/filters:proportion(0.6)/a.jpg', UNSIGNED).transform!.thumbor?.proportion, 0.6);
  });
  test('focal boxes become FocalPoint.from_square centres weighted by area (test_focal_filter_valid)', () => {
    const g = parseThumbor('/unsafe/300x200/filters:focal(146x156:279x208)/a.jpg', UNSIGNED).transform!.thumbor!;
    assert.deepEqual(g.points, [[212, 182, 133 * 52]]);
  });
});

describe('trim corners, trim with a crop, equalize, noise, max_bytes', () => {
  const t = (url: string) => parseThumbor(url, UNSIGNED).transform!;

  // tests/test_context.py test_can_get_params_with_trim_with_custom_pos; context.py splits trim on ':'.
  test('trim:bottom-right:10 is the bottom-right corner; trim:10 too, with tolerance 0', () => {
    assert.deepEqual(
      [t('/unsafe/trim:bottom-right:10/a.jpg').trimCorner, t('/unsafe/trim:bottom-right:10/a.jpg').trim],
      ['bottom-right', 10],
    );
    assert.deepEqual([t('/unsafe/trim:10/a.jpg').trimCorner, t('/unsafe/trim:10/a.jpg').trim], ['bottom-right', 0]);
    assert.equal(t('/unsafe/trim:top-left:10/a.jpg').trimCorner, undefined);
  });

  test('a manual crop with trim is marked as measured on the untrimmed image; without trim it is not', () => {
    const both = t('/unsafe/trim/10x10:50x50/a.jpg');
    assert.deepEqual([both.crop, both.cropUntrimmed], [{ x: 10, y: 10, width: 40, height: 40 }, true]);
    assert.equal(t('/unsafe/10x10:50x50/a.jpg').cropUntrimmed, undefined);
  });

  test('equalize() and noise() keep their place among the pixel filters', () => {
    assert.deepEqual(t('/unsafe/filters:brightness(5):equalize():noise(20,7)/a.jpg').adjust, [
      { op: 'brightness', value: 5 },
      { op: 'equalize' },
      { op: 'noise', amount: 20, seed: 7 },
    ]);
    // _noise.c does nothing for an amount of 0.
    assert.equal(parseThumbor('/unsafe/filters:noise(0)/a.jpg', UNSIGNED).transform?.adjust, undefined);
  });

  test('noise() without a seed is seeded from the URL path: the same path, the same seed; another path, another', () => {
    const seed = (url: string) => (t(url).adjust![0] as { seed: number }).seed;
    const a = seed('/unsafe/filters:noise(20)/a.jpg');
    assert.ok(a >= 1 && a <= 2147483647);
    assert.equal(seed('/unsafe/filters:noise(20)/a.jpg?x=1'), a);
    assert.notEqual(seed('/unsafe/filters:noise(20)/b.jpg'), a);
    assert.notEqual(
      canonicalKey(t('/unsafe/filters:noise(20)/a.jpg')),
      canonicalKey(t('/unsafe/filters:noise(20)/b.jpg')),
    );
  });

  // tests/handlers/test_base_handler_with_different_storage_config.py test_max_bytes: max_bytes(35000).
  test('max_bytes(n) is the canonical byte budget; max_bytes(0) is none', () => {
    assert.equal(t('/unsafe/filters:max_bytes(35000)/a.jpg').maxBytes, 35000);
    assert.equal(parseThumbor('/unsafe/filters:max_bytes(0)/a.jpg', UNSIGNED).transform?.maxBytes, undefined);
  });
});

describe('signatures', () => {
  const KEY = 'my-security-key';
  const SIGNED = { prefix: '', keys: [KEY] };

  // libthumbor tests/test_cryptourl.py (CryptoURL('my-security-key').generate(...)), verbatim.
  const LIBTHUMBOR: [string, string][] = [
    ['/8ammJH8D-7tXy6kU3lTvoXlhu4o=/300x200/my.server.com/some/path/to/image.jpg', 'w=300&h=200&enlarge=1'],
    [
      '/B35oBEIwztbc3jm7vsdqLez2C78=/10x10:200x200/300x200/my.server.com/some/path/to/image.jpg',
      'crop=10,10,190,190&w=300&h=200&enlarge=1',
    ],
  ];
  test("libthumbor's published vectors verify", () => {
    for (const [url, query] of LIBTHUMBOR) {
      assert.deepEqual(nativePart(parseThumbor(url, SIGNED).transform), native(query), url);
      assert.equal(thumborSignature(KEY, url.slice(30)), url.slice(1, 29));
    }
  });

  test("libthumbor's vector with brightness/contrast verifies and keeps both filters in order", () => {
    const t = parseThumbor(
      '/as8U2DbUUtTMgvPF26LkjS3MocY=/10x10:200x200/300x200/filters:brightness(20):contrast(10)/my.server.com/some/path/to/image.jpg',
      SIGNED,
    ).transform!;
    assert.deepEqual(t.adjust, [
      { op: 'brightness', value: 20 },
      { op: 'contrast', value: 10 },
    ]);
  });

  // thumbor tests/handlers/test_base_handler.py (SECURITY_KEY "ACME-SEC") and …_with_stored_keys.py ("MYKEY"):
  // thumbor signs the path as sent, percent-encoding kept.
  const HANDLER: [string, string, string][] = [
    ['ACME-SEC', '/_wIUeSaeHw8dricKG2MGhqu5thk=/smart/image.jpg', 'image.jpg'],
    ['ACME-SEC', '/lc6e3kkm_2Ww7NWho8HPOe-sqLU=/smart/alabama1_ap620%C3%A9.jpg', 'alabama1_ap620é.jpg'],
    ['ACME-SEC', '/5YRxzS2yxZxj9SZ50SoZ11eIdDI=/filters:fill(blue)/image.jpg', 'image.jpg'],
    ['MYKEY', '/nty7gpBIRJ3GWtYDLLw6q1PgqTo=/smart/image.jpg', 'image.jpg'],
    ['MYKEY', '/Iw7LZGdr-hHj2gQ4ZzksP3llQHY=/smart/image.jpg%3Fts%3D1', 'image.jpg?ts=1'],
    ['MYKEY', '/fxOHtHcTZMyuAQ1YPKh9KWg7nO8=/smart/image.jpg%23something', 'image.jpg#something'],
  ];
  test("thumbor's own handler-test vectors verify", () => {
    for (const [key, url, image] of HANDLER)
      assert.equal(parseThumbor(url, { prefix: '', keys: [key] }).key, image, url);
  });

  test('signThumbor makes what libthumbor makes; the prefix is not signed; %3D for = is accepted', () => {
    assert.equal(signThumbor(KEY, `300x200/${LIB}`), LIBTHUMBOR[0]![0]);
    assert.equal(parseThumbor(`/th${LIBTHUMBOR[0]![0]}`, { prefix: '/th', keys: [KEY] }).key, LIB);
    assert.equal(parseThumbor(LIBTHUMBOR[0]![0].replace('=/', '%3D/'), SIGNED).key, LIB);
    assert.equal(parseThumbor(`${LIBTHUMBOR[0]![0]}?cachebuster=1`, SIGNED).key, LIB);
  });

  test('rotation: any configured key verifies', () => {
    const opts = { prefix: '', keys: ['the-new-key', KEY] };
    assert.equal(parseThumbor(LIBTHUMBOR[0]![0], opts).key, LIB);
    assert.equal(parseThumbor(signThumbor('the-new-key', 'fit-in/10x10/a.jpg'), opts).key, 'a.jpg');
  });

  test('with a key: unsafe, missing, wrong and tampered are 403 bad_signature', () => {
    const url = LIBTHUMBOR[0]![0];
    rejects(`/unsafe/300x200/${LIB}`, 'bad_signature', 'unsafe', SIGNED);
    rejects(`/300x200/${LIB}`, 'bad_signature', 'signature', SIGNED);
    rejects('/alabama1_ap620%C3%A9.jpg', 'bad_signature', 'signature', SIGNED);
    rejects(url.replace('300x200', '300x201'), 'bad_signature', 'signature', SIGNED);
    rejects(url.replace('8ammJH8D', '8ammJH8E'), 'bad_signature', 'signature', SIGNED);
    rejects(url.replace('=/', '/'), 'bad_signature', 'signature', SIGNED);
    rejects(signThumbor('another-key', `300x200/${LIB}`), 'bad_signature', 'signature', SIGNED);
    rejects(`/th${url}`, 'bad_signature', 'signature', { prefix: '/th', keys: ['x'] });
    // checked before the options: a bad URL behind a bad signature is a 403, not a 400
    rejects(`${url.slice(0, 29)}/filters:brightness(1)/a.jpg`, 'bad_signature', 'signature', SIGNED);
  });

  test('without a key: unsafe works, and a signature is accepted unchecked', () => {
    assert.equal(parseThumbor(`/unsafe/300x200/${LIB}`, UNSIGNED).key, LIB);
    assert.equal(parseThumbor(signThumbor('whatever', `300x200/${LIB}`), UNSIGNED).key, LIB);
  });
});

test('KINU_THUMBOR_KEY: thumbor keys of any length, comma-separated for rotation', () => {
  assert.deepEqual(
    loadConfig({ env: { KINU_THUMBOR_KEY: 'MY_SECURE_KEY,old-key', KINU_DIALECTS: 'thumbor=/' } }).thumbor.keys,
    ['MY_SECURE_KEY', 'old-key'],
  );
  assert.deepEqual(loadConfig({ env: {} }).thumbor.keys, []);
});
