// Originals from a web origin (`KINU_SOURCE=https://host/base/`), read-only, one attempt per call; every
// connection passes the SSRF guard (ssrf.ts) on the address actually connected to. How versions are read
// (ETag, else Last-Modified + length, else length): ARCHITECTURE.md §4 "Sources".
import { lookup as dnsLookup } from 'node:dns';
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import { isIP, type Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import { KinuError, quoted } from '../errors.ts';
import { permanent, sourceFailure } from './failure.ts';
import { readLimited } from './limit.ts';
import type { Source, SourceStat } from './source.ts';
import { createAddressGuard, guardedLookup } from './ssrf.ts';

export interface HttpSourceOptions {
  /** `http(s)://host/base/` (always ends with `/`). */
  readonly base: string;
  /** Addresses or CIDRs allowed despite the SSRF guard, on every port or one: ['127.0.0.0/8', '::1/128', '10.0.0.5:8080']. */
  readonly allowNets: readonly string[];
  /** At most this many redirects followed. */
  readonly redirects: number;
  /** Until the connection (and TLS handshake) is up, DNS included; default 3000 ms. */
  readonly connectTimeoutMs?: number;
  /** Origin silence once connected, waiting for headers or body bytes; default 5000 ms. */
  readonly idleTimeoutMs?: number;
  /** Injectable resolver, for tests. */
  readonly lookup?: typeof dnsLookup;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
/** Error bodies up to this size are read to the end so the connection can be reused; larger ones cut it. */
const DRAIN_LIMIT = 64 * 1024;
const READY_TIMEOUT_MS = 2000;
const HEADERS = { 'user-agent': 'kinu', accept: 'image/*,*/*;q=0.8', 'accept-encoding': 'identity' };

export function createHttpSource(opts: HttpSourceOptions): Source {
  const base = new URL(opts.base);
  if (base.protocol !== 'http:' && base.protocol !== 'https:')
    throw new Error(`the HTTP source needs an http(s) URL, not ${base.protocol}`);
  if (base.search || base.hash || base.username || base.password)
    throw new Error('the HTTP source is a base URL: no query, fragment or credentials');
  if (!base.pathname.endsWith('/')) base.pathname += '/';
  const connectMs = opts.connectTimeoutMs ?? 3000;
  const idleMs = opts.idleTimeoutMs ?? 5000;
  const guard = createAddressGuard(opts.allowNets);
  const agents = {
    'http:': new http.Agent({ keepAlive: true, scheduling: 'lifo' }),
    'https:': new https.Agent({ keepAlive: true, scheduling: 'lifo' }),
  };
  /** Set once the origin refuses HEAD (405/501): stat then uses a GET whose body is discarded. */
  let headRefused = false;

  const refused = (host: string, why: string, address: string, resolved: boolean) =>
    permanent(
      new KinuError(
        'source_failed',
        `the HTTP source refuses ${host}: it ${resolved ? 'resolves to' : 'is'} a ${why} address (allow it, or this port of it, in KINU_HTTP_ALLOW_NETS if intended)`,
        {
          cause: new Error(`refused address ${address} (${why}) for ${host}`),
        },
      ),
    );

  function urlFor(key: string): URL {
    const segments = key.split('/');
    if (segments.some((s) => s === '.' || s === '..') || key === '')
      throw new KinuError('invalid_key', `${JSON.stringify(key)} is not a key the HTTP source can map to a URL`);
    let path: string;
    try {
      path = segments.map(encodeURIComponent).join('/');
    } catch {
      throw new KinuError('invalid_key', `${JSON.stringify(key)} is not valid Unicode`);
    }
    const url = new URL(base.href + path);
    if (!url.href.startsWith(base.href) || url.search || url.hash)
      throw new KinuError('invalid_key', `${JSON.stringify(key)} escapes the HTTP source's base URL`);
    return url;
  }

  /** One request, no redirects: resolves with the response once its headers are in. */
  function send(method: 'GET' | 'HEAD', url: URL, what: string, signal?: AbortSignal): Promise<IncomingMessage> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const host = url.hostname.replace(/^\[|\]$/g, '');
      const protocol = url.protocol as 'http:' | 'https:';
      const port = Number(url.port) || (protocol === 'https:' ? 443 : 80);
      if (isIP(host)) {
        // IP literals are never looked up, so the guard's lookup would not see them.
        const why = guard.refusal(host, port);
        if (why) return reject(refused(url.host, why, host, false));
      }
      const req = (protocol === 'https:' ? https : http).request({
        method,
        protocol,
        hostname: host,
        port: url.port || undefined,
        path: url.pathname + url.search,
        agent: agents[protocol],
        headers: HEADERS,
        lookup: guardedLookup(
          guard,
          opts.lookup ?? dnsLookup,
          (address, why) => refused(url.host, why, address, true),
          port,
        ),
      });
      let res: IncomingMessage | undefined;
      let socket: Socket | undefined;
      let done = false;

      const abort = (err: Error) => (res ? res.destroy(err) : req.destroy(err));
      const onAbort = () => abort(signal!.reason as Error);
      const onIdle = () => {
        // Bytes waiting for a slow consumer pause the socket: that silence is not the origin's.
        if (res && socket?.isPaused() && !res.destroyed) {
          socket.setTimeout(idleMs);
          return;
        }
        abort(new KinuError('source_timeout', `${what}: ${url.host} sent nothing for ${idleMs} ms`));
      };
      const connectTimer = setTimeout(
        () => abort(new KinuError('source_timeout', `${what}: no connection to ${url.host} within ${connectMs} ms`)),
        connectMs,
      );
      const connected = () => {
        clearTimeout(connectTimer);
        if (!socket || socket.destroyed || done) return;
        socket.setTimeout(idleMs);
        socket.on('timeout', onIdle);
      };
      const cleanup = () => {
        if (done) return;
        done = true;
        clearTimeout(connectTimer);
        signal?.removeEventListener('abort', onAbort);
        socket?.removeListener('timeout', onIdle);
      };

      signal?.addEventListener('abort', onAbort, { once: true });
      req.on('socket', (s) => {
        socket = s;
        if (!s.connecting) connected();
        else s.once(s instanceof TLSSocket ? 'secureConnect' : 'connect', connected);
      });
      // Stays attached for the request's life: the socket can fail after the response started.
      req.on('error', (err) => {
        cleanup();
        reject(sourceFailure(err, what, signal));
      });
      req.on('close', cleanup);
      req.on('response', (r) => {
        res = r;
        r.once('end', cleanup);
        r.once('close', cleanup);
        resolve(r);
      });
      req.end();
    });
  }

  /** A request following redirects (or not, for `ready`), each hop re-checked by the guard. */
  async function open(
    method: 'GET' | 'HEAD',
    url: URL,
    what: string,
    signal?: AbortSignal,
    follow = true,
  ): Promise<IncomingMessage> {
    let current = url;
    for (let hop = 0; ; hop++) {
      const res = await send(method, current, what, signal);
      if (!follow || !REDIRECTS.has(res.statusCode ?? 0)) return res;
      const location = res.headers.location;
      await discard(res, method);
      let next: URL | undefined;
      try {
        next = location ? new URL(location, current) : undefined;
      } catch {
        next = undefined;
      }
      if (!next)
        throw permanent(
          new KinuError(
            'source_failed',
            `${what}: ${current.host} answered ${res.statusCode} without a usable Location`,
          ),
        );
      if (next.protocol !== 'http:' && next.protocol !== 'https:')
        throw permanent(
          new KinuError(
            'source_failed',
            `${what}: ${current.host} redirected to a ${next.protocol} URL; only http and https are followed`,
          ),
        );
      if (hop >= opts.redirects)
        throw permanent(new KinuError('source_failed', `${what}: more than ${opts.redirects} redirects`));
      next.hash = '';
      next.username = '';
      next.password = '';
      current = next;
    }
  }

  /** The 200 answer for `key`, or its failure mapped: 404/410 not_found, other 4xx permanent, 5xx transient. */
  async function fetchOk(method: 'GET' | 'HEAD', key: string, signal?: AbortSignal): Promise<IncomingMessage> {
    const what = `reading ${JSON.stringify(key)}`;
    const res = await open(method, urlFor(key), what, signal);
    const status = res.statusCode ?? 0;
    if (status === 200) {
      const encoding = res.headers['content-encoding'];
      if (encoding && encoding.toLowerCase() !== 'identity') {
        await discard(res, method);
        throw permanent(
          new KinuError(
            'source_failed',
            `${what}: the origin sent Content-Encoding ${encoding}, which kinu does not decode`,
          ),
        );
      }
      return res;
    }
    if (method === 'HEAD' && (status === 405 || status === 501)) return res; // the caller falls back to GET
    await discard(res, method);
    if (status === 404 || status === 410) throw new KinuError('not_found', `no object with key ${quoted(key, 128)}`);
    const err = new KinuError('source_failed', `${what}: the origin answered ${status}`);
    // A refusal or a bad request is an answer another attempt would get again; timeouts and throttling are not.
    if (status < 500 && status !== 408 && status !== 429) throw permanent(err);
    throw err;
  }

  return {
    name: 'http',
    async stat(key, { signal }) {
      if (!headRefused) {
        const res = await fetchOk('HEAD', key, signal);
        if (res.statusCode === 200) {
          await discard(res, 'HEAD');
          return toStat(res);
        }
        await discard(res, 'HEAD');
        headRefused = true;
      }
      const res = await fetchOk('GET', key, signal);
      await discard(res, 'GET');
      return toStat(res);
    },
    async get(key, { signal }) {
      const res = await fetchOk('GET', key, signal);
      return { ...toStat(res), body: res };
    },
    async read(key, { signal, maxBytes, alloc }) {
      const res = await fetchOk('GET', key, signal);
      return readLimited(res, contentLength(res) ?? -1, maxBytes, signal, alloc);
    },
    async ready() {
      try {
        // Any HTTP answer, even a 404 or a redirect, means the origin is reachable.
        await discard(
          await open('HEAD', base, 'checking the origin', AbortSignal.timeout(READY_TIMEOUT_MS), false),
          'HEAD',
        );
        return true;
      } catch {
        return false;
      }
    },
  };
}

