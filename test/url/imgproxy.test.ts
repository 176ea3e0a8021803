// The imgproxy dialect as tables: real imgproxy URLs (from imgproxy's docs and its parser tests, with the
// source moved to local:///) → the Transform of the equivalent native URL; errors and the part they name;
// the signature vectors imgproxy publishes.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { rejectsKinu as rejects } from '../helpers.ts';
import { ConfigError, loadConfig } from '../../src/config.ts';
import type { KinuError, ErrorCode } from '../../src/errors.ts';
import { canonicalKey, type ImgproxyGeometry, type Transform } from '../../src/transform.ts';
import { parseImgproxy, parseImgproxyPresets, type ImgproxyDialectOptions } from '../../src/url/imgproxy/index.ts';
import { imgproxySignature, signImgproxyPath, verifyImgproxySignature } from '../../src/url/imgproxy/sign.ts';
import { parseNative } from '../../src/url/native.ts';

const NOW = Date.UTC(2025, 0, 1);
const OPTS: ImgproxyDialectOptions = {
  prefix: '',
  keys: [],
  salts: [],
  signatureSize: 32,
  // The presets of imgproxy's docs (sharp, blurry) and of its parser tests (test1, test2).
  presets: parseImgproxyPresets(
    'sharp=sharpen:0.7,blurry=blur:2,test1=resizing_type:fill/width:100,test2=height:50/quality:70',
  ),
  watermark: 'logo.png',
  now: () => NOW,
};

const b64 = (s: string) => Buffer.from(s).toString('base64url');
/** The base64url source split into 16-character chunks, as imgproxy's docs write it. */
const b64split = (s: string) =>
  b64(s)
    .match(/.{1,16}/g)!
    .join('/');

function parse(path: string, opts: ImgproxyDialectOptions = OPTS) {
  return parseImgproxy(path, opts);
}

/** imgproxy's default qualities (processing/config.go) where they are not kinu's: every URL without `q` has them. */
const IMGPROXY_QUALITIES = { avif: 63, jxl: 77, webp: 79 } as const;

/** The native URL's Transform, with imgproxy's default quality for its format (or all of them) when `q` is unset. */
function nativeTransform(query: string): Transform {
  const t = parseNative(`/a.jpg?${query}`, { prefix: '', secrets: [], presets: {} }).transform;
  assert.ok(t);
  if (t.quality !== undefined) return t;
  if (t.format === undefined || t.format === 'auto' || t.format === 'best')
    return { ...t, formatQuality: Object.entries(IMGPROXY_QUALITIES) as [never, number][] };
  const q = (IMGPROXY_QUALITIES as Record<string, number>)[t.format];
  return q === undefined ? t : { ...t, quality: q };
}

const A = 'plain/local:///a.jpg';
// `enlarge=0` is the native way to ask for the identity transform (no params would be the original bytes).
const IDENTITY_Q = 'enlarge=0';

// imgproxy path after the signature → equivalent native query (same canonical Transform, so same bytes and ETag).
/** What imgproxy's geometry holds when no option changes it. */
const NO_GEOMETRY: ImgproxyGeometry = {
  width: 0,
  height: 0,
  rt: 'fit',
  dpr: 1,
  enlarge: false,
  zoom: [1, 1],
  minWidth: 0,
  minHeight: 0,
  crop: undefined,
  gravity: ['ce', 0, 0],
  extend: undefined,
  extendAr: undefined,
  padding: undefined,
};

