import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, test } from 'node:test';
import { ConfigError, loadConfig, SETTINGS, type ConfigInput } from '../src/config.ts';
import { EXAMPLES, tempDir } from './helpers.ts';

const SECRET = 'sixteen-chars-ok';

function problems(input: ConfigInput): readonly string[] {
  try {
    loadConfig(input);
  } catch (e) {
    assert.ok(e instanceof ConfigError, String(e));
    return e.problems;
  }
  assert.fail('expected a ConfigError');
}

function configFile(content: unknown): string {
  const path = join(tempDir(), 'kinu.config.json');
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

describe('config', () => {
  // The defaults are written once, in SETTINGS (README, --help); this proves loadConfig applies exactly those,
  // without a third copy here: setting each documented default explicitly changes nothing.
  test('every documented default is the effective default', () => {
    const defaults = loadConfig();
    const written = Object.values(SETTINGS).filter((s) => s.default !== undefined && s.env !== 'KINU_CONCURRENCY');
    assert.ok(written.length > 30, `only ${written.length} settings have a default`);
    for (const s of written)
      assert.deepEqual(loadConfig({ env: { [s.env]: s.default! } }), defaults, `${s.env}=${s.default}`);
    // The two computed defaults.
    assert.equal(SETTINGS.concurrency.default, '2 × CPU cores');
    assert.equal(defaults.limits.concurrency, 2 * availableParallelism());
    assert.equal(defaults.source.root, EXAMPLES);
  });

  test('sources: folder, file://, s3:// and http(s):// base URLs', () => {
    const src = (v: string) => {
      const c = loadConfig({ env: { KINU_SOURCE: v } }).source;
      return { kind: c.kind, root: c.root };
    };
    assert.deepEqual(src('s3://photos/originals'), { kind: 's3', root: 's3://photos/originals' });
    assert.deepEqual(src('s3://photos'), { kind: 's3', root: 's3://photos' });
    assert.deepEqual(src('https://img.example.com/base'), { kind: 'http', root: 'https://img.example.com/base/' });
    assert.deepEqual(src('http://127.0.0.1:9000/'), { kind: 'http', root: 'http://127.0.0.1:9000/' });
    assert.deepEqual(src('file:///srv/x'), { kind: 'file', root: '/srv/x' });
    const c = loadConfig({
      env: {
        KINU_HTTP_ALLOW_NETS: '127.0.0.0/8, ::1/128,10.1.2.3',
        KINU_TOKEN: 'a-token-of-16-chars',
        KINU_PURGE_URL: 'http://127.0.0.1:6081/, http://10.0.0.2/',
      },
    });
    assert.deepEqual(c.source.http.allowNets, ['127.0.0.0/8', '::1/128', '10.1.2.3']);
    assert.deepEqual(c.management, {
      token: 'a-token-of-16-chars',
      purgeUrls: ['http://127.0.0.1:6081/', 'http://10.0.0.2/'],
    });
  });

  test('flag > env > file > default', () => {
    const file = configFile({ port: 1111, host: '127.0.0.2', queue: 7, maxFrames: 9 });
    const c = loadConfig({ flags: { port: '3333' }, env: { KINU_PORT: '2222', KINU_HOST: '127.0.0.3' }, file });
    assert.equal(c.server.port, 3333);
    assert.equal(c.server.host, '127.0.0.3');
    assert.equal(c.limits.queue, 7);
    assert.equal(c.limits.maxFrames, 9);
    assert.equal(c.limits.maxPixels, 100_000_000);
  });

  test('an empty value counts as unset and falls through', () => {
    const c = loadConfig({ flags: { port: '' }, env: { KINU_PORT: '2222', KINU_HOST: '', KINU_SECRET: '' } });
    assert.equal(c.server.port, 2222);
    assert.equal(c.server.host, '0.0.0.0');
    assert.deepEqual(c.signing.secrets, []);
  });

  test('values are parsed into their types', () => {
    const c = loadConfig({
      env: {
        KINU_PORT: '0',
        KINU_SOURCE: 'file:///srv/images',
        KINU_SECRET: `${SECRET}, another-secret-1234`,
        KINU_CONCURRENCY: '3',
        KINU_QUEUE: '0',
        KINU_ORIGINALS: 'deny',
        KINU_MAX_BYTES: '1000',
        KINU_MAX_PIXELS: '10',
        KINU_MAX_FRAMES: '1',
        KINU_TIMEOUT: '0.25',
        KINU_CACHE_CONTROL: 'public, max-age=60',
        KINU_LOG_LEVEL: 'silent',
      },
    });
    assert.equal(c.server.port, 0);
    assert.equal(c.source.root, '/srv/images');
    assert.deepEqual(c.signing.secrets, [SECRET, 'another-secret-1234']);
    assert.deepEqual(c.limits, {
      maxBytes: 1000,
      maxPixels: 10,
      maxFrames: 1,
      timeoutMs: 250,
      memoryBytes: 1024 * 1024 * 1024,
      concurrency: 3,
      queue: 0,
      foreign: { workers: 1, heic: true },
    });
    assert.equal(c.http.originals, 'deny');
    assert.equal(c.http.cacheControl, 'public, max-age=60');
    assert.equal(c.server.logLevel, 'silent');
    assert.equal(loadConfig({ env: { KINU_SOURCE: 'some/dir' } }).source.root, resolve('some/dir'));
  });

  test('every bad value names its env var and flag', () => {
    const BAD: [string, string][] = [
      ['KINU_PORT', 'abc'],
      ['KINU_PORT', '65536'],
      ['KINU_PORT', '-1'],
      ['KINU_SOURCE', 's3://Bad_Bucket/prefix'],
      ['KINU_SOURCE', 'https://u:p@example.com/'],
      ['KINU_SOURCE', 'https://example.com/?a=1'],
      ['KINU_SOURCE', 'ftp://example.com/'],
      ['KINU_SOURCE', 'file://host/x'],
      ['KINU_TOKEN', 'short'],
      ['KINU_TOKEN', 'has a space in it, long enough'],
      ['KINU_SOURCE_TIMEOUT', '0'],
      ['KINU_SOURCE_RETRIES', '11'],
      ['KINU_BREAKER_FAILURES', '0'],
      ['KINU_STALE_IF_ERROR', '-1'],
      ['KINU_HTTP_ALLOW_NETS', '10.0.0.0/33'],
      ['KINU_HTTP_ALLOW_NETS', 'localhost'],
      ['KINU_HTTP_REDIRECTS', 'x'],
      ['KINU_PURGE_URL', 'varnish:6081'],
      ['KINU_SECRET', 'short'],
      ['KINU_SECRET', ','],
      ['KINU_CONCURRENCY', '0'],
      ['KINU_CONCURRENCY', '1.5'],
      ['KINU_QUEUE', 'x'],
      ['KINU_DIALECTS', 'imagor=/im'],
      ['KINU_DIALECTS', 'native=img'],
      ['KINU_DIALECTS', 'native=/_kinu'],
      ['KINU_DIALECTS', 'native'],
      ['KINU_ORIGINALS', 'maybe'],
      ['KINU_MAX_BYTES', '0'],
      ['KINU_MAX_PIXELS', '1e9'],
      ['KINU_MAX_FRAMES', '0'],
      ['KINU_TIMEOUT', '0'],
      ['KINU_TIMEOUT', '3601'],
      ['KINU_TIMEOUT', 'ten'],
      ['KINU_CACHE_CONTROL', 'a\nb'],
      ['KINU_PRESETS', 'nope'],
      ['KINU_PRESETS', '[]'],
      ['KINU_LOG_LEVEL', 'loud'],
    ];
    const byEnv = new Map(Object.values(SETTINGS).map((s) => [s.env, s.flag]));
    for (const [env, value] of BAD) {
      const p = problems({ env: { [env]: value } });
      assert.equal(p.length, 1, `${env}=${value}: ${p.join('; ')}`);
      assert.ok(p[0]!.startsWith(`${env} (--${byEnv.get(env)}): `), p[0]);
    }
  });

  test('the message says what is expected', () => {
    assert.match(problems({ env: { KINU_PORT: 'abc' } })[0]!, /integer 0–65535.*"abc"/);
    assert.match(
      problems({ flags: { port: '99999' } })[0]!,
      /KINU_PORT \(--port\): expected an integer 0–65535, got "99999"/,
    );
  });

  test('several errors are reported at once', () => {
    const p = problems({ env: { KINU_PORT: 'x', KINU_QUEUE: 'y' }, flags: { timeout: 'z' } });
    assert.equal(p.length, 3);
    assert.ok(p.some((l) => l.startsWith('KINU_PORT')));
    assert.ok(p.some((l) => l.startsWith('KINU_QUEUE')));
    assert.ok(p.some((l) => l.startsWith('KINU_TIMEOUT')));
    assert.throws(() => loadConfig({ env: { KINU_PORT: 'x', KINU_QUEUE: 'y' } }), /KINU_PORT[\s\S]*KINU_QUEUE/);
  });

  test('secrets: 16 characters at least, and never echoed', () => {
    const p = problems({ env: { KINU_SECRET: `${SECRET},fifteen-chars-x` } });
    assert.match(p[0]!, /16 characters/);
    assert.ok(!p[0]!.includes('fifteen') && !p[0]!.includes(SECRET), p[0]);
    assert.deepEqual(loadConfig({ env: { KINU_SECRET: SECRET } }).signing.secrets, [SECRET]);
  });

  test('config file: unknown keys, bad JSON, missing file; lists and objects', () => {
    const p = problems({ file: configFile({ port: 1, prot: 2 }) });
    assert.equal(p.length, 1);
    assert.match(p[0]!, /unknown setting "prot"/);
    assert.match(problems({ file: configFile('{nope') })[0]!, /^--config /);
    assert.match(problems({ file: configFile([1]) })[0]!, /JSON object/);
    assert.match(problems({ file: '/no/such/kinu.json' })[0]!, /^--config \/no\/such\/kinu.json/);
    const p2 = problems({ file: configFile({ port: 'x' }) });
    assert.ok(p2[0]!.startsWith('KINU_PORT (--port)'), p2[0]);
    const c = loadConfig({
      file: configFile({ secret: [SECRET, 'another-secret-1234'], presets: { thumb: 'w=10' }, timeout: 2 }),
    });
    assert.deepEqual(c.signing.secrets, [SECRET, 'another-secret-1234']);
    assert.deepEqual(c.presets, { thumb: { w: 10 } });
    assert.equal(c.limits.timeoutMs, 2000);
  });

  test('presets are validated; a bad one is named', () => {
    const c = loadConfig({ env: { KINU_PRESETS: '{"thumb":"w=200&h=200&fit=cover","hero":"?w=1600&fmt=auto"}' } });
    assert.deepEqual(c.presets, { thumb: { w: 200, h: 200, fit: 'cover' }, hero: { w: 1600, fmt: 'auto' } });
    const cases: [string, RegExp][] = [
      ['{"thumb":"w=0"}', /preset "thumb": w: expected integer 1–8192/],
      ['{"thumb":"w=1","big":"nope=1"}', /preset "big": nope: unknown parameter/],
      ['{"a":"preset=b"}', /preset "a": .*cannot hold preset/],
      ['{"a":"w=1&w=2"}', /preset "a": w: given more than once/],
      ['{"bad name":"w=1"}', /preset "bad name"/],
      ['{"a":12}', /preset "a"/],
    ];
    for (const [json, re] of cases) {
      const p = problems({ env: { KINU_PRESETS: json } });
      assert.match(p[0]!, /^KINU_PRESETS \(--presets\): /);
      assert.match(p[0]!, re);
    }
  });

  test('dialects', () => {
    assert.deepEqual(loadConfig({ env: { KINU_DIALECTS: 'native=/' } }).http.dialects, { native: '' });
    assert.deepEqual(loadConfig({ env: { KINU_DIALECTS: 'native=/img' } }).http.dialects, { native: '/img' });
    assert.deepEqual(loadConfig({ env: { KINU_DIALECTS: ' native=/img/v1 ' } }).http.dialects, { native: '/img/v1' });
    for (const bad of ['native=/img/', 'native=//', 'native=/a b', 'imagor=/t', 'native=/x,native=']) {
      assert.equal(problems({ env: { KINU_DIALECTS: bad } }).length, 1, bad);
    }
  });

  test('the result is deeply frozen', () => {
    const c = loadConfig({ env: { KINU_PRESETS: '{"t":"w=1&crop=1,2,3,4"}', KINU_SECRET: SECRET } });
    assert.ok(Object.isFrozen(c) && Object.isFrozen(c.limits) && Object.isFrozen(c.signing.secrets));
    assert.ok(Object.isFrozen(c.presets.t) && Object.isFrozen(c.presets.t!.crop));
    assert.throws(() => {
      (c.limits as { queue: number }).queue = 1;
    }, TypeError);
  });

  test('every setting has a KINU_ env name and a kebab-case flag', () => {
    for (const s of Object.values(SETTINGS)) {
      assert.match(s.env, /^KINU_[A-Z0-9_]+$/);
      assert.match(s.flag, /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/);
      assert.equal(s.env, `KINU_${s.flag.toUpperCase().replace(/-/g, '_')}`);
    }
  });
});