function contentLength(res: IncomingMessage): number | undefined {
  const v = res.headers['content-length'];
  return v !== undefined && /^\d{1,15}$/.test(v) ? Number(v) : undefined;
}

/**
 * Ends a response we do not read: small bodies are drained so the keep-alive connection is reused, others cut.
 * Resolves once the socket is released (awaited where the next request should find it free).
 */
function discard(res: IncomingMessage, method: 'GET' | 'HEAD'): Promise<void> {
  if (res.destroyed || res.readableEnded) return Promise.resolve();
  const len = contentLength(res);
  // An unread response holds its socket even when complete: it must be read to its end (or cut) to free it.
  if (res.complete || method === 'HEAD' || (len !== undefined && len <= DRAIN_LIMIT)) {
    const released = new Promise<void>((resolve) => {
      res.once('end', resolve);
      res.once('close', resolve);
    });
    res.resume();
    return released;
  }
  res.destroy();
  return Promise.resolve();
}

function toStat(res: IncomingMessage): SourceStat {
  const size = contentLength(res);
  const etag = res.headers.etag?.trim();
  const modified = Date.parse(res.headers['last-modified'] ?? '');
  const lastModified = new Date(Number.isFinite(modified) ? modified : 0);
  const sz = (size ?? 0).toString(36);
  let version: string;
  if (etag && /^(W\/)?"[^"]*"$/.test(etag) && etag !== '""' && etag !== 'W/""') version = etag.replace(/"/g, '');
  else if (etag && !etag.includes('"'))
    version = etag; // unquoted, against the spec but common
  else if (Number.isFinite(modified)) version = `lm-${modified.toString(36)}-${sz}`;
  else version = `size-${sz}`;
  // Unknown is -1, not 0: a 0 would be sent as the original's Content-Length, ahead of the whole body.
  return { version, size: size ?? -1, lastModified };
}
