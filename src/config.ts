// One schema for every setting. Precedence: CLI flag > KINU_* environment > config file > default.
// Every bad value is reported at once, by its env and flag name, and the result is frozen.
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { parseParams } from './url/native.ts';
import type { ParamValues } from './url/params.ts';
import { DIALECT_NAMES, type DialectName } from './url/dialects.ts';
import { parseImgproxyPresets, type ImgproxyPresets } from './url/imgproxy/index.ts';
import {
  NEXT_DEVICE_SIZES,
  NEXT_FORMATS,
  NEXT_IMAGE_SIZES,
  NEXT_QUALITIES,
  nextjsFormats,
  nextjsQualities,
  nextjsWidths,
} from './url/nextjs/settings.ts';
import { validateKey } from './url/key.ts';
import { createAddressGuard } from './source/ssrf.ts';
import type { NegotiatedFormat } from './formats.ts';
import { checkOriginalTemplate, TOFU_ORIGINAL_DEFAULT } from './url/tofu.ts';
import type { ConnectionLimits } from './http/connections.ts';

const EXAMPLES = fileURLToPath(new URL('../examples/images', import.meta.url));

const int = (min: number, max: number) => {
  const message = `expected an integer ${min}–${max}`;
  return z
    .string()
    .regex(/^\d+$/, message)
    .transform(Number)
    .pipe(z.number().int().min(min, message).max(max, message));
};

export type SourceKind = 'file' | 's3' | 'http';

const source = z
  .string()
  .min(1)
  .transform((s, ctx): { kind: SourceKind; root: string } => {
    if (/^s3:\/\//i.test(s)) {
      if (!/^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](\/[^\s]*)?$/.test(s)) {
        ctx.addIssue({ code: 'custom', message: 'expected s3://bucket/prefix (a valid bucket name)' });
        return z.NEVER;
      }
      return { kind: 's3', root: s };
    }
    if (/^https?:\/\//i.test(s)) {
      let u: URL;
      try {
        u = new URL(s);
      } catch {
        ctx.addIssue({ code: 'custom', message: 'expected http(s)://host/base/' });
        return z.NEVER;
      }
      if (u.search || u.hash || u.username || u.password) {
        ctx.addIssue({ code: 'custom', message: 'an http(s) source is a base URL: no query, fragment or credentials' });
        return z.NEVER;
      }
      return { kind: 'http', root: u.href.endsWith('/') ? u.href : `${u.href}/` };
    }
    if (/^file:\/\//i.test(s)) {
      try {
        return { kind: 'file', root: fileURLToPath(s) };
      } catch {
        ctx.addIssue({ code: 'custom', message: 'expected file:///absolute/path' });
        return z.NEVER;
      }
    }
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(s)) {
      ctx.addIssue({
        code: 'custom',
        message: 'expected a folder, file:///path, s3://bucket/prefix or http(s)://host/base/',
      });
      return z.NEVER;
    }
    return { kind: 'file', root: isAbsolute(s) ? s : resolve(s) };
  });

/** `a, b,,c` → `['a', 'b', 'c']`: the shape of every list setting. */
const commaList = (s: string): string[] =>
  s
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);

const seconds = (min: number, max: number) => {
  const message = `expected seconds ${min}–${max}`;
  return z
    .string()
    .regex(/^\d+(\.\d+)?$/, message)
    .transform(Number)
    .pipe(z.number().min(min, message).max(max, message));
};

/** CIDR blocks (`10.0.0.0/8`, `::1/128`) or single addresses, each optionally with a port, comma-separated; parsed as the SSRF guard will. */
const nets = z.string().transform((s, ctx) => {
  const list = commaList(s);
  try {
    createAddressGuard(list);
  } catch (e) {
    ctx.addIssue({ code: 'custom', message: (e as Error).message });
    return z.NEVER;
  }
  return list;
});

const secrets = z.string().transform((s, ctx) => {
  const list = commaList(s);
  if (list.length === 0) {
    ctx.addIssue({ code: 'custom', message: 'no secret in the list' });
    return z.NEVER;
  }
  if (list.some((x) => x.length < 16)) {
    ctx.addIssue({ code: 'custom', message: 'each secret needs at least 16 characters' });
    return z.NEVER;
  }
  return list;
});

/** Keys a peer system already signs with: taken as they are (any length), comma-separated for rotation. */
const peerKeys = z.string().transform((s, ctx) => {
  const list = commaList(s);
  if (list.length === 0) {
    ctx.addIssue({ code: 'custom', message: 'no key in the list' });
    return z.NEVER;
  }
  return list;
});

/** Dialect names, comma-separated. */
const dialectList = z.string().transform((s, ctx) => {
  const list = commaList(s);
  const unknown = list.find((x) => !(DIALECT_NAMES as readonly string[]).includes(x));
  if (unknown !== undefined) {
    ctx.addIssue({ code: 'custom', message: `unknown dialect "${unknown}"; known: ${DIALECT_NAMES.join(', ')}` });
    return z.NEVER;
  }
  return list as DialectName[];
});

/** Seconds, or `auto`: computed from other settings. */
const secondsOrAuto = (min: number, max: number) => z.union([z.literal('auto'), seconds(min, max)]);

