// Signing covers every dialect: once any secret or key is set, a mounted dialect without its own key
// refuses to start (naming the dialect and the setting that signs it) unless KINU_UNSIGNED_DIALECTS lets it.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, test } from 'node:test';
import { main } from '../src/cli.ts';
import { ConfigError, loadConfig } from '../src/config.ts';
import { signThumbor } from '../src/url/thumbor.ts';
import { signUrl } from '../src/url/sign.ts';
import { testServer } from './helpers.ts';

const SECRET = 'a-kinu-secret-of-32-characters!!';
const KEYS = {
  native: { KINU_SECRET: SECRET },
  imgproxy: {
    KINU_IMGPROXY_KEY: '943b421c9eb07c830af81030552c86009268de4e532ba2ee2eab8247c6da0881',
    KINU_IMGPROXY_SALT: '520f986b998545b4785e0defbc4f3c1203f22de2374a3d53cb7a7fe9fea309c5',
  },
  thumbor: { KINU_THUMBOR_KEY: 'MY_SECURE_KEY' },
  tofu: { KINU_TOFU_SECRET: 'tofu-secret-2011' },
  imgix: { KINU_IMGIX_TOKEN: 'aaaa2222bbbb3333' },
} as const;
type Dialect = keyof typeof KEYS;
const SETTING: Record<Dialect, string> = {
  native: 'KINU_SECRET',
  imgproxy: 'KINU_IMGPROXY_KEY',
  thumbor: 'KINU_THUMBOR_KEY',
  tofu: 'KINU_TOFU_SECRET',
  imgix: 'KINU_IMGIX_TOKEN',
};
const MOUNT: Record<Dialect, string> = {
  native: 'native=/',
  imgproxy: 'imgproxy=/ip',
  thumbor: 'thumbor=/th',
  tofu: 'tofu=/t',
  imgix: 'imgix=/ix',
};
const DIALECTS = Object.keys(KEYS) as Dialect[];

function problems(env: Record<string, string>): string[] {
  try {
    loadConfig({ env });
  } catch (e) {
    assert.ok(e instanceof ConfigError, String(e));
    return [...e.problems];
  }
  return [];
}

describe('a mounted dialect without its own key while another is signed', () => {
  for (const signed of DIALECTS) {
    for (const unsigned of DIALECTS.filter((d) => d !== signed)) {
      test(`${signed} signed, ${unsigned} mounted without ${SETTING[unsigned]}: refused, naming both`, () => {
        const p = problems({ KINU_DIALECTS: `${MOUNT[signed]},${MOUNT[unsigned]}`, ...KEYS[signed] });
        assert.equal(p.length, 1, p.join('\n'));
        assert.match(p[0]!, new RegExp(`\\b${unsigned} dialect\\b`));
        assert.ok(p[0]!.includes(SETTING[unsigned]), `should name ${SETTING[unsigned]}: ${p[0]}`);
        assert.ok(p[0]!.includes(SETTING[signed]), `should say ${SETTING[signed]} is set: ${p[0]}`);
        assert.ok(p[0]!.includes('KINU_UNSIGNED_DIALECTS'), p[0]);
        assert.ok(!Object.values(KEYS[signed]).some((v) => p[0]!.includes(v)), 'a key is never echoed');
      });
    }
  }

  test('a key set for a dialect that is not mounted still makes the unsigned ones refuse', () => {
    const p = problems({ KINU_DIALECTS: 'native=/', KINU_THUMBOR_KEY: 'MY_SECURE_KEY' });
    assert.equal(p.length, 1);
    assert.match(p[0]!, /native dialect.*KINU_SECRET/);
  });

  test('every unsigned dialect is named, each with its own setting', () => {
    const p = problems({ KINU_DIALECTS: 'native=/,imgproxy=/ip,thumbor=/th,tofu=/t', ...KEYS.native });
    assert.deepEqual(p.map((x) => /the (\w+) dialect/.exec(x)?.[1]).sort(), ['imgproxy', 'thumbor', 'tofu']);
  });

  test("Cloudflare's and ipx's URLs have no signature: refused beside a signed dialect unless allowed; Next.js's bounded allow-lists need no key", () => {
    const p = problems({
      KINU_DIALECTS: 'native=/,cloudflare=/cdn-cgi/image,ipx=/_ipx,nextjs=/_next/image',
      ...KEYS.native,
    });
    assert.deepEqual(p.map((x) => /the (\w+) dialect/.exec(x)?.[1]).sort(), ['cloudflare', 'ipx']);
    for (const x of p) assert.match(x, /no signature: add \w+ to KINU_UNSIGNED_DIALECTS/);
    assert.deepEqual(
      problems({
        KINU_DIALECTS: 'native=/,cloudflare=/cdn-cgi/image,ipx=/_ipx',
        KINU_UNSIGNED_DIALECTS: 'cloudflare,ipx',
        ...KEYS.native,
      }),
      [],
    );
  });

  test('kinu serve exits 2 with the message, before listening', async () => {
    const err: string[] = [];
    const code = await main(
      ['serve', '--port', '0'],
      { KINU_DIALECTS: 'native=/,thumbor=/th', KINU_SECRET: SECRET },
      { out: () => {}, err: (s) => err.push(s) },
    );
    assert.equal(code, 2);
    assert.match(err.join('\n'), /thumbor dialect.*KINU_THUMBOR_KEY.*KINU_UNSIGNED_DIALECTS/);
  });
});

