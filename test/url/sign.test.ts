import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, test } from 'node:test';
import { KinuError } from '../../src/errors.ts';
import { parseNative, type NativeOptions } from '../../src/url/native.ts';
import { sign, signedMessage, signUrl, splitSig, verify } from '../../src/url/sign.ts';

const SECRET = 'a-secret-of-32-characters-long!!';
const OLD = 'the-previous-secret-0123456789';
const OPTS: NativeOptions = { prefix: '', secrets: [SECRET, OLD], presets: {} };

/** Computed here, not by src/: base64url(HMAC-SHA256(secret, message)) without padding. */
const hmac = (secret: string, message: string) =>
  createHmac('sha256', secret)
    .update(message)
    .digest('base64')
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '');

const code = (fn: () => unknown) => {
  try {
    fn();
    return 'ok';
  } catch (e) {
    assert.ok(e instanceof KinuError, String(e));
    return e.code;
  }
};

describe('sign and verify', () => {
  test('a known vector', () => {
    // HMAC-SHA256("key", "The quick brown fox jumps over the lazy dog") = f7bc83f4…d8 (RFC 4231-style test vector)
    assert.equal(
      sign('key', 'The quick brown fox jumps over the lazy dog'),
      Buffer.from('f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8', 'hex').toString('base64url'),
    );
    const msg = '/photos/hato-pigeons.jpg?w=400&fmt=webp';
    assert.equal(sign(SECRET, msg), hmac(SECRET, msg));
    assert.match(sign(SECRET, msg), /^[A-Za-z0-9_-]{43}$/);
  });

  test('verify accepts any of several secrets and nothing else', () => {
    const msg = '/a.jpg?w=1';
    assert.equal(verify([SECRET, OLD], msg, sign(SECRET, msg)), true);
    assert.equal(verify([SECRET, OLD], msg, sign(OLD, msg)), true);
    assert.equal(verify([SECRET], msg, sign(OLD, msg)), false);
    assert.equal(verify([SECRET], '/a.jpg?w=2', sign(SECRET, msg)), false);
    assert.equal(verify([SECRET], msg, ''), false);
    assert.equal(verify([SECRET], msg, sign(SECRET, msg).slice(1)), false);
    assert.equal(verify([SECRET], msg, `${sign(SECRET, msg)}=`), false);
    assert.equal(verify([], msg, sign(SECRET, msg)), false);
  });

  test('splitSig keeps the other segments byte for byte, in order', () => {
    assert.deepEqual(splitSig(''), { rest: [], sigs: [] });
    assert.deepEqual(splitSig('w=1&sig=abc&h=%32'), { rest: ['w=1', 'h=%32'], sigs: ['abc'] });
    assert.deepEqual(splitSig('sig=x&w=1'), { rest: ['w=1'], sigs: ['x'] });
    assert.deepEqual(splitSig('w=1&sig=x'), { rest: ['w=1'], sigs: ['x'] });
    assert.deepEqual(splitSig('sig=a&sig=b'), { rest: [], sigs: ['a', 'b'] });
    assert.deepEqual(splitSig('sig'), { rest: [], sigs: [''] });
    assert.deepEqual(splitSig('signature=1&xsig=2'), { rest: ['signature=1', 'xsig=2'], sigs: [] });
  });

  test('the signed message is the path, then ? and the rest when any', () => {
    assert.equal(signedMessage('/a.jpg', []), '/a.jpg');
    assert.equal(signedMessage('/a.jpg', ['w=1', 'h=2']), '/a.jpg?w=1&h=2');
  });
});

describe('signUrl', () => {
  test('appends sig over path and query as given', () => {
    const url = signUrl(SECRET, '/photos/caf%C3%A9.jpg?w=400&fmt=webp');
    assert.equal(
      url,
      `/photos/caf%C3%A9.jpg?w=400&fmt=webp&sig=${hmac(SECRET, '/photos/caf%C3%A9.jpg?w=400&fmt=webp')}`,
    );
  });
  test('keeps origin, replaces an old sig wherever it was', () => {
    const want = `https://img.example.com/a.jpg?w=1&h=2&sig=${hmac(SECRET, '/a.jpg?w=1&h=2')}`;
    assert.equal(signUrl(SECRET, 'https://img.example.com/a.jpg?w=1&h=2'), want);
    assert.equal(signUrl(SECRET, 'https://img.example.com/a.jpg?sig=old&w=1&h=2'), want);
    assert.equal(signUrl(SECRET, 'https://img.example.com/a.jpg?w=1&sig=old&h=2'), want);
    assert.equal(signUrl(SECRET, 'https://img.example.com/a.jpg?w=1&h=2&sig=old'), want);
    assert.equal(
      signUrl(SECRET, '//img.example.com/a.jpg?w=1&h=2'),
      want.replace('https:', ''),
      'protocol-relative: the host is not signed',
    );
  });
  test('an original gets a sig over the bare path', () => {
    assert.equal(signUrl(SECRET, '/a.jpg'), `/a.jpg?sig=${hmac(SECRET, '/a.jpg')}`);
  });
  test('its output verifies in parseNative', () => {
    for (const u of ['/a.jpg?w=1', '/a.jpg', '/dir/b%20c.png?fmt=webp&q=50', '/a.jpg?h=1&w=2']) {
      assert.equal(
        code(() => parseNative(signUrl(SECRET, u), OPTS)),
        'ok',
        u,
      );
      assert.equal(
        code(() => parseNative(signUrl(OLD, u), OPTS)),
        'ok',
        `${u} with the old secret`,
      );
    }
  });
});