/** An http(s) base URL without query, fragment or credentials; kept without its trailing slash. */
const baseUrl = z.string().transform((s, ctx) => {
  let u: URL | undefined;
  try {
    u = new URL(s);
  } catch {
    /* reported below */
  }
  if (
    !u ||
    !/^https?:$/.test(u.protocol) ||
    u.search ||
    u.hash ||
    u.username ||
    u.password ||
    !/^https?:\/\//i.test(s)
  ) {
    ctx.addIssue({
      code: 'custom',
      message: 'expected http(s)://host[:port][/path], without query, fragment or credentials',
    });
    return z.NEVER;
  }
  return u.href.replace(/\/+$/, '');
});

const dialects = z.string().transform((s, ctx) => {
  const out: Partial<Record<DialectName, string>> = {};
  const fail = (message: string) => {
    ctx.addIssue({ code: 'custom', message });
    return z.NEVER;
  };
  for (const part of commaList(s)) {
    const [name, prefix] = part.split('=') as [string, string | undefined];
    if (!(DIALECT_NAMES as readonly string[]).includes(name))
      return fail(`unknown dialect "${name}"; known: ${DIALECT_NAMES.join(', ')}`);
    if (!prefix || !/^\/([A-Za-z0-9_-]+(\/[A-Za-z0-9_-]+)*)?$/.test(prefix) || prefix.startsWith('/_kinu'))
      return fail(`bad prefix "${prefix ?? ''}" for ${name}; expected / or /path`);
    const mount = prefix === '/' ? '' : prefix;
    if (name in out) return fail(`${name} given twice`);
    if (Object.values(out).includes(mount)) return fail(`two dialects on ${prefix}`);
    out[name as DialectName] = mount;
  }
  if (Object.keys(out).length === 0) return fail('enable at least one dialect, e.g. native=/');
  return out;
});

const presets = z.string().transform((s, ctx) => {
  let raw: unknown;
  try {
    raw = JSON.parse(s);
  } catch {
    ctx.addIssue({ code: 'custom', message: 'expected a JSON object of name → query string' });
    return z.NEVER;
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    ctx.addIssue({ code: 'custom', message: 'expected a JSON object of name → query string' });
    return z.NEVER;
  }
  const out: Record<string, ParamValues> = {};
  for (const [name, query] of Object.entries(raw)) {
    if (!/^[a-zA-Z0-9_-]{1,64}$/.test(name) || typeof query !== 'string') {
      ctx.addIssue({
        code: 'custom',
        message: `preset "${name}": expected a name of letters, digits, - or _ and a query string`,
      });
      return z.NEVER;
    }
    try {
      const values = parseParams(query.replace(/^\?/, '').split('&').filter(Boolean));
      if (values.preset !== undefined || values.sig !== undefined)
        throw new Error('a preset cannot hold preset or sig');
      Object.defineProperty(out, name, { value: values, enumerable: true, writable: true, configurable: true }); // __proto__ stays a name
    } catch (e) {
      ctx.addIssue({
        code: 'custom',
        message: `preset "${name}": ${(e as { detail?: string }).detail ?? (e as Error).message}`,
      });
      return z.NEVER;
    }
  }
  return out;
});

/** imgproxy keys and salts: hex, comma-separated for several pairs (IMGPROXY_KEY / IMGPROXY_SALT as they are). */
const hexList = z.string().transform((s, ctx) => {
  const list = commaList(s);
  if (list.length === 0 || list.some((x) => !/^([0-9a-fA-F]{2})+$/.test(x))) {
    ctx.addIssue({ code: 'custom', message: 'expected hex (pairs of 0-9 a-f digits), comma-separated for several' });
    return z.NEVER;
  }
  return list.map((x) => x.toLowerCase());
});
const imgproxyPresets = z.string().transform((s, ctx): ImgproxyPresets => {
  try {
    return parseImgproxyPresets(s);
  } catch (e) {
    ctx.addIssue({ code: 'custom', message: (e as Error).message });
    return z.NEVER;
  }
});

/** `default` is the value as an operator would type it: shown in the README and `--help`, and parsed by `schema` when none is given. */
interface Setting<T, D extends string | undefined = string | undefined> {
  env: string;
  flag: string;
  default: D;
  doc: string;
  schema: z.ZodType<T, string>;
}
const setting = <T, D extends string | undefined>(
  env: string,
  flag: string,
  def: D,
  doc: string,
  schema: z.ZodType<T, string>,
): Setting<T, D> => ({ env, flag, default: def, doc, schema });