// imgproxy path after the signature → equivalent native query (same canonical Transform, so same bytes and ETag);
// with a third element, where the native box cannot say what imgproxy does whatever the source's size: the
// native query of the rest, and the imgproxy geometry carried beside it (planned by pipeline/imgproxy-geometry.ts);
// with a fourth, the imgproxy-only fields beside them (flatten onto bg, the watermark's placement).
const EQUIVALENT: [string, string, Partial<ImgproxyGeometry>?, Partial<Transform>?][] = [
  // docs, usage/processing "Example" (source made local): long names, short names, base64 source
  [
    `preset:sharp/resize:fill:300:400:0/gravity:sm/${A}@png`,
    'sharpen=0.7&fmt=png',
    { rt: 'fill', width: 300, height: 400, gravity: ['sm', 0, 0] },
  ],
  [
    `pr:sharp/rs:fill:300:400:0/g:sm/${A}@png`,
    'sharpen=0.7&fmt=png',
    { rt: 'fill', width: 300, height: 400, gravity: ['sm', 0, 0] },
  ],
  [
    `pr:sharp/rs:fill:300:400:0/g:sm/${b64split('local:///a.jpg')}.png`,
    'sharpen=0.7&fmt=png',
    { rt: 'fill', width: 300, height: 400, gravity: ['sm', 0, 0] },
  ],
  // docs, image_sources/local_files
  [`rs:fit:300:200/${A}@jpg`, 'w=300&h=200&fit=inside&fmt=jpeg'],
  // docs, presets: blurry
  [`pr:blurry/${A}`, 'blur=2'],
  // imgproxy's parser tests (options/parser/processing_options_test.go)
  [`size:100:100/${b64('local:///a.jpg')}.png`, 'w=100&h=100&fit=inside&fmt=png'],
  [`size:100:100/${A}@png`, 'w=100&h=100&fit=inside&fmt=png'],
  [`format:webp/${A}`, 'fmt=webp'],
  [`resize:fill:100:200:1/${A}`, 'w=100&h=200&fit=cover&enlarge=1'],
  [`resizing_type:fill/${A}`, IDENTITY_Q],
  [`size:100:200:1/${A}`, 'w=100&h=200&fit=inside&enlarge=1'],
  [`width:100/${A}`, 'w=100'],
  [`height:100/${A}`, 'h=100'],
  [`enlarge:1/${A}`, IDENTITY_Q],
  [`rs:fit:300:200/extend:1:so/${A}`, IDENTITY_Q, { width: 300, height: 200, extend: ['so', 0, 0] }],
  [`rs:fill:300:200/gravity:soea/${A}`, IDENTITY_Q, { rt: 'fill', width: 300, height: 200, gravity: ['soea', 0, 0] }],
  [
    `rs:fill:300:200/gravity:fp:0.5:0.75/${A}`,
    IDENTITY_Q,
    { rt: 'fill', width: 300, height: 200, gravity: ['fp', 0.5, 0.75] },
  ],
  [`crop:100:200:nowe:10:20/${A}`, IDENTITY_Q, { crop: [100, 200, ['nowe', 10, 20]] }],
  [`quality:55/${A}`, 'q=55'],
  [`background:128:129:130/${A}`, 'bg=808182', undefined, { flattenAlways: true }],
  [`background:ffddee/${A}`, 'bg=ffddee', undefined, { flattenAlways: true }],
  [`background:fff/background:/${A}`, IDENTITY_Q],
  [`dpr:2/${A}`, IDENTITY_Q, { dpr: 2 }],
  [
    `watermark:0.5:soea:0:0:0.6/${A}`,
    'wm=logo.png&wm_opacity=0.5',
    {},
    { watermarkImgproxy: { position: 'soea', x: 0, y: 0, scale: 0.6 } },
  ],
  [`preset:test1:test2/${A}`, 'q=70', { rt: 'fill', width: 100, height: 50 }],
  [`preset:test1/quality:70/${A}`, 'w=100&q=70'],
  [`cachebuster:123/${A}`, IDENTITY_Q],
  [`strip_metadata:true/${A}`, IDENTITY_Q],
  [`width:150/dpr:3.0/${A}@png`, 'w=150&dpr=3&fmt=png'],
  [`exp:32503669200/${A}`, IDENTITY_Q],
  // resizing types
  [`rs:force:300:200/${A}`, IDENTITY_Q, { rt: 'force', width: 300, height: 200 }],
  // README's table: these stay native whatever the original's size
  [`rs:fill:300:200:1/q:70/${A}`, 'w=300&h=200&fit=cover&enlarge=1&q=70'],
  [`w:150/dpr:2/${A}`, 'w=150&dpr=2'],
  [`rs:force:300:200:1/${A}`, 'w=300&h=200&fit=fill&enlarge=1'],
  [`rs:auto:300/${A}`, 'w=300'],
  [`rs:fill-down:300:200/${A}`, 'w=300&h=200&fit=cover'],
  [`rs:auto:300/${A}`, 'w=300'],
  [`rt:fit/w:300/h:200/g:so/${A}`, 'w=300&h=200&fit=inside'],
  [`exar:1/rs:fit:300:200/${A}`, IDENTITY_Q, { width: 300, height: 200, extendAr: ['ce', 0, 0] }],
  [`rs:fit:300:200:0:1:noea/${A}`, IDENTITY_Q, { width: 300, height: 200, extend: ['noea', 0, 0] }],
  [`s:300:200:1:1/${A}`, IDENTITY_Q, { width: 300, height: 200, enlarge: true, extend: ['ce', 0, 0] }],
  [`rs:fill:300:200/ex:1/${A}`, IDENTITY_Q, { rt: 'fill', width: 300, height: 200, extend: ['ce', 0, 0] }],
  [`w:300/h:0/${A}`, 'w=300'],
  // with rot/fl imgproxy plans in the turned orientation: its geometry, as given, beside the native turn
  [`rt:fill/w:300/h:200/rot:90/g:no/${A}`, 'rot=90', { rt: 'fill', width: 300, height: 200, gravity: ['no', 0, 0] }],
  [`rt:fill/s:300:200/fl:t:t/g:noea/${A}`, 'flip=hv', { rt: 'fill', width: 300, height: 200, gravity: ['noea', 0, 0] }],
  [`rs:fit:300:200/ex:1:no/rot:90/${A}`, 'fit=contain&rot=90', { width: 300, height: 200, extend: ['no', 0, 0] }],
  [`rs:fill:300:200/g:no:10:0/rot:90/${A}`, 'rot=90', { rt: 'fill', width: 300, height: 200, gravity: ['no', 10, 0] }],
  [`c:0.5:0.5/rot:90/${A}`, 'rot=90', { crop: [0.5, 0.5, ['ce', 0, 0]] }],
  [`zoom:2/fl:1/${A}`, 'flip=h', { zoom: [2, 2] }],
  // only what cuts nothing stays native with a turn
  [`rs:fit:300:200/rot:90/${A}`, 'w=300&h=200&fit=inside&rot=90'],
  [`rot:450/${A}`, 'rot=90'],
  [`fl::1/${A}`, 'flip=v'],
  // padding: CSS order, missing sides copied as imgproxy does, scaled by dpr (half to even)
  [`pd:10/${A}`, 'pad=10'],
  [`pd:10:20/${A}`, 'pad=10,20,10,20'],
  [`pd:1:2:3/${A}`, 'pad=1,2,3,2'],
  [`padding:1:2:3:4/${A}`, 'pad=1,2,3,4'],
  [`pd:5/dpr:2/w:100/${A}`, IDENTITY_Q, { width: 100, dpr: 2, padding: [5, 5, 5, 5] }],
  [`pd:3/dpr:1.5/w:100/${A}`, IDENTITY_Q, { width: 100, dpr: 1.5, padding: [3, 3, 3, 3] }],
  [`pd:0/${A}`, IDENTITY_Q],
  // the rest, one each
  [`t:10/${A}`, 'trim=10'],
  [`trim:0::f:false/${A}`, 'trim=0'],
  [`pix:8/${A}`, 'pixelate=8'],
  [`pix:1/${A}`, IDENTITY_Q],
  [`bl:0/${A}`, IDENTITY_Q],
  [`sh:0.5/${A}`, 'sharpen=0.5'],
  [`q:0/${A}`, IDENTITY_Q],
  [`ar:1/sm:t/${A}`, IDENTITY_Q],
  [`f:jpeg/${A}`, 'fmt=jpeg'],
  [`ext:avif/${A}`, 'fmt=avif'],
  [`f:webp/${A}@png`, 'fmt=png'],
  [`f:webp/${b64('local:///a.jpg')}.gif`, 'fmt=gif'],
  // imgproxy Pro's best format is kinu's fmt=best (the smallest of the formats Accept allows).
  [`f:best/${A}`, 'fmt=best'],
  [`q:70/${A}@best`, 'fmt=best&q=70'],
  [`bg:f00/${A}`, 'bg=ff0000', undefined, { flattenAlways: true }],
  [`bg:ffffff/${A}`, 'bg=ffffff', undefined, { flattenAlways: true }],
  [`wm:0/${A}`, IDENTITY_Q],
  [`wm:1/${A}`, 'wm=logo.png', {}, { watermarkImgproxy: { position: 'ce', x: 0, y: 0, scale: 0 } }],
  [
    `wm:0.5:re:10:0.1:2/${A}`,
    'wm=logo.png&wm_opacity=0.5',
    {},
    { watermarkImgproxy: { position: 're', x: 10, y: 0.1, scale: 2 } },
  ],
  [`cb:/${A}`, IDENTITY_Q],
  // what proxies and browsers do to paths, undone as imgproxy does
  ['rs%3Afill%3A300%3A200/plain/local:/a.jpg', IDENTITY_Q, { rt: 'fill', width: 300, height: 200 }],
  ['plain/local:///a.jpg?version=3', IDENTITY_Q],
];

