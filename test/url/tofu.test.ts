// The tofu dialect (the 2011 path tokens) as tables: URL → original key + the native equivalent's Transform;
// the signature scheme pinned by a vector computed outside kinu (openssl); what is refused, naming the part.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { rejectsKinu } from '../helpers.ts';
import { ConfigError, loadConfig } from '../../src/config.ts';
import type { ErrorCode } from '../../src/errors.ts';
import { canonicalKey, type Transform } from '../../src/transform.ts';
import { parseNative, parseParams } from '../../src/url/native.ts';
import { checkOriginalTemplate, parseTofu, signTofu, tofuSignature, type TofuOptions } from '../../src/url/tofu.ts';

const HEX = '0123456789abcdef0123456789abcdef';
const PRESETS = { thumb: parseParams(['w=200', 'h=200', 'fit=cover']), hero: parseParams(['w=1600', 'fmt=webp']) };
const OPTS: TofuOptions = { prefix: '', secrets: [], original: '{path}.jpg', presets: PRESETS };

function native(query: string): Transform {
  const t = parseNative(`/x.jpg?${query}`, { prefix: '', secrets: [], presets: {} }).transform;
  assert.ok(t);
  return t;
}

function rejects(url: string, code: ErrorCode, part: string, opts: TofuOptions = OPTS): void {
  rejectsKinu(() => parseTofu(url, opts), code, part, url);
}

// [URL, original key, native query of the same transform]
const TABLE: [string, string, string][] = [
  // the shape seen in the public URLs of the 2011 system
  [`/recipes/1203423/750x500cq60/${HEX}.jpg`, 'recipes/1203423.jpg', 'w=750&h=500&fit=cover&q=60&fmt=jpeg'],
  [`/recipes/1203423/280x487s/${HEX}.jpg`, 'recipes/1203423.jpg', 'w=280&h=487&fit=inside&fmt=jpeg'],
  [`/recipes/1203423/750x500c/${HEX}.webp`, 'recipes/1203423.jpg', 'w=750&h=500&fit=cover&fmt=webp'],
  [`/recipes/1203423/750x500sq50/${HEX}.avif`, 'recipes/1203423.jpg', 'w=750&h=500&fit=inside&q=50&fmt=avif'],
  [`/users/42/icon/100x100c/${HEX}.png`, 'users/42/icon.jpg', 'w=100&h=100&fit=cover&fmt=png'],
  [`/recipes/1/750/${HEX}.jpeg`, 'recipes/1.jpg', 'w=750&fmt=jpeg'],
  [`/recipes/1/750q40/${HEX}.gif`, 'recipes/1.jpg', 'w=750&q=40&fmt=gif'],
  [`/steps/%E5%92%8C%E9%A3%9F/640/${HEX}.jpg`, 'steps/和食.jpg', 'w=640&fmt=jpeg'],
  // a preset name as the size token (KINU_PRESETS); the extension decides the format
  [`/recipes/1/thumb/${HEX}.jpg`, 'recipes/1.jpg', 'w=200&h=200&fit=cover&fmt=jpeg'],
  [`/recipes/1/hero/${HEX}.avif`, 'recipes/1.jpg', 'w=1600&fmt=avif'],
];

describe("tofu URLs → original key + the native equivalent's transform", () => {
  for (const [url, key, query] of TABLE) {
    test(`${url} ≡ /${key}?${query}`, () => {
      const r = parseTofu(url, OPTS);
      assert.equal(r.key, key);
      assert.ok(r.transform);
      assert.deepEqual(r.transform, native(query));
      assert.equal(canonicalKey(r.transform), canonicalKey(native(query)));
    });
  }

  test('the original template (KINU_TOFU_ORIGINAL)', () => {
    const url = `/recipes/1203423/750x500cq60/${HEX}.jpg`;
    assert.equal(parseTofu(url, { ...OPTS, original: '{path}' }).key, 'recipes/1203423');
    assert.equal(
      parseTofu(url, { ...OPTS, original: 'originals/{path}/original.png' }).key,
      'originals/recipes/1203423/original.png',
    );
    assert.equal(parseTofu(`/t${url}?u=42&p=1306464000`, { ...OPTS, prefix: '/t' }).key, 'recipes/1203423.jpg');
  });

  test('templates are checked', () => {
    assert.equal(checkOriginalTemplate('{path}.jpg'), undefined);
    assert.equal(checkOriginalTemplate('a/{path}'), undefined);
    for (const bad of ['x.jpg', '{path}/{path}', '/{path}', '{path}.{ext}', '../{path}'])
      assert.ok(checkOriginalTemplate(bad), bad);
  });
});

