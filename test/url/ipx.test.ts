// The ipx dialect as tables: URL → key + Transform, checked against the native transform of the same meaning
// (plus the black background sharp uses by default); the path rules of ipx's server.ts (unjs/ipx v3.1.1,
// src/server.ts: MODIFIER_SEP /[&,]/, MODIFIER_VAL_SEP /[:=_]/, `_` for none); what ipx ignores; and what
// is refused, naming the modifier. Pixels are compared with ipx itself in test/http/ipx.test.ts.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ErrorCode } from '../../src/errors.ts';
import type { Transform } from '../../src/transform.ts';
import { parseIpx, type IpxDialectOptions } from '../../src/url/ipx/index.ts';
import { parseNative } from '../../src/url/native.ts';
import { rejectsKinu } from '../helpers.ts';

const OPTS: IpxDialectOptions = { prefix: '/_ipx' };
const BLACK = { r: 0, g: 0, b: 0, alpha: 1 };

const parse = (url: string, o = OPTS) => parseIpx(url, o);
function native(query: string, extra: Partial<Transform> = {}): Transform {
  const t = parseNative(`/x.jpg?${query}`, { prefix: '', secrets: [], presets: {} }).transform;
  assert.ok(t);
  return { ...t, background: BLACK, ...extra };
}
function rejects(url: string, code: ErrorCode, part: string, o = OPTS): void {
  rejectsKinu(() => parse(url, o), code, part, url);
}