describe('imgproxy URLs → the same Transform as the equivalent native URL', () => {
  for (const [path, query, geometry, extra] of EQUIVALENT) {
    test(`${path}  ≡  ?${query}${geometry ? ` + imgproxy ${JSON.stringify(geometry)}` : ''}`, () => {
      const r = parse(`/insecure/${path}`);
      assert.equal(r.key, 'a.jpg');
      const want = { ...nativeTransform(query), ...extra };
      assert.deepEqual(r.transform, geometry ? { ...want, imgproxy: { ...NO_GEOMETRY, ...geometry } } : want);
    });
  }

  test('the request query string is ignored, as imgproxy does; `_` and anything else are signatures in unsigned mode', () => {
    for (const sig of ['insecure', '_', 'unsafe', 'whatever']) {
      assert.deepEqual(parse(`/${sig}/w:100/${A}?cache=1`).transform, nativeTransform('w=100'));
    }
  });

  test('a default preset applies first; options after it override it', () => {
    const opts = { ...OPTS, presets: parseImgproxyPresets('default=q:60/rt:fill-down') };
    assert.deepEqual(parse(`/_/s:100:100/${A}`, opts).transform, nativeTransform('w=100&h=100&fit=cover&q=60'));
    assert.deepEqual(parse(`/_/q:80/${A}`, opts).transform, nativeTransform('q=80'));
  });

  test('a preset using itself is skipped, as imgproxy does', () => {
    const opts = { ...OPTS, presets: parseImgproxyPresets('a=w:10/pr:a') };
    assert.deepEqual(parse(`/_/pr:a/${A}`, opts).transform, nativeTransform('w=10'));
  });
});