describe('KINU_UNSIGNED_DIALECTS', () => {
  test('lets the named dialects serve unsigned while the others stay signed', async () => {
    const { app, config } = testServer({
      KINU_DIALECTS: 'native=/,thumbor=/th',
      KINU_SECRET: SECRET,
      KINU_UNSIGNED_DIALECTS: 'thumbor',
      KINU_MEMORY_CACHE_MB: '0',
    });
    try {
      assert.deepEqual(config.signing.unsignedDialects, ['thumbor']);
      assert.equal((await app.inject({ url: '/th/unsafe/40x0/png/rgba.png' })).statusCode, 200);
      assert.equal((await app.inject({ url: '/png/rgba.png?w=40' })).statusCode, 403);
      assert.equal((await app.inject({ url: signUrl(SECRET, '/png/rgba.png?w=40') })).statusCode, 200);
    } finally {
      await app.close();
    }
  });

  test('can name native: native URLs unsigned beside a signed peer', async () => {
    assert.match(
      problems({ KINU_DIALECTS: 'native=/,thumbor=/th', ...KEYS.thumbor }).join('\n'),
      /native dialect/,
      'refused without it',
    );
    const { app } = testServer({
      KINU_DIALECTS: 'native=/,thumbor=/th',
      ...KEYS.thumbor,
      KINU_UNSIGNED_DIALECTS: 'native',
      KINU_MEMORY_CACHE_MB: '0',
    });
    try {
      assert.equal((await app.inject({ url: '/png/rgba.png?w=40' })).statusCode, 200);
      assert.equal((await app.inject({ url: '/th/unsafe/40x0/png/rgba.png' })).statusCode, 403);
      assert.equal(
        (await app.inject({ url: `/th${signThumbor('MY_SECURE_KEY', '40x0/png/rgba.png')}` })).statusCode,
        200,
      );
    } finally {
      await app.close();
    }
  });

  test('refuses unknown names, and a dialect that has its key (it would not be unsigned)', () => {
    assert.match(
      problems({ KINU_UNSIGNED_DIALECTS: 'thumbr' })[0] ?? '',
      /KINU_UNSIGNED_DIALECTS.*unknown dialect "thumbr"/,
    );
    const p = problems({
      KINU_DIALECTS: 'native=/,thumbor=/th',
      KINU_SECRET: SECRET,
      ...KEYS.thumbor,
      KINU_UNSIGNED_DIALECTS: 'thumbor',
    });
    assert.equal(p.length, 1);
    assert.match(p[0]!, /KINU_UNSIGNED_DIALECTS.*thumbor dialect is signed.*KINU_THUMBOR_KEY/);
  });
});

describe('configurations that still start', () => {
  test('every mounted dialect with its own key', () => {
    assert.deepEqual(
      problems({
        KINU_DIALECTS: 'native=/,imgproxy=/ip,thumbor=/th,tofu=/t',
        ...KEYS.native,
        ...KEYS.imgproxy,
        ...KEYS.thumbor,
        ...KEYS.tofu,
      }),
      [],
    );
  });
  test('one signed dialect alone, under any name', () => {
    for (const d of DIALECTS) assert.deepEqual(problems({ KINU_DIALECTS: MOUNT[d], ...KEYS[d] }), [], d);
  });
  test('no key at all: every dialect unsigned (unsigned mode, warned about at start)', () => {
    assert.deepEqual(problems({ KINU_DIALECTS: 'native=/,imgproxy=/ip,thumbor=/th,tofu=/t' }), []);
  });
  test('every unsigned peer mount is warned about at start, the keyless grammars saying why', async () => {
    const lines: { level: number; msg: string }[] = [];
    const stream = new Writable({
      write(chunk, _enc, cb) {
        for (const l of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(l));
        cb();
      },
    });
    const { app } = testServer(
      { KINU_DIALECTS: 'native=/,imgix=/ix,cloudflare=/cdn-cgi/image,ipx=/_ipx,nextjs=/_next/image' },
      { logger: { level: 'warn', stream } },
    );
    await app.ready();
    await app.close();
    const warned = lines.filter((l) => l.level === 40).map((l) => l.msg);
    assert.ok(
      warned.some((m) => /^no KINU_IMGIX_TOKEN set: imgix URLs under \/ix are unsigned/.test(m)),
      warned.join('\n'),
    );
    assert.ok(
      warned.includes("cloudflare URLs under /cdn-cgi/image are unsigned: Cloudflare's grammar has no signature"),
    );
    assert.ok(warned.includes("ipx URLs under /_ipx are unsigned: ipx's grammar has no signature"));
    assert.ok(!warned.some((m) => m.includes('nextjs')), 'Next.js is bounded by its allow-lists');
  });
});