describe('ipx dialect: URL → Transform', () => {
  // [ipx modifiers, native query, extra Transform fields]
  const TABLE: [string, string, Partial<Transform>?][] = [
    ['w_200', 'w=200'],
    ['width_200', 'w=200'],
    ['w:200', 'w=200'],
    ['w=200', 'w=200'],
    ['h_150', 'h=150'],
    ['w_200&enlarge', 'w=200&enlarge=1'],
    // sharp's resize() replaces the previous call; ipx calls them by name: h, height, resize, s, w, width.
    ['w_200&h_100', 'w=200'],
    ['h_100&w_200', 'w=200'],
    ['height_100&h_50', 'h=100'],
    ['s_300x100&w_80', 'w=80'],
    ['s_0x100&h_40', 'h=40'],
    // s: cover by default, the box held within the original unless `enlarge`, and a crop may grow to it
    ['s_200x100', 'w=200&h=100&fit=cover&enlarge=1', { boxInSource: true }],
    ['s_200', 'w=200&h=200&fit=cover&enlarge=1', { boxInSource: true }],
    ['s_200x100&enlarge', 'w=200&h=100&fit=cover&enlarge=1'],
    [
      'resize_200x100&fit_contain&b_ff0000',
      'w=200&h=100&fit=contain&enlarge=1',
      {
        boxInSource: true,
        background: { r: 255, g: 0, b: 0, alpha: 1 },
      },
    ],
    ['s_200x100&fit_inside', 'w=200&h=100&fit=inside&enlarge=1', { boxInSource: true }],
    ['s_200x100&pos_top', 'w=200&h=100&pos=top&enlarge=1', { boxInSource: true }],
    ['s_200x100&position_left%20top', 'w=200&h=100&pos=top-left&enlarge=1', { boxInSource: true }],
    ['s_200x100&pos_northeast', 'w=200&h=100&pos=top-right&enlarge=1', { boxInSource: true }],
    ['s_200x100&pos_attention', 'w=200&h=100&pos=attention&enlarge=1', { boxInSource: true }],
    ['s_200x100&pos_3', 'w=200&h=100&pos=bottom&enlarge=1', { boxInSource: true }],
    ['s_200x100&pos_16', 'w=200&h=100&pos=entropy&enlarge=1', { boxInSource: true }],
    ['s_200x100&kernel_lanczos3', 'w=200&h=100&enlarge=1', { boxInSource: true }],
    // sharp cuts after mirroring and rotating: the position names a side of the output
    ['rotate_180&s_200x100&pos_top', 'w=200&h=100&pos=bottom&rot=180&enlarge=1', { boxInSource: true }],
    ['rotate_90&s_200x100&pos_left', 'w=200&h=100&pos=bottom&rot=90&enlarge=1', { boxInSource: true }],
    ['flip&s_200x100&pos_top', 'w=200&h=100&pos=bottom&flip=v&enlarge=1', { boxInSource: true }],
    // ipx mirrors, then rotates; kinu rotates, then mirrors
    ['flip&rotate_90&w_100', 'w=100&rot=90&flip=h'],
    ['flop&rotate_270&w_100', 'w=100&rot=270&flip=v'],
    ['flop&rotate_180&w_100', 'w=100&rot=180&flip=h'],
    ['flip&flop&rotate_90&w_100', 'w=100&rot=90&flip=hv'],
    ['rotate_-90&w_100', 'w=100&rot=270'],
    ['rotate_450', 'rot=90'],
    ['crop_10_20_300_200&w_100', 'crop=10,20,300,200&w=100'],
    ['extract_10_20_300_200', 'crop=10,20,300,200'],
    ['extend_1_2_3_4&w_100', 'pad=1,2,3,4&w=100'],
    ['extend_5', 'pad=5,0,0,0'],
    ['extend_5_5_5_5&b_white', 'pad=5', { background: { r: 255, g: 255, b: 255, alpha: 1 } }],
    ['blur_2.5', 'blur=2.5'],
    ['sharpen_1.5', 'sharpen=1.5'],
    ['sharpen_1.5_1_2', 'sharpen=1.5'],
    ['grayscale', 'gray=1'],
    ['trim_20', 'trim=20'],
    ['trim', 'trim=10'],
    ['flatten', 'anim=1', { flattenAlways: true }],
    ['flatten&b_%23336699', 'anim=1', { flattenAlways: true, background: { r: 0x33, g: 0x66, b: 0x99, alpha: 1 } }],
    ['q_70&w_100', 'q=70&w=100'],
    ['quality_70&q_60', 'q=60'],
    ['f_webp', 'fmt=webp&anim=0'],
    ['format_jpg', 'fmt=jpeg&anim=0'],
    ['f_gif', 'fmt=gif'],
    ['f_webp&a', 'fmt=webp'],
    ['f_png&animated_false', 'fmt=png'],
    ['f_auto&w_100', 'fmt=auto&w=100&anim=0', { autoFormats: ['avif', 'webp'], autoFallback: 'source' }],
    ['f_auto&a', 'fmt=auto', { autoFormats: ['webp'], autoFallback: 'source' }],
    // what ipx ignores: unknown names, unknown formats, fit/pos/b/kernel without s
    ['w_100&foo_bar&_&', 'w=100'],
    ['f_jxl&w_100', 'w=100'],
    ['w_100&fit_bogus&pos_nowhere&b_nocolour&kernel_cubic', 'w=100'],
    // sharp's own operations, arguments as ipx's handlers pass them (gamma's out defaults to its in)
    ['w_100&gamma_2.2', 'w=100', { sharpOps: { gamma: [2.2, 2.2] } }],
    ['w_100&gamma_1_3', 'w=100', { sharpOps: { gamma: [1, 3] } }],
    ['w_100&median_5_9', 'w=100', { sharpOps: { median: 5 } }],
    ['w_100&threshold_0', 'w=100', { sharpOps: { threshold: 0 } }],
    ['w_100&normalize_1_50', 'w=100', { sharpOps: { normalise: true } }],
    ['negate&w_100&tint_%23ff800080', 'w=100', { sharpOps: { negate: true, tint: [255, 128, 0] } }],
    ['w_100&tint_rebeccapurple', 'w=100', { sharpOps: { tint: [102, 51, 153] } }],
    ['w_100&tint_transparent', 'w=100', { sharpOps: { tint: [0, 0, 0] } }],
    // the kernel goes with s, and stays when a later w replaces the size
    ['s_200x100&kernel_nearest', 'w=200&h=100&enlarge=1', { boxInSource: true, kernel: 'nearest' }],
    ['s_200x100&kernel_mks2021&w_80', 'w=80', { kernel: 'mks2021' }],
  ];
  for (const [mods, query, extra] of TABLE) {
    test(`/_ipx/${mods}/a.jpg ≡ ?${query}`, () => {
      const r = parse(`/_ipx/${mods}/a.jpg`);
      assert.equal(r.key, 'a.jpg');
      assert.deepEqual(r.transform, native(query, extra));
    });
  }

  test('`_`, and modifiers ipx acts on with nothing to do, serve the original', () => {
    assert.equal(parse('/_ipx/_/a.jpg').transform, null);
    assert.equal(parse('/_ipx/enlarge&fit_contain&foo/a.jpg').transform, null);
    // an operation alone is not the original
    assert.deepEqual(parse('/_ipx/negate/a.jpg').transform?.sharpOps, { negate: true });
  });

  test('the id: a key (percent-decoded once; a cache-busting query dropped) or a URL under the HTTP origin', () => {
    assert.equal(parse('/_ipx/w_100/photos/a%20b.jpg').key, 'photos/a b.jpg');
    assert.equal(parse('/_ipx/w_100//photos/a.jpg?v=3').key, 'photos/a.jpg');
    const http = { ...OPTS, http: { base: 'https://origin.example/images/' } };
    assert.equal(parse('/_ipx/w_100/https://origin.example/images/x/a.jpg', http).key, 'x/a.jpg');
    // a proxy that merged `//` leaves one slash; ipx still reads a URL
    assert.equal(parse('/_ipx/w_100/https:/origin.example/images/a.jpg', http).key, 'a.jpg');
    assert.equal(parse('/_ipx/w_100/https%3A%2F%2Forigin.example%2Fimages%2Fa.jpg', http).key, 'a.jpg');
    rejects('/_ipx/w_100/https://elsewhere.example/a.jpg', 'not_found', 'id', http);
    rejects('/_ipx/w_100/https://origin.example/images/a.jpg', 'not_found', 'id');
  });
});