describe('sources', () => {
  const key = (path: string, opts = OPTS) => parse(`/_/w:10/${path}`, opts).key;

  test("local:/// names a key in kinu's source; plain sources are percent-decoded once", () => {
    assert.equal(key('plain/local:///photos/a.jpg'), 'photos/a.jpg');
    assert.equal(key('plain/local:////photos/a.jpg'), 'photos/a.jpg');
    assert.equal(key('plain/local:///my%20photo.jpg@png'), 'my photo.jpg');
    assert.equal(key('plain/local:///a%40b.jpg'), 'a@b.jpg');
    assert.equal(key('plain/local:///a%2525.jpg'), 'a%25.jpg');
    assert.equal(key(b64split('local:///dir/a b.jpg')), 'dir/a b.jpg');
    assert.equal(key(`${b64('local:///a.jpg')}==`), 'a.jpg');
  });

  test("s3:// names a key only inside kinu's S3 source", () => {
    const s3 = { ...OPTS, s3: { bucket: 'media', prefix: 'originals/' } };
    assert.equal(key('plain/s3://media/originals/a/b.jpg', s3), 'a/b.jpg');
    rejects(() => key('plain/s3://media/other/b.jpg', s3), 'not_found', 'source');
    rejects(() => key('plain/s3://elsewhere/originals/b.jpg', s3), 'not_found', 'source');
    rejects(() => key('plain/s3://media/originals/b.jpg'), 'not_found', 'source');
  });

  test("http(s):// names a key only under kinu's HTTP origin", () => {
    const web = { ...OPTS, http: { base: 'https://cms.example.com/media/' } };
    assert.equal(key('plain/https://cms.example.com/media/a/b%2520c.jpg', web), 'a/b c.jpg');
    assert.equal(key(b64('https://CMS.example.com:443/media/a.jpg'), web), 'a.jpg');
    rejects(() => key(b64('https://cms.example.com/media/../etc/a.jpg'), web), 'not_found', 'source');
    rejects(() => key(b64('http://cms.example.com/media/a.jpg'), web), 'not_found', 'source');
    rejects(() => key(b64('https://cms.example.com/media/a.jpg?v=1'), web), 'invalid_key', 'source');
    rejects(() => key('plain/http://example.com/a.jpg'), 'not_found', 'source');
    rejects(() => key(b64('https://example.com/a.jpg')), 'not_found', 'source');
  });

  test('other schemes, relative and escaping sources are refused', () => {
    rejects(() => key('plain/gs://bucket/a.jpg'), 'invalid_key', 'source');
    rejects(() => key('plain/local://host/a.jpg'), 'invalid_key', 'source');
    rejects(() => key('plain/photos/a.jpg'), 'invalid_key', 'source');
    rejects(() => key('plain/local:///../etc/passwd'), 'invalid_key', 'key');
    rejects(() => key('plain/local:///a/%2E%2E/%2E%2E/b.jpg'), 'invalid_key', 'key');
    rejects(() => key('plain/local:///'), 'invalid_key', 'key');
  });
});

