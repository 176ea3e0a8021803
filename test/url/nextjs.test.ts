// The nextjs dialect's parser: every URL next/image's default loader writes for Next 16.5's default config
// parses to the width asked, never enlarged, negotiated among images.formats; the refusals are Next's own
// (packages/next/src/server/image-optimizer.ts validateParams, as in test/integration/image-optimizer/test/util.ts),
// each naming the parameter.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { generate as unpicNextjs } from 'unpic/providers/nextjs';
import { ConfigError, loadConfig } from '../../src/config.ts';
import { parseNextjs, type NextjsDialectOptions } from '../../src/url/nextjs/index.ts';
import { NEXT_DEVICE_SIZES, NEXT_IMAGE_SIZES, NEXT_QUALITIES } from '../../src/url/nextjs/settings.ts';
import { rejectsKinu } from '../helpers.ts';

const O: NextjsDialectOptions = {
  prefix: '/_next/image',
  widths: [...NEXT_DEVICE_SIZES, ...NEXT_IMAGE_SIZES],
  qualities: [...NEXT_QUALITIES],
  formats: ['webp'],
  http: undefined,
  s3: undefined,
};
const ALL_SIZES = [...NEXT_DEVICE_SIZES, ...NEXT_IMAGE_SIZES].sort((a, b) => a - b);

/** next/image's default loader, Next 16.5: packages/next/src/shared/lib/image-loader.ts (defaultLoader) with
 *  find-closest-quality.ts, for a config of `images.path` and `images.qualities`. */
function nextLoader(src: string, width: number, quality?: number, path = '/_next/image', qualities = [75]): string {
  const q0 = quality || 75;
  const q = qualities.reduce((prev, cur) => (Math.abs(cur - q0) < Math.abs(prev - q0) ? cur : prev), qualities[0]!);
  return `${path}?url=${encodeURIComponent(src)}&w=${width}&q=${q}`;
}

/** The widths next/image asks for (packages/next/src/shared/lib/get-img-props.ts getWidths). */
function nextWidths(width: number | undefined, sizes?: string): number[] {
  if (sizes) {
    const pct = [...sizes.matchAll(/(^|\s)(1?\d?\d)vw/g)].map((m) => Number.parseInt(m[2]!, 10));
    if (pct.length) return ALL_SIZES.filter((s) => s >= NEXT_DEVICE_SIZES[0] * Math.min(...pct) * 0.01);
    return ALL_SIZES;
  }
  if (width === undefined) return [...NEXT_DEVICE_SIZES];
  return [...new Set([width, width * 2].map((w) => ALL_SIZES.find((p) => p >= w) ?? ALL_SIZES.at(-1)!))];
}

const parse = (url: string, o: Partial<NextjsDialectOptions> = {}) => parseNextjs(url, { ...O, ...o });