describe('ipx dialect: refusals name the modifier', () => {
  const REFUSED: [string, ErrorCode, string][] = [
    // ipx 3.1 fails on every modulate (sharp rejects the undefined saturation it passes)
    ['modulate_1.2', 'invalid_param', 'modulate'],
    ['modulate_1.2_1_90', 'invalid_param', 'modulate'],
    // gamma's darkening comes before the resize in sharp; kinu turns the resized image before it
    ['gamma_2&rotate_90&w_100', 'invalid_param', 'gamma'],
    ['gamma_2&flop', 'invalid_param', 'gamma'],
    ['s_100x100&kernel_bogus', 'invalid_param', 'kernel'],
    ['f_tiff', 'invalid_param', 'f'],
    ['f_heif', 'invalid_param', 'f'],
    ['rotate_45', 'invalid_param', 'rotate'],
    ['sharpen_1_2_3', 'invalid_param', 'sharpen'],
    ['crop_0_0_100_100&rotate_90&w_50', 'invalid_param', 'crop'],
    ['crop_0_0_10_10&extract_0_0_10_10', 'invalid_param', 'extract'],
    // what sharp itself refuses (ipx answers 500)
    ['w_0', 'invalid_param', 'w'],
    ['w_abc', 'invalid_param', 'w'],
    ['width_10.5', 'invalid_param', 'width'],
    ['h_-1', 'invalid_param', 'h'],
    ['s_10.5x10', 'invalid_param', 's'],
    ['s_100x100&fit_bogus', 'invalid_param', 'fit'],
    ['s_100x100&pos_nowhere', 'invalid_param', 'pos'],
    ['s_100x100&b_nocolour', 'invalid_param', 'b'],
    ['extend_a', 'invalid_param', 'extend'],
    ['crop_0_0_0_10', 'invalid_param', 'crop'],
    ['crop_1_2_3', 'invalid_param', 'crop'],
    ['blur', 'invalid_param', 'blur'],
    ['blur_500', 'invalid_param', 'blur'],
    ['sharpen', 'invalid_param', 'sharpen'],
    ['rotate', 'invalid_param', 'rotate'],
    ['q_0', 'invalid_param', 'q'],
    ['quality_101', 'invalid_param', 'quality'],
    ['gamma', 'invalid_param', 'gamma'],
    ['gamma_0.9', 'invalid_param', 'gamma'],
    ['gamma_2_3.5', 'invalid_param', 'gamma'],
    ['gamma_2_', 'invalid_param', 'gamma'],
    ['median', 'invalid_param', 'median'],
    ['median_2.5', 'invalid_param', 'median'],
    ['median_1001', 'invalid_param', 'median'],
    ['threshold', 'invalid_param', 'threshold'],
    ['threshold_-1', 'invalid_param', 'threshold'],
    ['tint', 'invalid_param', 'tint'],
    ['tint_ff0000', 'invalid_param', 'tint'],
    ['tint_beef', 'invalid_param', 'tint'],
    ['tint_Red', 'invalid_param', 'tint'],
    ['tint_%23ff00f', 'invalid_param', 'tint'],
  ];
  for (const [mods, code, part] of REFUSED) {
    test(`/_ipx/${mods}/a.jpg → ${code} naming ${part}`, () => rejects(`/_ipx/${mods}/a.jpg`, code, part));
  }
  test('the path: modifiers and id are both required; keys cannot climb out', () => {
    rejects('/_ipx//a.jpg', 'invalid_param', 'modifiers');
    rejects('/_ipx/w_100', 'invalid_key', 'id');
    rejects('/_ipx/w_100/', 'invalid_key', 'id');
    rejects('/_ipx/w_100/../secret.jpg', 'invalid_key', 'key');
    rejects('/_ipx/w_100/a/%2e%2e/b.jpg', 'invalid_key', 'key');
    rejects('/other/w_100/a.jpg', 'invalid_param', 'path');
  });
});