// imgproxy path after /insecure/ → error code and the part the detail starts with
const ERRORS: [string, ErrorCode, string][] = [
  [`foo:1/${A}`, 'invalid_param', 'foo'],
  [`:1/${A}`, 'invalid_param', '(empty)'],
  [`w:abc/${A}`, 'invalid_param', 'w'],
  [`w:/${A}`, 'invalid_param', 'w'],
  [`w:100:200/${A}`, 'invalid_param', 'w'],
  [`w:20000/${A}`, 'invalid_param', 'w'],
  [`rs:crop:100/${A}`, 'invalid_param', 'rs'],
  [`rs:fit:100:100:maybe/${A}`, 'invalid_param', 'rs'],
  [`g:xx/${A}`, 'invalid_param', 'g'],
  [`g:sm:1/${A}`, 'invalid_param', 'g'],
  [`g:fp:0.5/${A}`, 'invalid_param', 'g'],
  [`g:fp:1.5:0/${A}`, 'invalid_param', 'g'],
  [`ex:1:sm/${A}`, 'invalid_param', 'ex'],
  // imgproxy's extend gravities have no sm either (processing/gravity_type.go ExtendGravityTypes)
  [`exar:1:sm/${A}`, 'invalid_param', 'exar'],
  [`c:/${A}`, 'invalid_param', 'c'],
  [`t:10:fffff/${A}`, 'invalid_param', 't'],
  [`t:10:red/${A}`, 'invalid_param', 't'],
  [`t:10::maybe/${A}`, 'invalid_param', 't'],
  [`t:10::1:1:1/${A}`, 'invalid_param', 't'],
  [`t:300/${A}`, 'invalid_param', 't'],
  [`pd:5000/${A}`, 'invalid_param', 'pd'],
  [`pd:1:2:3:4:5/${A}`, 'invalid_param', 'pd'],
  [`rot:45/${A}`, 'invalid_param', 'rot'],
  [`rot:-90/${A}`, 'invalid_param', 'rot'],
  [`fl:yes/${A}`, 'invalid_param', 'fl'],
  [`bg:12345/${A}`, 'invalid_param', 'bg'],
  [`bg:1:2/${A}`, 'invalid_param', 'bg'],
  [`bg:256:0:0/${A}`, 'invalid_param', 'bg'],
  [`bl:200/${A}`, 'invalid_param', 'bl'],
  [`blur:0.2/${A}`, 'invalid_param', 'blur'],
  [`sharpen:0.2/${A}`, 'invalid_param', 'sharpen'],
  [`pix:200/${A}`, 'invalid_param', 'pix'],
  [`q:101/${A}`, 'invalid_param', 'q'],
  [`dpr:0/${A}`, 'invalid_param', 'dpr'],
  [`dpr:5/${A}`, 'invalid_param', 'dpr'],
  [`f:tiff/${A}`, 'invalid_param', 'f'],
  [`format:heic/${A}`, 'invalid_param', 'format'],
  [`${A}@bmp`, 'invalid_param', 'extension'],
  [`sm:0/${A}`, 'invalid_param', 'sm'],
  [`strip_metadata:false/${A}`, 'invalid_param', 'strip_metadata'],
  [`ar:0/${A}`, 'invalid_param', 'ar'],
  [`ar:maybe/${A}`, 'invalid_param', 'ar'],
  [`wm:0.5:re:-10:0/${A}`, 'invalid_param', 'wm'],
  [`wm:0.5:sm/${A}`, 'invalid_param', 'wm'],
  [`wm:0.5:ce:0:0:-1/${A}`, 'invalid_param', 'wm'],
  [`wm:1.5/${A}`, 'invalid_param', 'wm'],
  [`pr:nope/${A}`, 'invalid_param', 'pr'],
  [`zoom:0/${A}`, 'invalid_param', 'zoom'],
  [`zoom:1:x/${A}`, 'invalid_param', 'zoom'],
  [`mw:-1/${A}`, 'invalid_param', 'mw'],
  [`mh:x/${A}`, 'invalid_param', 'mh'],
  [`mb:lots/${A}`, 'invalid_param', 'mb'],
  [`mb:-1/${A}`, 'invalid_param', 'mb'],
  [`fq:jpeg/${A}`, 'invalid_param', 'fq'],
  [`fq:jpeg:101/${A}`, 'invalid_param', 'fq'],
  [`fq:doc:50/${A}`, 'invalid_param', 'fq'],
  [`skp:doc/${A}`, 'invalid_param', 'skp'],
  [`fn:photo:1:2/${A}`, 'invalid_param', 'fn'],
  [`fn:!!:1/${A}`, 'invalid_param', 'fn'],
  [`att:maybe/${A}`, 'invalid_param', 'att'],
  [`raw:maybe/${A}`, 'invalid_param', 'raw'],
  [`msr:10/${A}`, 'invalid_param', 'msr'],
  [`exp:soon/${A}`, 'invalid_param', 'exp'],
  [`exp:1609448400/${A}`, 'not_found', 'exp'],
  [`expires:1735689599/${A}`, 'not_found', 'expires'],
  ['fill/300/400/sm/0/bG9jYWw6Ly8vYS5qcGc.jpg', 'invalid_param', 'path'],
  ['enc/jwV3wUD9r4VBIzgv/ang3Hbh0vPpcm5cc', 'invalid_param', 'source'],
  ['rs:fit:100:100', 'invalid_param', 'source'],
  ['plain/', 'invalid_param', 'source'],
  [`${A}@png@webp`, 'invalid_param', 'source'],
  ['plain/local:///a%ZZ.jpg', 'invalid_param', 'source'],
  ['!!not-base64!!', 'invalid_param', 'source'],
  [`${b64('local:///a.jpg')}.png.webp`, 'invalid_param', 'source'],
  ['/////', 'invalid_param', 'source'],
];

describe('malformed imgproxy URLs → 400 naming the part (404 for expires, as imgproxy)', () => {
  for (const [path, code, name] of ERRORS) {
    test(`${path} → ${code} (${name})`, () => rejects(() => parse(`/insecure/${path}`), code, name));
  }

  test('wm without a configured watermark image', () => {
    rejects(() => parse(`/_/wm:0.5/${A}`, { ...OPTS, watermark: undefined }), 'invalid_param', 'wm');
  });

  test('the path needs a signature segment and something after it', () => {
    rejects(() => parse('/insecure'), 'invalid_param', 'path');
    rejects(() => parse('/insecure/'), 'invalid_param', 'path');
    rejects(() => parse('/'), 'invalid_param', 'path');
    rejects(() => parse('/rs:fit:300:300/plain/local:///a.jpg'), 'invalid_param', 'signature');
    rejects(() => parse(`/ip/_/${A}`, { ...OPTS, prefix: '/img' }), 'invalid_param', 'path');
  });

  test('an error inside a preset names the option, the preset and its option', () => {
    const opts = { ...OPTS, presets: { bad: [{ name: 'w', args: ['x'] }] } };
    assert.throws(
      () => parse(`/_/pr:bad/${A}`, opts),
      (e: KinuError) => e.detail.startsWith('pr: preset bad: w:'),
    );
  });
});