describe("next/image's default loader", () => {
  test('every default width at the default quality: that width, format auto among WebP, source fallback', () => {
    for (const w of ALL_SIZES) {
      const { key, transform: t, disposition } = parse(nextLoader('/photos/hato-pigeons.jpg', w));
      assert.equal(key, 'photos/hato-pigeons.jpg');
      assert.equal(t?.width, w);
      assert.equal(t?.height, undefined);
      assert.equal(t?.enlarge, false, 'Next never enlarges (withoutEnlargement)');
      assert.equal(t?.format, 'auto');
      assert.deepEqual(t?.autoFormats, ['webp']);
      assert.equal(t?.autoFallback, 'source');
      assert.equal(t?.nextjs, 'as-is', 'animations served as they are');
      // Next's sharp.ts: AVIF at round(75 × 50/80) = 47, the others at 75.
      assert.deepEqual(t?.formatQuality, [
        ['avif', 47],
        ['jpeg', 75],
        ['webp', 75],
      ]);
      assert.deepEqual(disposition, { type: 'attachment', stem: 'hato-pigeons' });
    }
  });

  test('the layouts: fixed (1x, 2x), fill with sizes, responsive; any quality prop lands on an allowed q', () => {
    const cases: [number | undefined, string | undefined, number[]][] = [
      [300, undefined, [384, 640]],
      [64, undefined, [64, 128]],
      [undefined, undefined, [...NEXT_DEVICE_SIZES]],
      [undefined, '100vw', [...NEXT_DEVICE_SIZES]],
      [undefined, '(max-width: 768px) 100vw, 33vw', ALL_SIZES.filter((s) => s >= 640 * 0.33)],
    ];
    for (const [width, sizes, expected] of cases) {
      const widths = nextWidths(width, sizes);
      assert.deepEqual(widths, expected);
      for (const w of widths)
        for (const quality of [undefined, 50, 90, 100]) {
          const t = parse(nextLoader('/a/b c/ü.png', w, quality)).transform;
          assert.equal(t?.width, w);
          assert.equal(parse(nextLoader('/a/b c/ü.png', w, quality)).key, 'a/b c/ü.png');
        }
    }
  });

  test('configured images.path and images.qualities, as the loader then writes them', () => {
    const o = { prefix: '/img', qualities: [50, 80] };
    const t = parse(nextLoader('/x.jpg', 640, 90, '/img', [50, 80]), o).transform;
    assert.deepEqual(
      t?.formatQuality?.find(([f]) => f === 'webp'),
      ['webp', 80],
    );
    assert.deepEqual(
      t?.formatQuality?.find(([f]) => f === 'avif'),
      ['avif', 50],
    );
  });

  test("the loader's &dpl= deployment id and a query inside a relative url are ignored, as Next ignores them", () => {
    assert.equal(parse(`${nextLoader('/x.jpg', 640)}&dpl=dpl_abc`).transform?.width, 640);
    assert.equal(parse(nextLoader('/x.jpg?v=3#f', 640)).key, 'x.jpg');
  });

  test('trailingSlash: true makes the loader write the path with a slash (next/dist/server/config.js); other paths are 404s', () => {
    assert.equal(parse(nextLoader('/x.jpg', 640, 75, '/_next/image/')).transform?.width, 640);
    rejectsKinu(() => parse('/_next/image/x.jpg?url=/x.jpg&w=640&q=75'), 'not_found', 'path');
    rejectsKinu(() => parse('/_next/imagex?url=/x.jpg&w=640&q=75'), 'not_found', 'path');
  });

  test("unpic's nextjs provider (unpic 4.2.2, src/providers/nextjs.ts)", () => {
    const url = unpicNextjs('/photos/hato-pigeons.jpg', { width: 828 });
    assert.match(url, /^\/_next\/image\?/);
    const { key, transform } = parse(url);
    assert.equal(key, 'photos/hato-pigeons.jpg');
    assert.equal(transform?.width, 828);
  });

  test('KINU_ORIGINALS deny or signed: animations are resized, not served as the original', () => {
    for (const originals of ['deny', 'signed'] as const)
      assert.equal(parse(nextLoader('/x.gif', 640), { originals }).transform?.nextjs, 'resized');
    assert.equal(parse(nextLoader('/x.gif', 640), { originals: 'allow' }).transform?.nextjs, 'as-is');
  });

  test('images.formats avif then webp', () => {
    assert.deepEqual(parse(nextLoader('/x.jpg', 640), { formats: ['avif', 'webp'] }).transform?.autoFormats, [
      'avif',
      'webp',
    ]);
  });
});

describe('the url parameter', () => {
  const H = { http: { base: 'https://cdn.example.com/images/' } };
  test("absolute URLs under kinu's HTTP origin (Next's remotePatterns role) name a key", () => {
    assert.equal(parse(nextLoader('https://cdn.example.com/images/a/b.jpg', 640), H).key, 'a/b.jpg');
    assert.equal(parse(nextLoader('https://CDN.example.com:443/images/a/%C3%BC.jpg', 640), H).key, 'a/ü.jpg');
  });
  test('a host outside it is a 400 "not allowed", as Next answers a host outside remotePatterns', () => {
    // util.ts: 'should fail when domain is not defined in next.config.js'
    rejectsKinu(() => parse(nextLoader('http://vercel.com/button', 640), H), 'invalid_param', 'url');
    rejectsKinu(() => parse(nextLoader('http://vercel.com/button', 640)), 'invalid_param', 'url');
    assert.throws(() => parse(nextLoader('http://vercel.com/button', 640)), /"url" parameter is not allowed/);
  });
  test("Next's refusals of url", () => {
    const cases: [string, RegExp][] = [
      ['/_next/image?w=640&q=75', /"url" parameter is required/], // util.ts 'should fail when url is missing'
      ['/_next/image?url=&w=640&q=75', /"url" parameter is required/],
      ['/_next/image?url=/a.jpg&url=/b.jpg&w=640&q=75', /cannot be an array/],
      [nextLoader('//example.com/a.jpg', 640), /protocol-relative URL/],
      [nextLoader('/_next/image?url=/a.jpg&w=640&q=75', 640), /cannot be recursive/],
      [nextLoader('/%5Fnext/image', 640), /cannot be recursive/],
      [nextLoader('file://localhost/test.png', 640), /"url" parameter is invalid/], // 'should fail when url has file protocol'
      [nextLoader('ftp://localhost/test.png', 640), /"url" parameter is invalid/], // 'should fail when url has ftp protocol'
      [nextLoader('not a url', 640), /"url" parameter is invalid/],
      [nextLoader(`/${'a'.repeat(3072)}`, 640), /too long/],
    ];
    for (const [url, message] of cases) {
      rejectsKinu(() => parse(url), 'invalid_param', 'url', url.slice(0, 80));
      assert.throws(() => parse(url), message, url.slice(0, 80));
    }
  });
  test('dot segments are refused as every key is', () => {
    rejectsKinu(() => parse(nextLoader('/a/../../etc/passwd', 640)), 'invalid_key');
  });
});