describe('parseNative with signing on', () => {
  const s = (msg: string, secret = SECRET) => hmac(secret, msg);

  test('missing, wrong, duplicated and empty sig are bad_signature', () => {
    assert.equal(
      code(() => parseNative('/a.jpg?w=1', OPTS)),
      'bad_signature',
    );
    assert.equal(
      code(() => parseNative(`/a.jpg?w=1&sig=${s('/a.jpg?w=2')}`, OPTS)),
      'bad_signature',
    );
    assert.equal(
      code(() => parseNative(`/a.jpg?w=1&sig=${s('/a.jpg?w=1', 'some-other-secret-here')}`, OPTS)),
      'bad_signature',
    );
    assert.equal(
      code(() => parseNative(`/a.jpg?w=1&sig=${s('/a.jpg?w=1')}&sig=${s('/a.jpg?w=1')}`, OPTS)),
      'bad_signature',
    );
    assert.equal(
      code(() => parseNative('/a.jpg?w=1&sig=', OPTS)),
      'bad_signature',
    );
    assert.equal(
      code(() => parseNative('/a.jpg?w=1&sig', OPTS)),
      'bad_signature',
    );
  });

  test('sig may stand at the start, middle or end; removed with its &', () => {
    const sig = s('/a.jpg?w=1&h=2');
    for (const q of [`sig=${sig}&w=1&h=2`, `w=1&sig=${sig}&h=2`, `w=1&h=2&sig=${sig}`]) {
      assert.equal(
        code(() => parseNative(`/a.jpg?${q}`, OPTS)),
        'ok',
        q,
      );
    }
  });

  test('the signature covers the raw path and query: encoding and order matter', () => {
    const sig = s('/caf%C3%A9.jpg?w=1&h=2');
    assert.equal(
      code(() => parseNative(`/caf%C3%A9.jpg?w=1&h=2&sig=${sig}`, OPTS)),
      'ok',
    );
    assert.equal(
      code(() => parseNative(`/caf%c3%a9.jpg?w=1&h=2&sig=${sig}`, OPTS)),
      'bad_signature',
    );
    assert.equal(
      code(() => parseNative(`/caf%C3%A9.jpg?h=2&w=1&sig=${sig}`, OPTS)),
      'bad_signature',
    );
    assert.equal(
      code(() => parseNative(`/caf%C3%A9.jpg?w=%31&h=2&sig=${sig}`, OPTS)),
      'bad_signature',
    );
    assert.equal(
      code(() => parseNative(`/caf%C3%A9.jpg?w=1&h=2&&sig=${sig}`, OPTS)),
      'bad_signature',
    );
  });

  test('originals need no sig, but a sig on them is checked', () => {
    assert.equal(
      code(() => parseNative('/a.jpg', OPTS)),
      'ok',
    );
    assert.equal(
      code(() => parseNative(`/a.jpg?sig=${s('/a.jpg')}`, OPTS)),
      'ok',
    );
    assert.equal(
      code(() => parseNative(`/a.jpg?sig=${s('/b.jpg')}`, OPTS)),
      'bad_signature',
    );
  });

  test('the signature is checked before the params', () => {
    assert.equal(
      code(() => parseNative('/a.jpg?w=0', OPTS)),
      'bad_signature',
    );
    assert.equal(
      code(() => parseNative(`/a.jpg?w=0&sig=${s('/a.jpg?w=0')}`, OPTS)),
      'invalid_param',
    );
  });

  test('the prefix is part of the signed path', () => {
    const opts = { ...OPTS, prefix: '/img' };
    assert.equal(
      code(() => parseNative(`/img/a.jpg?w=1&sig=${s('/img/a.jpg?w=1')}`, opts)),
      'ok',
    );
    assert.equal(
      code(() => parseNative(`/img/a.jpg?w=1&sig=${s('/a.jpg?w=1')}`, opts)),
      'bad_signature',
    );
  });
});