describe('signatures', () => {
  // docs, usage/signing_url: key "secret", salt "hello"
  const DOCS = { keys: ['736563726574'], salts: ['68656C6C6F'], signatureSize: 32 };
  const DOCS_PATH = '/rs:fill:300:400:0/g:sm/aHR0cDovL2V4YW1w/bGUuY29tL2ltYWdl/cy9jdXJpb3NpdHku/anBn.png';
  // imgproxy's examples/ (signature.java, signature.clj): the example key and salt
  const EX = {
    keys: ['943b421c9eb07c830af81030552c86009268de4e532ba2ee2eab8247c6da0881'],
    salts: ['520f986b998545b4785e0defbc4f3c1203f22de2374a3d53cb7a7fe9fea309c5'],
    signatureSize: 32,
  };
  const EX_PATH = '/rs:fit:300:300/plain/http://img.example.com/pretty/image.jpg';
  // imgproxy's security/signature_test.go: raw keys "test-key"/"test-salt" and a second pair
  const hex = (s: string) => Buffer.from(s).toString('hex');
  const T1 = { key: hex('test-key'), salt: hex('test-salt') };
  const T2 = { key: hex('test-key2'), salt: hex('test-salt2') };

  test('published vectors', () => {
    assert.equal(
      imgproxySignature(DOCS.keys[0]!, DOCS.salts[0]!, DOCS_PATH),
      'oKfUtW34Dvo2BGQehJFR4Nr0_rIjOtdtzJ3QFsUcXH8',
    );
    assert.equal(imgproxySignature(EX.keys[0]!, EX.salts[0]!, EX_PATH), 'm3k5QADfcKPDj-SDI2AIogZbC3FlAXszuwhtWXYqavc');
    assert.equal(signImgproxyPath(EX, EX_PATH), `/m3k5QADfcKPDj-SDI2AIogZbC3FlAXszuwhtWXYqavc${EX_PATH}`);
    assert.equal(imgproxySignature(T1.key, T1.salt, 'asd'), 'oWaL7QoW5TsgbuiS9-5-DI8S3Ibbo1gdB2SteJh3a20');
    assert.equal(imgproxySignature(T1.key, T1.salt, 'asd', 8), 'oWaL7QoW5Ts');
    assert.equal(imgproxySignature(T2.key, T2.salt, 'asd'), 'jYz1UZ7j1BCdSzH3pZhaYf0iuz0vusoOTdqJsUT6WXI');
  });

  test("verification as in imgproxy's signature tests: pairs, truncation, invalid", () => {
    const one = { keys: [T1.key], salts: [T1.salt], signatureSize: 32 };
    const two = { keys: [T1.key, T2.key], salts: [T1.salt, T2.salt], signatureSize: 32 };
    assert.ok(verifyImgproxySignature(one, 'asd', 'oWaL7QoW5TsgbuiS9-5-DI8S3Ibbo1gdB2SteJh3a20'));
    assert.ok(verifyImgproxySignature({ ...one, signatureSize: 8 }, 'asd', 'oWaL7QoW5Ts'));
    assert.ok(!verifyImgproxySignature(one, 'asd', 'oWaL7QoW5Ts'));
    assert.ok(verifyImgproxySignature(two, 'asd', 'jYz1UZ7j1BCdSzH3pZhaYf0iuz0vusoOTdqJsUT6WXI'));
    assert.ok(verifyImgproxySignature(two, 'asd', 'oWaL7QoW5TsgbuiS9-5-DI8S3Ibbo1gdB2SteJh3a20'));
    assert.ok(!verifyImgproxySignature(two, 'asd', 'dtLwhdnPPis'));
    assert.ok(!verifyImgproxySignature(one, 'asd', 'not base64!'));
  });

  test("the docs' signed URL passes the signature check and names a key under its HTTP origin (404 elsewhere)", () => {
    const opts = { ...OPTS, ...DOCS };
    rejects(() => parse(`/oKfUtW34Dvo2BGQehJFR4Nr0_rIjOtdtzJ3QFsUcXH8${DOCS_PATH}`, opts), 'not_found', 'source');
    const web = { ...opts, http: { base: 'http://example.com/images/' } };
    assert.equal(parse(`/oKfUtW34Dvo2BGQehJFR4Nr0_rIjOtdtzJ3QFsUcXH8${DOCS_PATH}`, web).key, 'curiosity.jpg');
    rejects(
      () => parse(`/oKfUtW34Dvo2BGQehJFR4Nr0_rIjOtdtzJ3QFsUcXH8${DOCS_PATH.replace('300', '301')}`, opts),
      'bad_signature',
      'signature',
    );
    rejects(
      () => parse(`/oKfUtW34Dvo2BGQehJFR4Nr0_rIjOtdtzJ3QFsUcXH8${DOCS_PATH}`, { ...opts, signatureSize: 8 }),
      'bad_signature',
      'signature',
    );
  });

  test('with a key: signed URLs parse, insecure/_/wrong ones are 403, malformed ones behind a good signature are 400', () => {
    const opts = { ...OPTS, ...EX };
    const path = `/rs:fill-down:300:200/g:sm/${A}@webp`;
    assert.deepEqual(
      parse(signImgproxyPath(EX, path), opts).transform,
      nativeTransform('w=300&h=200&fit=cover&pos=attention&fmt=webp'),
    );
    for (const sig of ['insecure', '_', 'unsafe', 'm3k5QADfcKPDj-SDI2AIogZbC3FlAXszuwhtWXYqavc', 'rs:fill:1:1']) {
      rejects(() => parse(`/${sig}${path}`, opts), 'bad_signature', 'signature');
    }
    rejects(() => parse(signImgproxyPath(EX, `/w:abc/${A}`), opts), 'invalid_param', 'w');
    // the path as a proxy may rewrite it (%3A, local:/) still verifies, as in imgproxy
    const signed = signImgproxyPath(EX, `/rs:fit:300:300/${A}`);
    assert.ok(parse(signed.replace('rs:fit:300:300', 'rs%3Afit%3A300%3A300').replace('local:///', 'local:/'), opts));
    // rotation: the second pair verifies too; a truncated signature needs the matching size
    const rotated = { keys: [T1.key, ...EX.keys], salts: [T1.salt, ...EX.salts], signatureSize: 32 };
    assert.ok(parse(signImgproxyPath(EX, path), { ...OPTS, ...rotated }));
    const short = { ...EX, signatureSize: 8 };
    assert.ok(parse(signImgproxyPath(short, path), { ...OPTS, ...short }));
    rejects(() => parse(signImgproxyPath(EX, path), { ...OPTS, ...short }), 'bad_signature');
  });

  test('under a prefix, the signed path starts after the signature', () => {
    const opts = { ...OPTS, ...EX, prefix: '/ip' };
    assert.ok(parse(`/ip${signImgproxyPath(EX, `/w:100/${A}`)}`, opts));
  });
});