describe('w and q', () => {
  // Each from util.ts, with Next 16.5's messages (validateParams); the url is checked first, as in Next.
  const cases: [string, string, RegExp][] = [
    ['url=/test.png&q=75', 'w', /^w: "w" parameter \(width\) is required$/],
    ['url=/test.png&w=640', 'q', /^q: "q" parameter \(quality\) is required$/],
    ['url=/test.png&w=640&w=750&q=75', 'w', /cannot be an array/],
    ['url=/test.png&w=640&q=75&q=75', 'q', /cannot be an array/],
    ['url=/test.png&w=0&q=75', 'w', /must be an integer greater than 0/],
    ['url=/test.png&w=-100&q=75', 'w', /must be an integer greater than 0/],
    ['url=/test.png&w=foo&q=75', 'w', /must be an integer greater than 0/],
    ['url=/test.png&w=640.5&q=75', 'w', /must be an integer greater than 0/],
    ['url=/test.png&w=1000&q=75', 'w', /"w" parameter \(width\) of 1000 is not allowed; allowed: /],
    ['url=/test.png&w=8&q=70', 'w', /of 8 is not allowed/], // the blur placeholder size: dev only in Next
    ['url=/test.png&w=640&q=101', 'q', /must be an integer between 1 and 100/],
    ['url=/test.png&w=640&q=0', 'q', /must be an integer between 1 and 100/],
    ['url=/test.png&w=640&q=foo', 'q', /must be an integer between 1 and 100/],
    ['url=/test.png&w=640&q=80', 'q', /"q" parameter \(quality\) of 80 is not allowed; allowed: 75$/],
    ['url=/test.png&w=1000&q=80', 'w', /of 1000 is not allowed/],
  ];
  for (const [query, part, message] of cases)
    test(query, () => {
      rejectsKinu(() => parse(`/_next/image?${query}`), 'invalid_param', part);
      assert.throws(
        () => parse(`/_next/image?${query}`),
        (e: Error & { detail?: string }) => message.test(e.detail!),
      );
    });
  test('a leading zero is the same number, as parseInt reads it', () => {
    assert.equal(parse('/_next/image?url=/a.jpg&w=0640&q=075').transform?.width, 640);
  });
  test('configured widths and qualities replace the defaults', () => {
    const o = { widths: [100, 200], qualities: [40, 90] };
    assert.equal(parse('/_next/image?url=/a.jpg&w=200&q=40', o).transform?.width, 200);
    rejectsKinu(() => parse('/_next/image?url=/a.jpg&w=640&q=40', o), 'invalid_param', 'w');
    rejectsKinu(() => parse('/_next/image?url=/a.jpg&w=200&q=75', o), 'invalid_param', 'q');
  });
});

describe('settings', () => {
  test("defaults are Next 16's; lists parse; a bad value names its setting", () => {
    const d = loadConfig({ env: {} }).nextjs;
    assert.deepEqual(d.widths, [32, 48, 64, 96, 128, 256, 384, 640, 750, 828, 1080, 1200, 1920, 2048, 3840]);
    assert.deepEqual(d.qualities, [75]);
    assert.deepEqual(d.formats, ['webp']);
    const c = loadConfig({
      env: {
        KINU_NEXTJS_WIDTHS: '100, 200',
        KINU_NEXTJS_QUALITIES: '50,75',
        KINU_NEXTJS_FORMATS: 'image/avif,image/webp',
      },
    }).nextjs;
    assert.deepEqual(
      [c.widths, c.qualities, c.formats],
      [
        [100, 200],
        [50, 75],
        ['avif', 'webp'],
      ],
    );
    for (const [name, value] of [
      ['KINU_NEXTJS_FORMATS', 'image/png'],
      ['KINU_NEXTJS_WIDTHS', '100,abc'],
      ['KINU_NEXTJS_QUALITIES', '101'],
    ] as const)
      assert.throws(
        () => loadConfig({ env: { [name]: value } }),
        (e: Error) => e instanceof ConfigError && e.message.includes(name),
        name,
      );
  });
});