describe('refused, naming the part', () => {
  const BAD: [string, ErrorCode, string][] = [
    [`/recipes/1/750x500/${HEX}.jpg`, 'invalid_param', 'size'],
    [`/recipes/1/750x500q60/${HEX}.jpg`, 'invalid_param', 'size'],
    [`/recipes/1/750x500x/${HEX}.jpg`, 'invalid_param', 'size'],
    [`/recipes/1/0x500c/${HEX}.jpg`, 'invalid_param', 'size'],
    [`/recipes/1/9000/${HEX}.jpg`, 'invalid_param', 'size'],
    [`/recipes/1/750x500cq0/${HEX}.jpg`, 'invalid_param', 'size'],
    [`/recipes/1/750x500cq101/${HEX}.jpg`, 'invalid_param', 'size'],
    [`/recipes/1/750c/${HEX}.jpg`, 'invalid_param', 'size'],
    [`/recipes/1/nosuchpreset/${HEX}.jpg`, 'invalid_param', 'size'],
    [`/recipes/1/750x500c/${HEX}.bmp`, 'invalid_param', 'extension'],
    [`/recipes/1/750x500c/${HEX}.JPG`, 'invalid_param', 'extension'],
    [`/recipes/1/750x500c/${HEX}`, 'invalid_param', 'extension'],
    [`/recipes/1/750x500c/${HEX.toUpperCase()}.jpg`, 'invalid_param', 'signature'],
    [`/recipes/1/750x500c/${HEX.slice(1)}.jpg`, 'invalid_param', 'signature'],
    ['/recipes/1/750x500c/photo.jpg', 'invalid_param', 'signature'],
    [`/750x500c/${HEX}.jpg`, 'invalid_param', 'path'],
    [`/${HEX}.jpg`, 'invalid_param', 'path'],
    [`/recipes/../etc/750x500c/${HEX}.jpg`, 'invalid_key', 'key'],
    [`/recipes//1/750x500c/${HEX}.jpg`, 'invalid_key', 'key'],
    [`/recipes/%ZZ/750x500c/${HEX}.jpg`, 'invalid_key', 'key'],
  ];
  for (const [url, code, part] of BAD) test(`${url} → ${code} naming ${part}`, () => rejects(url, code, part));
});

describe('signatures', () => {
  const SECRET = 'tofu-secret-2011';
  const SIGNED: TofuOptions = { ...OPTS, secrets: [SECRET] };
  // printf '%s' '/recipes/1203423/750x500cq60/.jpg' | openssl dgst -sha256 -hmac 'tofu-secret-2011' | cut -c1-32
  const VECTOR = '/recipes/1203423/750x500cq60/55eb3374bf1707129b8bc11cc41e9694.jpg';

  test('the signature is the first 32 hex digits of HMAC-SHA256 over the path without it', () => {
    assert.equal(tofuSignature(SECRET, '/recipes/1203423/750x500cq60/.jpg'), '55eb3374bf1707129b8bc11cc41e9694');
    assert.equal(signTofu(SECRET, '/recipes/1203423/750x500cq60/.jpg'), VECTOR);
    assert.equal(parseTofu(VECTOR, SIGNED).key, 'recipes/1203423.jpg');
  });

  test('the mount prefix and the query are not signed; secrets rotate', () => {
    assert.equal(parseTofu(`/t${VECTOR}?u=1`, { ...SIGNED, prefix: '/t' }).key, 'recipes/1203423.jpg');
    assert.equal(parseTofu(VECTOR, { ...SIGNED, secrets: ['new-tofu-secret', SECRET] }).key, 'recipes/1203423.jpg');
  });

  test('with a secret: wrong, tampered (path, size, extension) and malformed are 403', () => {
    rejects(VECTOR.replace('1203423', '1203424'), 'bad_signature', 'signature', SIGNED);
    rejects(VECTOR.replace('cq60', 'cq61'), 'bad_signature', 'signature', SIGNED);
    rejects(VECTOR.replace('.jpg', '.webp'), 'bad_signature', 'signature', SIGNED);
    rejects(VECTOR.replace('55eb', '55ec'), 'bad_signature', 'signature', SIGNED);
    rejects(`/recipes/1203423/750x500cq60/${HEX}.jpg`, 'bad_signature', 'signature', SIGNED);
    rejects('/recipes/1203423/750x500cq60/photo.jpg', 'bad_signature', 'signature', SIGNED);
    rejects(signTofu('other-secret', '/recipes/1203423/750x500cq60/.jpg'), 'bad_signature', 'signature', SIGNED);
    // a bad size behind a good signature is a 400
    rejects(signTofu(SECRET, '/recipes/1/750x500/.jpg'), 'invalid_param', 'size', SIGNED);
  });

  test('without a secret any 32-hex token is accepted unchecked', () => {
    assert.equal(parseTofu(VECTOR.replace('55eb', '55ec'), OPTS).key, 'recipes/1203423.jpg');
  });
});

describe('settings', () => {
  test('KINU_TOFU_SECRET (any length, rotation) and KINU_TOFU_ORIGINAL', () => {
    const c = loadConfig({
      env: { KINU_TOFU_SECRET: 'short, other-secret', KINU_TOFU_ORIGINAL: 'originals/{path}', KINU_DIALECTS: 'tofu=/' },
    });
    assert.deepEqual(c.tofu, { secrets: ['short', 'other-secret'], original: 'originals/{path}' });
    assert.deepEqual(loadConfig({ env: {} }).tofu, { secrets: [], original: '{path}.jpg' });
  });

  test('a bad template or an empty secret list is named, and the secret never echoed', () => {
    for (const [env, value] of [
      ['KINU_TOFU_ORIGINAL', 'x.jpg'],
      ['KINU_TOFU_ORIGINAL', '/{path}'],
      ['KINU_TOFU_SECRET', ' , '],
    ]) {
      assert.throws(
        () => loadConfig({ env: { [env!]: value } }),
        (e: unknown) => {
          assert.ok(e instanceof ConfigError);
          assert.equal(e.problems.length, 1);
          assert.ok(e.problems[0]!.startsWith(`${env} (--`), e.problems[0]);
          if (env === 'KINU_TOFU_SECRET') assert.ok(!e.problems[0]!.includes(' , '));
          return true;
        },
      );
    }
  });
});