describe('presets and settings', () => {
  test('IMGPROXY_PRESETS syntax: comma or newline separated, # comments', () => {
    assert.deepEqual(parseImgproxyPresets('a=w:10/h:20, b=q:5\n# note\nc=pr:a'), {
      a: [
        { name: 'w', args: ['10'] },
        { name: 'h', args: ['20'] },
      ],
      b: [{ name: 'q', args: ['5'] }],
      c: [{ name: 'pr', args: ['a'] }],
    });
  });

  test('bad presets are refused, naming the preset and option', () => {
    for (const [text, needle] of [
      ['thumb', 'name=option'],
      ['x=w:abc', 'preset x: w:'],
      ['x=foo:1', 'foo'],
      ['x=w:1,x=h:1', 'twice'],
      ['x=pr:y', 'unknown preset'],
      ['x=w', 'not an option'],
      ['x=', 'no options'],
    ] as const) {
      assert.throws(
        () => parseImgproxyPresets(text),
        (e: Error) => e.message.includes(needle),
        text,
      );
    }
  });

  const problems = (env: Record<string, string>) => {
    try {
      loadConfig({ env });
    } catch (e) {
      assert.ok(e instanceof ConfigError);
      return e.problems.join('\n');
    }
    return '';
  };

  test('settings: keys and salts are hex pairs, secrets never echoed', () => {
    const c = loadConfig({
      env: {
        KINU_DIALECTS: 'imgproxy=/',
        KINU_IMGPROXY_KEY: '736563726574, 943B421C',
        KINU_IMGPROXY_SALT: '68656C6C6F,520f',
        KINU_IMGPROXY_SIGNATURE_SIZE: '8',
        KINU_IMGPROXY_PRESETS: 'thumb=rs:fill:100:100',
        KINU_IMGPROXY_WATERMARK: 'marks/logo.png',
      },
    });
    assert.deepEqual(c.imgproxy, {
      keys: ['736563726574', '943b421c'],
      salts: ['68656c6c6f', '520f'],
      signatureSize: 8,
      presets: { thumb: [{ name: 'rs', args: ['fill', '100', '100'] }] },
      watermark: 'marks/logo.png',
    });
    assert.deepEqual(loadConfig().imgproxy, {
      keys: [],
      salts: [],
      signatureSize: 32,
      presets: {},
      watermark: undefined,
    });
    const bad = problems({ KINU_IMGPROXY_KEY: 'secret-not-hex', KINU_IMGPROXY_SALT: 'abc' });
    assert.match(bad, /KINU_IMGPROXY_KEY \(--imgproxy-key\): expected hex/);
    assert.match(bad, /KINU_IMGPROXY_SALT \(--imgproxy-salt\): expected hex/);
    assert.ok(!bad.includes('secret-not-hex'));
    assert.match(
      problems({ KINU_IMGPROXY_KEY: 'aa,bb', KINU_IMGPROXY_SALT: 'cc' }),
      /one salt per key, got 2 key\(s\) and 1 salt/,
    );
    assert.match(problems({ KINU_IMGPROXY_KEY: 'aa' }), /KINU_IMGPROXY_SALT/);
    assert.match(problems({ KINU_IMGPROXY_SIGNATURE_SIZE: '33' }), /KINU_IMGPROXY_SIGNATURE_SIZE/);
    assert.match(
      problems({ KINU_IMGPROXY_PRESETS: 'x=zoom:0' }),
      /KINU_IMGPROXY_PRESETS \(--imgproxy-presets\): preset x: zoom:/,
    );
    assert.match(problems({ KINU_IMGPROXY_WATERMARK: '../logo.png' }), /KINU_IMGPROXY_WATERMARK/);
    assert.match(problems({ KINU_DIALECTS: 'native=/,imgproxy=/ip', KINU_IMGPROXY_KEY: 'zz' }), /KINU_IMGPROXY_KEY/);
  });
});