export const SETTINGS = {
  host: setting('KINU_HOST', 'host', '0.0.0.0', 'listen address', z.string().min(1)),
  port: setting(
    'KINU_PORT',
    'port',
    '8080',
    'listen port (`0` = any free port; the chosen port is logged)',
    int(0, 65535),
  ),
  source: setting(
    'KINU_SOURCE',
    'source',
    './examples/images',
    'where originals live: a folder path or `file:///abs/path` (default: the bundled sample images), `s3://bucket/prefix`, or an HTTP origin `http(s)://host/base/` (read-only)',
    source,
  ),
  token: setting(
    'KINU_TOKEN',
    'token',
    undefined,
    'bearer token of the management API (`/_kinu/objects`, `/_kinu/info`), 16+ characters; none = management API off',
    z
      .string()
      .min(16, 'expected at least 16 characters')
      .regex(/^[\x21-\x7e]+$/, 'expected printable ASCII without spaces'),
  ),
  sourceTimeout: setting(
    'KINU_SOURCE_TIMEOUT',
    'source-timeout',
    '5',
    'seconds one source operation may take, retries included (504 above)',
    seconds(0.05, 600),
  ),
  sourceRetries: setting(
    'KINU_SOURCE_RETRIES',
    'source-retries',
    '2',
    'further attempts after a transient source failure (5xx, reset), with jittered exponential backoff, within the timeout',
    int(0, 10),
  ),
  breakerFailures: setting(
    'KINU_BREAKER_FAILURES',
    'breaker-failures',
    '5',
    'source failures in a row that open the circuit breaker: requests then fail fast (502 + `Retry-After`) instead of waiting on a dead store',
    int(1, 1000),
  ),
  breakerCooldown: setting(
    'KINU_BREAKER_COOLDOWN',
    'breaker-cooldown',
    '10',
    'seconds the breaker stays open before one request probes the source again',
    seconds(0.05, 3600),
  ),
  staleIfError: setting(
    'KINU_STALE_IF_ERROR',
    'stale-if-error',
    '86400',
    'seconds a variant of the last good version of an original may still be served from cache (with `X-Kinu-Stale`) while the source fails; `0` = off',
    seconds(0, 31536000),
  ),
  httpAllowNets: setting(
    'KINU_HTTP_ALLOW_NETS',
    'http-allow-nets',
    undefined,
    'HTTP source: addresses or CIDR blocks it may reach although they are loopback, private, link-local or metadata addresses (refused by default, after DNS and on every redirect); a plain entry allows every port, `10.0.0.5:8080`, `[::1]:9000` or `10.0.0.0/8:443` one port only',
    nets,
  ),
  httpRedirects: setting(
    'KINU_HTTP_REDIRECTS',
    'http-redirects',
    '3',
    'HTTP source: redirects followed at most',
    int(0, 20),
  ),
  purgeUrl: setting(
    'KINU_PURGE_URL',
    'purge-url',
    undefined,
    'after an original is deleted or replaced, kinu sends `BAN <url>` with `X-Kinu-Key: <key>` to each of these comma-separated URLs (e.g. every Varnish, see deploy/), and again once `KINU_STAT_TTL` has passed; none = off',
    z.string().transform((s, ctx) => {
      const list = commaList(s);
      if (list.length === 0 || list.some((u) => !/^https?:\/\/[^\s]+$/.test(u))) {
        ctx.addIssue({ code: 'custom', message: 'expected http(s) URLs, comma-separated' });
        return z.NEVER;
      }
      return list;
    }),
  ),
  secret: setting(
    'KINU_SECRET',
    'secret',
    undefined,
    'signing secret(s), comma-separated for rotation, 16+ characters each; none = unsigned mode',
    secrets,
  ),
  concurrency: setting(
    'KINU_CONCURRENCY',
    'concurrency',
    '2 × CPU cores',
    "pipelines run at once (per worker process; each runs on one libvips thread, which keeps a core ~90 % busy, hence two per core), and half as many more requests may fetch their originals meanwhile; kinu starts libuv's thread pool, which runs them, with this many threads + 4 for file and DNS work, unless `UV_THREADPOOL_SIZE` is set in the environment",
    int(1, 1024),
  ),
  queue: setting(
    'KINU_QUEUE',
    'queue',
    '100',
    'requests that may wait beyond those running or fetching (1.5 × `KINU_CONCURRENCY`); one more gets 503 + `Retry-After`',
    int(0, 100000),
  ),
  dialects: setting(
    'KINU_DIALECTS',
    'dialects',
    'native=/',
    `enabled URL dialects and their path prefixes: ${DIALECT_NAMES.join(', ')}`,
    dialects,
  ),
  thumborKey: setting(
    'KINU_THUMBOR_KEY',
    'thumbor-key',
    undefined,
    "thumbor dialect: thumbor's `SECURITY_KEY`(s), comma-separated for rotation; none = `unsafe/` URLs accepted and signatures not checked",
    peerKeys,
  ),
  imgixToken: setting(
    'KINU_IMGIX_TOKEN',
    'imgix-token',
    undefined,
    "imgix dialect: the source's secure URL token(s), comma-separated for rotation (`s` = MD5 of token + path + query); none = unsigned",
    peerKeys,
  ),
  unsignedDialects: setting(
    'KINU_UNSIGNED_DIALECTS',
    'unsigned-dialects',
    undefined,
    'dialects allowed to serve unsigned URLs although a secret or key is set, comma-separated (e.g. `thumbor,imgproxy`; `native` = native URLs without `KINU_SECRET`). Without it kinu refuses to start when a mounted dialect has no key of its own while `KINU_SECRET`, `KINU_IMGPROXY_KEY`, `KINU_THUMBOR_KEY`, `KINU_TOFU_SECRET` or `KINU_IMGIX_TOKEN` is set. `cloudflare` and `ipx` URLs have no signature, so beside a signed dialect they must be listed; `nextjs` needs no entry (its width and quality allow-lists bound what it makes)',
    dialectList,
  ),
  tofuSecret: setting(
    'KINU_TOFU_SECRET',
    'tofu-secret',
    undefined,
    'tofu dialect: HMAC-SHA256 secret(s), comma-separated for rotation; none = the signature token is checked for its shape only',
    peerKeys,
  ),
  tofuOriginal: setting(
    'KINU_TOFU_ORIGINAL',
    'tofu-original',
    TOFU_ORIGINAL_DEFAULT,
    "tofu dialect: the original's key, `{path}` being the URL path before the size token (`/recipes/1203423/750x500cq60/….jpg` → `recipes/1203423.jpg`)",
    z.string().superRefine((t, ctx) => {
      const why = checkOriginalTemplate(t);
      if (why) ctx.addIssue({ code: 'custom', message: why });
    }),
  ),
  nextjsWidths: setting(
    'KINU_NEXTJS_WIDTHS',
    'nextjs-widths',
    [...NEXT_IMAGE_SIZES, ...NEXT_DEVICE_SIZES].join(','),
    "nextjs dialect: the `w` values answered, comma-separated (Next's `images.imageSizes` + `images.deviceSizes`); any other is a 400",
    nextjsWidths,
  ),
  nextjsQualities: setting(
    'KINU_NEXTJS_QUALITIES',
    'nextjs-qualities',
    NEXT_QUALITIES.join(','),
    "nextjs dialect: the `q` values answered (Next's `images.qualities`; Next 16 answers only 75 by default); any other is a 400",
    nextjsQualities,
  ),
  nextjsFormats: setting(
    'KINU_NEXTJS_FORMATS',
    'nextjs-formats',
    NEXT_FORMATS.join(','),
    "nextjs dialect: Next's `images.formats`, the types picked from `Accept` (first match wins): `image/webp`, `image/avif,image/webp`, …",
    nextjsFormats,
  ),
  imgproxyKey: setting(
    'KINU_IMGPROXY_KEY',
    'imgproxy-key',
    undefined,
    'imgproxy dialect: `IMGPROXY_KEY` as it is (hex), comma-separated for several key/salt pairs; none = unsigned (`insecure/` accepted)',
    hexList,
  ),
  imgproxySalt: setting(
    'KINU_IMGPROXY_SALT',
    'imgproxy-salt',
    undefined,
    'imgproxy dialect: `IMGPROXY_SALT` (hex), one per key, in the same order',
    hexList,
  ),
  imgproxySignatureSize: setting(
    'KINU_IMGPROXY_SIGNATURE_SIZE',
    'imgproxy-signature-size',
    '32',
    'imgproxy dialect: `IMGPROXY_SIGNATURE_SIZE`, bytes of the HMAC kept in signatures',
    int(1, 32),
  ),
  imgproxyPresets: setting(
    'KINU_IMGPROXY_PRESETS',
    'imgproxy-presets',
    undefined,
    'imgproxy dialect: `IMGPROXY_PRESETS` as it is: `name=option/option`, comma- or newline-separated; `default` applies to every URL',
    imgproxyPresets,
  ),
  imgproxyWatermark: setting(
    'KINU_IMGPROXY_WATERMARK',
    'imgproxy-watermark',
    undefined,
    "imgproxy dialect: key in the source of the image `wm:` places (imgproxy's `IMGPROXY_WATERMARK_PATH`); none = `wm:` is refused",
    z
      .string()
      .min(1)
      .transform((k, ctx) => {
        try {
          return validateKey(k);
        } catch (e) {
          ctx.addIssue({ code: 'custom', message: (e as { detail?: string }).detail ?? 'invalid key' });
          return z.NEVER;
        }
      }),
  ),
  originals: setting(
    'KINU_ORIGINALS',
    'originals',
    'allow',
    'requests without params (the original bytes, served only when they are an image): `allow` = public, even with `KINU_SECRET` set; `signed` = they need `sig` like variants (needs `KINU_SECRET`); `deny` = refused (403)',
    z.enum(['allow', 'signed', 'deny']),
  ),
  playground: setting(
    'KINU_PLAYGROUND',
    'playground',
    'auto',
    '`/_kinu/playground`, a page to try every param: `auto` = on unless `KINU_SECRET` is set (it signs any URL it is asked for), `on`, `off`',
    z.enum(['auto', 'on', 'off']),
  ),
  maxBytes: setting(
    'KINU_MAX_BYTES',
    'max-bytes',
    '52428800',
    'largest original read, in bytes (413 above)',
    int(1, 2 ** 40),
  ),
  maxPixels: setting(
    'KINU_MAX_PIXELS',
    'max-pixels',
    '100000000',
    'largest original in pixels, all frames counted, checked from the header (422 above); also caps the output',
    int(1, 2 ** 40),
  ),
  maxFrames: setting(
    'KINU_MAX_FRAMES',
    'max-frames',
    '500',
    'most frames in an animated original (422 above)',
    int(1, 100000),
  ),
  timeout: setting(
    'KINU_TIMEOUT',
    'timeout',
    '10',
    'seconds a request that needs the pipeline may take from its arrival, time waiting for a slot included; a 504 is sent by then + 1 s whatever libvips is doing',
    seconds(0.1, 3600),
  ),
  memoryBudget: setting(
    'KINU_MEMORY_BUDGET',
    'memory-budget',
    '1024',
    'MiB of estimated peak memory that running pipelines may hold together (decode, resize, encoder; AVIF costs ~36 B per output pixel); more waits, and what alone exceeds it is refused, or served in a cheaper format where the format was not asked for. Sized for a 2 GB box with the default memory cache',
    int(64, 1024 * 1024),
  ),
  codecWorkers: setting(
    'KINU_CODEC_WORKERS',
    'codec-workers',
    '1',
    'threads (per worker process) that decode what libvips cannot with WebAssembly codecs (HEIC, JPEG XL); each starts on first use, holds ~30 MB plus up to ~20 B per pixel of the image it decodes, is terminated at `KINU_TIMEOUT`, and leaves after a minute idle; more such originals wait',
    int(1, 64),
  ),
  heic: setting(
    'KINU_HEIC',
    'heic',
    'on',
    "`on`: HEIC/HEIF originals coded with HEVC are decoded (libheif + libde265, LGPL, in WebAssembly); `off`: they get 415 as before. HEVC is covered by patent pools: where those patents apply, decoding it is the operator's call",
    z.enum(['on', 'off', 'true', 'false']).transform((v) => v === 'on' || v === 'true'),
  ),
  cacheControl: setting(
    'KINU_CACHE_CONTROL',
    'cache-control',
    'public, max-age=31536000',
    '`Cache-Control` of images and originals',
    z.string().regex(/^[\x20-\x7e]+$/, 'expected printable ASCII on one line'),
  ),
  presets: setting(
    'KINU_PRESETS',
    'presets',
    '{}',
    'named param sets, JSON: `{"thumb":"w=200&h=200&fit=cover"}`',
    presets,
  ),
  statTtl: setting(
    'KINU_STAT_TTL',
    'stat-ttl',
    '1',
    'seconds a source lookup (version, or a 404) is remembered, so cache hits cost no source round trip; an updated original shows within this time',
    seconds(0, 86400),
  ),
  memoryCacheMb: setting(
    'KINU_MEMORY_CACHE_MB',
    'memory-cache-mb',
    '256',
    'in-memory LRU of encoded variants, in MiB (`0` = off)',
    int(0, 1024 * 1024),
  ),
  cacheDir: setting(
    'KINU_CACHE_DIR',
    'cache-dir',
    undefined,
    'disk cache folder (survives restarts); none = memory cache only',
    z
      .string()
      .min(1)
      .transform((d) => (isAbsolute(d) ? d : resolve(d))),
  ),
  diskCacheMb: setting(
    'KINU_DISK_CACHE_MB',
    'disk-cache-mb',
    '1024',
    'disk cache size in MiB; least recently used variants go first',
    int(1, 1024 * 1024 * 1024),
  ),
  resultStore: setting(
    'KINU_RESULT_STORE',
    'result-store',
    undefined,
    'shared result store `s3://bucket/prefix`, so several instances share encoded variants; none = off',
    z.string().regex(/^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](\/[^\s]*)?$/, 'expected s3://bucket/prefix'),
  ),
  s3Endpoint: setting(
    'KINU_S3_ENDPOINT',
    's3-endpoint',
    undefined,
    'S3-compatible endpoint URL (path-style is used when set); default AWS; credentials and region come from the standard AWS environment chain',
    z.string().regex(/^https?:\/\/[^\s/]+\/?$/, 'expected http(s)://host[:port]'),
  ),
  logLevel: setting(
    'KINU_LOG_LEVEL',
    'log-level',
    'info',
    'fatal · error · warn · info · debug · trace · silent',
    z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
  ),
  headersTimeout: setting(
    'KINU_HEADERS_TIMEOUT',
    'headers-timeout',
    '10',
    "seconds a client may take to send a request's headers (408 above)",
    seconds(0.1, 3600),
  ),
  requestTimeout: setting(
    'KINU_REQUEST_TIMEOUT',
    'request-timeout',
    '30',
    "seconds a client may take to send a request's body once its headers are in, uploads excepted (408 above)",
    seconds(0.1, 3600),
  ),
  uploadTimeout: setting(
    'KINU_UPLOAD_TIMEOUT',
    'upload-timeout',
    'auto',
    "seconds a client may take to send an upload's body (`/_kinu/objects`, 408 above); `auto` = `KINU_MAX_BYTES` at 64 KiB/s, at least 60",
    secondsOrAuto(0.1, 86400),
  ),
  idleTimeout: setting(
    'KINU_IDLE_TIMEOUT',
    'idle-timeout',
    '65',
    'seconds a keep-alive connection may stay idle between requests; keep it above the idle timeout of the proxy in front (Varnish, ALB: 60)',
    seconds(0.1, 3600),
  ),
  writeTimeout: setting(
    'KINU_WRITE_TIMEOUT',
    'write-timeout',
    '15',
    'seconds an answer may make no progress because the client does not read it (checked once per period: cut after 1–2×); then the connection is closed and its buffers freed',
    seconds(0.1, 3600),
  ),
  maxConnections: setting(
    'KINU_MAX_CONNECTIONS',
    'max-connections',
    '4096',
    'open connections per process, idle keep-alive ones included; a connection beyond is closed at once, unanswered',
    int(1, 1_000_000),
  ),
  publicUrl: setting(
    'KINU_PUBLIC_URL',
    'public-url',
    undefined,
    "this server's public base URL (`https://img.example.com`), used in the upload answer's `url`; none = that `url` is a path",
    baseUrl,
  ),
  drainTimeout: setting(
    'KINU_DRAIN_TIMEOUT',
    'drain-timeout',
    '10',
    'seconds in-flight requests may take to finish after `SIGTERM`/`SIGINT`; then their connections are closed and kinu exits',
    seconds(0, 3600),
  ),
  workers: setting(
    'KINU_WORKERS',
    'workers',
    '1',
    'worker processes serving the port under the supervisor, each with its own caches and `KINU_CONCURRENCY`; `0` or `auto` = CPU cores',
    z
      .string()
      .regex(/^(auto|\d{1,3})$/, 'expected a number of processes, or auto')
      .transform((w) => (w === 'auto' ? 0 : Number(w))),
  ),
  supervise: setting(
    'KINU_SUPERVISE',
    'supervise',
    'on',
    '`on`: a small supervisor process owns the port and replaces at once a worker that dies (a native crash, the OOM killer); `off`: one process serves the port itself and a crash ends it (embedding, debugging, profiling)',
    z.enum(['on', 'off']),
  ),
  spareWorkers: setting(
    'KINU_SPARE_WORKERS',
    'spare-workers',
    '1',
    'workers the supervisor keeps started and idle, to take over the moment one dies (starting one takes ~1.3 s); each costs an idle process, ~100 MB',
    int(0, 16),
  ),
} as const;

