// The format table (src/formats.ts) is consistent, and every dialect's format names are looked up in it: a
// format added as a row reaches the parsers, negotiation, uploads and originals without another table.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Metadata } from 'sharp';
import { KinuError } from '../src/errors.ts';
import {
  defaultOutputFormat,
  fallbackFormat,
  FORMAT_TABLE,
  formatNamed,
  formatOfExtension,
  formatOfMetadata,
  FORMATS,
  MAX_SIDE,
  NEGOTIATED_FORMATS,
  originalContentType,
  OUTPUT_FORMATS,
  outputNamed,
  type FormatName,
} from '../src/formats.ts';
import { EXTENSIONS } from '../src/pipeline/inspect.ts';
import { acceptClass, acceptClassKey, preferences } from '../src/pipeline/negotiate.ts';
import { sourceInfo } from '../src/pipeline/pipeline.ts';
import { IMGPROXY_FORMATS, parseImgproxy } from '../src/url/imgproxy/index.ts';
import { parseNative } from '../src/url/native.ts';
import { parseThumbor, THUMBOR_FORMATS } from '../src/url/thumbor.ts';
import { parseTofu, TOFU_EXTENSIONS } from '../src/url/tofu.ts';

const NAMES = Object.keys(FORMAT_TABLE) as FormatName[];
const ROWS = NAMES.map((n) => [n, FORMAT_TABLE[n]] as const);

describe('the table', () => {
  test('names and aliases are unique lower-case spellings, each resolving to its row', () => {
    const spellings = ROWS.flatMap(([n, r]) => [n, ...r.aliases]);
    assert.equal(
      new Set(spellings).size,
      spellings.length,
      `repeated: ${spellings.filter((s, i) => spellings.indexOf(s) !== i)}`,
    );
    for (const [n, r] of ROWS) {
      for (const s of [n, ...r.aliases]) {
        assert.match(s, /^[a-z0-9]+$/);
        assert.equal(formatNamed(s), n);
        assert.equal(formatNamed(s.toUpperCase()), n);
      }
    }
  });

  test("extensions are unique and lower case; each names its row and its original's content type", () => {
    const exts = ROWS.flatMap(([, r]) => r.extensions);
    assert.equal(new Set(exts).size, exts.length, `repeated: ${exts.filter((s, i) => exts.indexOf(s) !== i)}`);
    for (const [n, r] of ROWS) {
      assert.ok(r.extensions.length > 0, n);
      for (const e of r.extensions) {
        assert.match(e, /^[a-z0-9]+$/);
        assert.equal(formatOfExtension(e), n);
        assert.equal(originalContentType(`dir.x/photo.${e.toUpperCase()}`), r.mime);
      }
    }
    assert.equal(originalContentType('notes.txt'), 'application/octet-stream');
    assert.equal(originalContentType('no-extension'), 'application/octet-stream');
  });

  test("every row has an image mime and a label; sharp's (format, compression) names one row at most", () => {
    for (const [n, r] of ROWS) {
      assert.match(r.mime, /^image\/[a-z0-9.+-]+$/, n);
      if (r.sequenceMime) assert.match(r.sequenceMime, /^image\/[a-z0-9.+-]+$/, n);
      assert.ok(r.label.length > 0, n);
    }
    const sharpNames = ROWS.flatMap(([, r]) => (r.sharp ? [`${r.sharp.format}/${r.sharp.compression ?? ''}`] : []));
    assert.equal(new Set(sharpNames).size, sharpNames.length);
  });

  test('every output has an encoder, a mime, an extension, sane limits and costs, and is read too', () => {
    assert.deepEqual(
      [...OUTPUT_FORMATS],
      NAMES.filter((n) => FORMAT_TABLE[n].write),
      'outputs in table order',
    );
    for (const f of OUTPUT_FORMATS) {
      const w = FORMATS[f];
      assert.equal(typeof w.encode, 'function', f);
      assert.equal(w.mime, FORMAT_TABLE[f].mime);
      assert.equal(w.ext, FORMAT_TABLE[f].extensions[0]);
      assert.ok(w.quality === undefined || (Number.isInteger(w.quality) && w.quality >= 1 && w.quality <= 100), f);
      assert.ok(Number.isInteger(w.maxSide) && w.maxSide > 0, f);
      assert.ok(w.cost.bytesPerPixel > 0 && w.cost.nsPerPixel > 0, f);
      assert.ok(FORMAT_TABLE[f].read, `${f} is written but not read: its own outputs could not be re-read`);
    }
    assert.ok(Number.isInteger(MAX_SIDE) && MAX_SIDE > 0);
  });

  test('defaults and fallbacks name output formats that keep what is needed', () => {
    for (const [n, r] of ROWS)
      if (r.defaultOutput !== undefined) assert.ok(outputNamed(r.defaultOutput), `${n} → ${r.defaultOutput}`);
    for (const alpha of [false, true]) {
      for (const animated of [false, true]) {
        const f = fallbackFormat({ alpha, animated });
        assert.equal(FORMAT_TABLE[f].browsers, 'all', f);
        if (alpha) assert.ok(FORMATS[f].alpha, f);
        if (animated) assert.ok(FORMATS[f].animation, f);
      }
    }
    const ranks = NEGOTIATED_FORMATS.map((f) => FORMAT_TABLE[f].browsers);
    assert.equal(new Set(ranks.map((b) => JSON.stringify(b))).size, ranks.length, 'negotiation ranks are distinct');
  });
});