// imgproxy's options/parser/apply.go applyTrimOption and vips/vips.c vips_trim: threshold, hex colour, equal_hor/ver.
describe('trim colour and equal_hor/equal_ver', () => {
  const t = (opts: string) => parse(`/_/${opts}/${A}`).transform!;
  test('the colour is r, g, b (RGB or RRGGBB); equal_* a pair; both in the key; absent without a threshold', () => {
    assert.deepEqual(t('t:10:ff8000').trimColour, [255, 128, 0]);
    assert.deepEqual(t('trim:10:f80').trimColour, [255, 136, 0]);
    assert.deepEqual(t('t:10::1').trimEqual, [true, false]);
    assert.deepEqual(t('t:10:::t').trimEqual, [false, true]);
    assert.equal(t('t:10::0:false').trimEqual, undefined);
    assert.equal(t('t:10').trimColour, undefined);
    assert.equal(t('t::ff0000:1:1').trim, undefined, 'trim without a threshold is off');
    assert.equal(t('t::ff0000:1:1').trimColour, undefined);
    assert.equal(t('t::ff0000:1:1').trimEqual, undefined);
    const keys = ['t:10', 't:10:ffffff', 't:10:000000', 't:10::1', 't:10:::1', 't:10::1:1'].map((o) =>
      canonicalKey(t(o)),
    );
    assert.equal(new Set(keys).size, keys.length, keys.join('\n'));
    assert.deepEqual(t('t:10::0:0'), nativeTransform('trim=10'), 'no colour nor equal_*: the native trim');
  });
  test('a later trim without a colour drops the earlier one; equal_* left empty keep theirs (a preset)', () => {
    assert.equal(t('t:10:ffffff/t:5').trimColour, undefined);
    assert.deepEqual(t('t:10::1/t:5').trimEqual, [true, false]);
  });
});

// imgproxy's options/parser/apply.go (applyMaxBytesOption, applyFormatQualityOption, applySkipProcessingFormatsOption,
// applyRawOption, applyFilenameOption) and processing/options.go's Quality(): q, then fq for the output format.
describe('mb, fq, raw, skp, fn, att', () => {
  test("mb is the Transform's byte budget, in the key", () => {
    const t = parse(`/_/rs:fit:300:300/mb:20000/${A}`).transform!;
    assert.equal(t.maxBytes, 20000);
    assert.equal(parse(`/_/mb:0/${A}`).transform!.maxBytes, undefined, 'mb:0 is no budget');
  });

  test('fq: the quality of the format known at parse time, else a sorted list for the chosen format; q wins', () => {
    assert.equal(parse(`/_/fq:jpeg:70:webp:60/${A}@webp`).transform!.quality, 60);
    assert.deepEqual(parse(`/_/fq:jpeg:70:webp:60/${A}@webp`).transform, parse(`/_/q:60/${A}@webp`).transform);
    const t = parse(`/_/fq:webp:60:jpg:70:heic:40/${A}`).transform!;
    assert.equal(t.quality, undefined);
    // beside imgproxy's own defaults where kinu's differ (AVIF 63, JPEG XL 77)
    assert.deepEqual(t.formatQuality, [
      ['avif', 63],
      ['jpeg', 70],
      ['jxl', 77],
      ['webp', 60],
    ]);
    const q = parse(`/_/fq:jpeg:70/q:50/${A}`).transform!;
    assert.equal(q.quality, 50);
    assert.equal(q.formatQuality, undefined);
    assert.equal(parse(`/_/fq:png:70/${A}@jpg`).transform!.quality, undefined, 'another format: the default');
  });

  test("raw and skp (by the key's extension) give the original; skp of another format processes", () => {
    assert.equal(parse(`/_/raw:1/rs:fit:10:10/${A}`).transform, null);
    assert.equal(parse(`/_/skp:png:jpg/rs:fit:10:10/${A}`).transform, null);
    assert.equal(parse(`/_/skp:jpeg/${A}`).transform, null, 'jpeg and jpg are one format');
    assert.notEqual(parse(`/_/skp:png/${A}`).transform, null);
    assert.notEqual(parse(`/_/raw:0/${A}`).transform, null);
  });

  test('raw under KINU_ORIGINALS=signed needs an imgproxy key', () => {
    rejects(() => parse(`/_/raw:1/${A}`, { ...OPTS, originals: 'signed' }), 'originals_denied', 'raw');
    const keyed = { ...OPTS, keys: ['6b6579'], salts: ['73616c74'], originals: 'signed' as const };
    assert.equal(parse(signImgproxyPath(keyed, `raw:1/${A}`), keyed).transform, null);
  });

  test('fn and att: a per-request disposition outside the Transform (the key stays the same)', () => {
    assert.equal(parse(`/_/rs:fit:9:9/${A}`).disposition, undefined);
    const p = parse(`/_/fn:holiday/att:1/rs:fit:9:9/${A}`);
    assert.deepEqual(p.disposition, { type: 'attachment', stem: 'holiday' });
    assert.deepEqual(p.transform, parse(`/_/rs:fit:9:9/${A}`).transform);
    assert.deepEqual(parse(`/_/att:1/${A}`).disposition, { type: 'attachment', stem: 'a' });
    assert.deepEqual(parse(`/_/fn:${b64('café été')}:1/${A}`).disposition, { type: 'inline', stem: 'café été' });
    assert.deepEqual(parse(`/_/fn:my%20file/${A}`).disposition, { type: 'inline', stem: 'my file' });
  });
});