export type SettingName = keyof typeof SETTINGS;
/** Never echoed in error messages: they end up in logs. */
const SECRET_SETTINGS: ReadonlySet<string> = new Set<SettingName>([
  'secret',
  'token',
  'thumborKey',
  'tofuSecret',
  'imgproxyKey',
  'imgproxySalt',
]);
type Out<K extends SettingName> = z.output<(typeof SETTINGS)[K]['schema']>;
/** Settings with a default, so always a value after `loadConfig`; the others (`none` in the README) may be unset. */
type Defaulted = { [K in SettingName]: (typeof SETTINGS)[K]['default'] extends string ? K : never }[SettingName];

/** Shown defaults that are descriptions, not values: computed instead of parsed. */
const COMPUTED_DEFAULTS: { readonly [K in SettingName]?: () => Out<K> } = {
  concurrency: () => 2 * availableParallelism(), // shown as `2 × CPU cores`: it depends on the machine
  source: () => ({ kind: 'file', root: EXAMPLES }), // shown relative to the package; resolved from this file, not from the cwd
};

export interface Config {
  readonly server: { readonly host: string; readonly port: number; readonly logLevel: Out<'logLevel'> };
  /** How `kinu serve` runs: supervised or not, worker processes and spares, and the drain deadline at shutdown. */
  readonly process: {
    readonly workers: number;
    readonly supervise: boolean;
    readonly spareWorkers: number;
    readonly drainTimeoutMs: number;
  };
  readonly source: {
    readonly kind: SourceKind;
    /** The folder, or the s3:// or http(s):// URL. */
    readonly root: string;
    readonly statTtlMs: number;
    readonly staleMs: number;
    readonly timeoutMs: number;
    readonly retries: number;
    readonly breaker: { readonly failures: number; readonly cooldownMs: number };
    readonly http: { readonly allowNets: readonly string[]; readonly redirects: number };
  };
  readonly management: { readonly token: string | undefined; readonly purgeUrls: readonly string[] };
  readonly cache: {
    readonly memoryBytes: number;
    readonly dir: string | undefined;
    readonly diskBytes: number;
    readonly resultStore: string | undefined;
  };
  readonly s3: { readonly endpoint: string | undefined };
  /** `unsignedDialects`: mounted dialects the operator lets serve unsigned URLs while others are signed. */
  readonly signing: { readonly secrets: readonly string[]; readonly unsignedDialects: readonly DialectName[] };
  /** What one client may hold: time to send a request, to take an answer, and connections. */
  readonly connections: ConnectionLimits;
  /** This server's public base URL, without trailing slash; undefined = answer paths. */
  readonly publicUrl: string | undefined;
  readonly limits: {
    readonly maxBytes: number;
    readonly maxPixels: number;
    readonly maxFrames: number;
    readonly timeoutMs: number;
    readonly memoryBytes: number;
    readonly concurrency: number;
    readonly queue: number;
    /** Decoders outside sharp: codec threads, HEIC on or off. */
    readonly foreign: { readonly workers: number; readonly heic: boolean };
  };
  readonly http: {
    readonly cacheControl: string;
    readonly originals: 'allow' | 'signed' | 'deny';
    readonly dialects: Readonly<Partial<Record<DialectName, string>>>;
    readonly playground: 'auto' | 'on' | 'off';
  };
  readonly presets: Readonly<Record<string, ParamValues>>;
  readonly imgproxy: {
    readonly keys: readonly string[];
    readonly salts: readonly string[];
    readonly signatureSize: number;
    readonly presets: ImgproxyPresets;
    readonly watermark: string | undefined;
  };
  readonly thumbor: { readonly keys: readonly string[] };
  readonly imgix: { readonly tokens: readonly string[] };
  readonly nextjs: {
    readonly widths: readonly number[];
    readonly qualities: readonly number[];
    readonly formats: readonly NegotiatedFormat[];
  };
  readonly tofu: { readonly secrets: readonly string[]; readonly original: string };
}