describe('lookups built on the table', () => {
  test("sharp's heif is AVIF or HEIC by compression; formats outside the table stay unnamed", () => {
    assert.equal(formatOfMetadata({ format: 'heif', compression: 'av1' }), 'avif');
    assert.equal(formatOfMetadata({ format: 'heif', compression: 'hevc' }), 'heic');
    assert.equal(formatOfMetadata({ format: 'jpeg' }), 'jpeg');
    assert.equal(formatOfMetadata({ format: 'jp2' }), undefined);
    assert.equal(formatOfMetadata({}), undefined);
  });

  test('sourceInfo names the source by the table and refuses what the table does not read', () => {
    const meta = (m: Partial<Metadata>) => ({ width: 30, height: 20, ...m }) as Metadata;
    assert.equal(sourceInfo(meta({ format: 'heif', compression: 'av1' })).format, 'avif');
    assert.equal(sourceInfo(meta({ format: 'jp2' as Metadata['format'] })).format, 'jp2');
    assert.equal(sourceInfo(meta({ format: 'webp', pages: 3, pageHeight: 20, height: 60 })).frames, 3);
    assert.equal(sourceInfo(meta({ format: 'tiff', pages: 3 })).frames, 1);
    // HEVC is read (outside sharp, pipeline/foreign/): named HEIC, never AVIF.
    assert.equal(sourceInfo(meta({ format: 'heif', compression: 'hevc' })).format, 'heic');
  });

  test('without fmt, formats browsers cannot show come out as JPEG or PNG; ICO as PNG', () => {
    assert.equal(defaultOutputFormat('heic', false), 'jpeg');
    assert.equal(defaultOutputFormat('jxl', true), 'png');
    assert.equal(defaultOutputFormat('bmp', false), 'jpeg');
    assert.equal(defaultOutputFormat('ico', false), 'png');
    assert.equal(defaultOutputFormat('avif', false), 'avif');
  });

  test('uploads accept exactly the formats the table reads, under its extensions', () => {
    assert.deepEqual(
      Object.keys(EXTENSIONS),
      NAMES.filter((n) => FORMAT_TABLE[n].read),
    );
    for (const [n, exts] of Object.entries(EXTENSIONS))
      assert.deepEqual(exts, FORMAT_TABLE[n as FormatName].extensions);
  });

  test('Accept names each negotiated format by its mime; the class key lists them in rank order', () => {
    for (const f of NEGOTIATED_FORMATS) {
      const c = acceptClass(`${FORMATS[f].mime},*/*`);
      assert.equal(c[f], true, f);
      assert.equal(acceptClassKey(c), f);
      assert.equal(preferences(c, { alpha: false, animated: false })[0], f);
    }
    assert.equal(
      acceptClassKey(acceptClass(NEGOTIATED_FORMATS.map((f) => FORMATS[f].mime).join(','))),
      NEGOTIATED_FORMATS.join('+'),
    );
    assert.equal(acceptClassKey(acceptClass('image/*,*/*')), 'other');
  });
});

describe("every dialect's format names resolve through the table", () => {
  const shapes = [
    [
      'native',
      OUTPUT_FORMATS as readonly string[],
      (s: string) => parseNative(`/a.jpg?fmt=${s}`, { prefix: '', secrets: [], presets: {} }),
    ],
    [
      'imgproxy',
      IMGPROXY_FORMATS,
      (s: string) =>
        parseImgproxy(`/unsafe/f:${s}/plain/local:///a.jpg`, {
          prefix: '',
          keys: [],
          salts: [],
          signatureSize: 32,
          presets: {},
          watermark: undefined,
        }),
    ],
    [
      'thumbor',
      THUMBOR_FORMATS,
      (s: string) => parseThumbor(`/unsafe/filters:format(${s})/a.jpg`, { prefix: '', keys: [] }),
    ],
  ] as const;
  for (const [dialect, names, parse] of shapes) {
    test(`${dialect}: each name is a row; written ones parse to it, the others are refused as unwritable (thumbor: ignored)`, () => {
      for (const s of names) {
        const n = formatNamed(s);
        assert.ok(n, `${dialect}: ${s} is not in the format table`);
        const out = outputNamed(s);
        if (out) assert.equal(parse(s).transform?.format, out, `${dialect}: ${s}`);
        // thumbor's engine writes the original's format when it has no encoder for the asked one (engines/pil.py).
        else if (dialect === 'thumbor') assert.equal(parse(s).transform?.format, undefined, `${dialect}: ${s}`);
        else
          assert.throws(
            () => parse(s),
            (e: unknown) => e instanceof KinuError && e.code === 'invalid_param' && /cannot write/.test(e.detail),
            `${dialect}: ${s}`,
          );
      }
    });
  }

  test("tofu: each extension is a row's, and parses to that output format", () => {
    for (const e of TOFU_EXTENSIONS) {
      const out = outputNamed(formatOfExtension(e) ?? '');
      assert.ok(out, e);
      const t = parseTofu(`/recipes/1/750/0123456789abcdef0123456789abcdef.${e}`, {
        prefix: '',
        secrets: [],
        original: '{path}.jpg',
        presets: {},
      }).transform;
      assert.equal(t?.format, out, e);
    }
  });
});