export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`invalid configuration:\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

export interface ConfigInput {
  /** Flag name (without --) → value, as given on the command line. */
  readonly flags?: Readonly<Record<string, string | undefined>>;
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Path of a JSON config file whose keys are the setting names (`port`, `maxBytes`, …). */
  readonly file?: string | undefined;
}

export function loadConfig(input: ConfigInput = {}): Config {
  const problems: string[] = [];
  const flags = input.flags ?? {};
  const env = input.env ?? {};
  let file: Record<string, unknown> = {};
  if (input.file !== undefined) {
    try {
      const parsed: unknown = JSON.parse(readFileSync(input.file, 'utf8'));
      if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
        throw new Error('expected a JSON object');
      file = parsed as Record<string, unknown>;
      for (const k of Object.keys(file))
        if (!Object.hasOwn(SETTINGS, k))
          problems.push(`--config ${input.file}: unknown setting "${k}"; known: ${Object.keys(SETTINGS).join(', ')}`);
    } catch (e) {
      problems.push(`--config ${input.file}: ${(e as Error).message}`);
    }
  }

  const values: Record<string, unknown> = {};
  for (const [name, s] of Object.entries(SETTINGS) as [SettingName, Setting<unknown>][]) {
    // An empty value counts as unset, so `KINU_PORT=` in an env file falls through to the next source.
    const raw = [flags[s.flag], env[s.env], fromFile(file[name])].find((x) => x !== undefined && x !== '');
    if (raw !== undefined) {
      const r = s.schema.safeParse(raw);
      if (r.success) {
        values[name] = r.data;
        continue;
      }
      problems.push(
        `${s.env} (--${s.flag}): ${r.error.issues[0]?.message ?? 'invalid'}${SECRET_SETTINGS.has(name) ? '' : `, got ${JSON.stringify(raw.length > 80 ? `${raw.slice(0, 80)}…` : raw)}`}`,
      );
    }
    // Unset, or bad and reported: the default, so the checks below see what they would with the value unset.
    if (s.default !== undefined) values[name] = COMPUTED_DEFAULTS[name]?.() ?? s.schema.parse(s.default);
  }
  const [ipKeys, ipSalts] = [values.imgproxyKey as string[] | undefined, values.imgproxySalt as string[] | undefined];
  if ((ipKeys?.length ?? 0) !== (ipSalts?.length ?? 0)) {
    problems.push(
      `KINU_IMGPROXY_KEY (--imgproxy-key) and KINU_IMGPROXY_SALT (--imgproxy-salt): give one salt per key, got ${ipKeys?.length ?? 0} key(s) and ${ipSalts?.length ?? 0} salt(s)`,
    );
  }
  problems.push(...unsignedDialectProblems(values));
  if (values.supervise === 'off' && ((values.workers as number) || availableParallelism()) > 1) {
    problems.push(
      'KINU_WORKERS (--workers): more than one worker needs the supervisor; set KINU_SUPERVISE (--supervise) to on',
    );
  }
  if (values.originals === 'signed' && values.secret === undefined) {
    problems.push('KINU_ORIGINALS (--originals): signed needs a signing secret; set KINU_SECRET (--secret)');
  }
  if (problems.length > 0) throw new ConfigError(problems);

  const v = <K extends Defaulted>(k: K): Out<K> => values[k] as Out<K>; // set above, from its default if need be
  const opt = <K extends Exclude<SettingName, Defaulted>>(k: K): Out<K> | undefined => values[k] as Out<K> | undefined;
  return deepFreeze({
    server: { host: v('host'), port: v('port'), logLevel: v('logLevel') },
    process: {
      workers: v('workers') || availableParallelism(),
      supervise: v('supervise') === 'on',
      spareWorkers: v('spareWorkers'),
      drainTimeoutMs: v('drainTimeout') * 1000,
    },
    source: {
      ...v('source'),
      statTtlMs: v('statTtl') * 1000,
      staleMs: v('staleIfError') * 1000,
      timeoutMs: v('sourceTimeout') * 1000,
      retries: v('sourceRetries'),
      breaker: { failures: v('breakerFailures'), cooldownMs: v('breakerCooldown') * 1000 },
      http: { allowNets: opt('httpAllowNets') ?? [], redirects: v('httpRedirects') },
    },
    management: { token: opt('token'), purgeUrls: opt('purgeUrl') ?? [] },
    cache: {
      memoryBytes: v('memoryCacheMb') * 1024 * 1024,
      dir: opt('cacheDir'),
      diskBytes: v('diskCacheMb') * 1024 * 1024,
      resultStore: opt('resultStore'),
    },
    s3: { endpoint: opt('s3Endpoint') },
    signing: { secrets: opt('secret') ?? [], unsignedDialects: opt('unsignedDialects') ?? [] },
    connections: {
      headersTimeoutMs: v('headersTimeout') * 1000,
      requestTimeoutMs: v('requestTimeout') * 1000,
      uploadTimeoutMs: uploadTimeoutMs(v('uploadTimeout'), v('maxBytes')),
      idleTimeoutMs: v('idleTimeout') * 1000,
      writeTimeoutMs: v('writeTimeout') * 1000,
      maxConnections: v('maxConnections'),
    },
    publicUrl: opt('publicUrl'),
    limits: {
      maxBytes: v('maxBytes'),
      maxPixels: v('maxPixels'),
      maxFrames: v('maxFrames'),
      timeoutMs: v('timeout') * 1000,
      memoryBytes: v('memoryBudget') * 1024 * 1024,
      concurrency: v('concurrency'),
      queue: v('queue'),
      foreign: { workers: v('codecWorkers'), heic: v('heic') },
    },
    http: {
      cacheControl: v('cacheControl'),
      originals: v('originals'),
      dialects: v('dialects'),
      playground: v('playground'),
    },
    presets: v('presets'),
    // Unset lists and keys (`none` in the README) are empty: nothing to allow, sign or purge.
    imgproxy: {
      keys: opt('imgproxyKey') ?? [],
      salts: opt('imgproxySalt') ?? [],
      signatureSize: v('imgproxySignatureSize'),
      presets: opt('imgproxyPresets') ?? {},
      watermark: opt('imgproxyWatermark'),
    },
    thumbor: { keys: opt('thumborKey') ?? [] },
    imgix: { tokens: opt('imgixToken') ?? [] },
    nextjs: { widths: v('nextjsWidths'), qualities: v('nextjsQualities'), formats: v('nextjsFormats') },
    tofu: { secrets: opt('tofuSecret') ?? [], original: v('tofuOriginal') },
  });
}

/**
 * The setting that signs each dialect's URLs. Cloudflare's and ipx's grammars have no signature (each of their
 * URLs is one more variant), so they are signed never and need KINU_UNSIGNED_DIALECTS beside a signed dialect;
 * Next.js's optimizer answers only its allow-listed widths and qualities, a bounded set, so it needs none.
 */
const DIALECT_KEYS: Readonly<Record<DialectName, SettingName | 'never' | 'bounded'>> = {
  native: 'secret',
  imgproxy: 'imgproxyKey',
  thumbor: 'thumborKey',
  tofu: 'tofuSecret',
  imgix: 'imgixToken',
  cloudflare: 'never',
  nextjs: 'bounded',
  ipx: 'never',
};
const named = (k: SettingName) => `${SETTINGS[k].env} (--${SETTINGS[k].flag})`;
const keyOf = (d: DialectName): SettingName | undefined => {
  const k = DIALECT_KEYS[d];
  return k === 'never' || k === 'bounded' ? undefined : k;
};

/** Once any dialect is signed, an unsigned one beside it would serve any size to anyone: refuse, unless opted in. */
function unsignedDialectProblems(values: Record<string, unknown>): string[] {
  const signed = (d: DialectName) => {
    const k = keyOf(d);
    return k !== undefined && values[k] !== undefined;
  };
  const keys = DIALECT_NAMES.filter(signed).map((d) => SETTINGS[keyOf(d)!].env);
  const allowed = (values.unsignedDialects as DialectName[] | undefined) ?? [];
  const problems = allowed
    .filter(signed)
    .map(
      (d) =>
        `${named('unsignedDialects')}: the ${d} dialect is signed (${SETTINGS[keyOf(d)!].env} is set); remove it from the list`,
    );
  if (keys.length === 0) return problems;
  const mounted = Object.keys(values.dialects as object) as DialectName[];
  for (const d of mounted.filter((x) => !signed(x) && !allowed.includes(x) && DIALECT_KEYS[x] !== 'bounded')) {
    const k = keyOf(d);
    const fix = k
      ? `set ${named(k)} to sign it, or add ${d} to ${named('unsignedDialects')} to serve it unsigned on purpose`
      : `its URLs have no signature: add ${d} to ${named('unsignedDialects')} to serve it unsigned on purpose`;
    problems.push(
      `the ${d} dialect (KINU_DIALECTS) would serve unsigned URLs although ${keys.join(', ')} ${keys.length > 1 ? 'are' : 'is'} set: ${fix}`,
    );
  }
  return problems;
}

/** `auto`: the largest upload at a slow but honest 64 KiB/s, at least a minute. */
function uploadTimeoutMs(setting: number | 'auto', maxBytes: number): number {
  return setting === 'auto' ? Math.max(60_000, Math.ceil(maxBytes / (64 * 1024)) * 1000) : setting * 1000;
}

/** A file may hold numbers, lists (`"secret": ["…", "…"]`) or objects (presets) where env holds strings. */
function fromFile(v: unknown): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') return v;
  if (Array.isArray(v)) return v.map(String).join(',');
  return JSON.stringify(v);
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object') {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}
