// The HTTP source against local node:http origins on 127.0.0.1 (loopback allowed explicitly where a test
// needs to reach them). No other network and no real DNS: hostnames resolve through an injected lookup.
import assert from 'node:assert/strict';
import type { LookupAddress, lookup as dnsLookup } from 'node:dns';
import { readFileSync } from 'node:fs';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { once } from 'node:events';
import { buffer } from 'node:stream/consumers';
import { after, describe, test } from 'node:test';
import { KinuError } from '../../src/errors.ts';
import { isTransient } from '../../src/source/failure.ts';
import { createHttpSource, type HttpSourceOptions } from '../../src/source/http.ts';
import { corpus, decode } from '../helpers.ts';

const IMAGE = readFileSync(corpus('photos/hato-pigeons.jpg'));
const LOOPBACK = ['127.0.0.0/8'];

interface Origin {
  readonly port: number;
  readonly url: string;
  readonly requests: { method: string; url: string }[];
  /** Connections accepted so far, and those the client has since closed. */
  readonly sockets: Socket[];
  closed(socket: Socket): boolean;
}

const servers: http.Server[] = [];
after(() => {
  for (const s of servers) {
    s.closeAllConnections();
    s.close();
  }
});

async function origin(handler: (req: IncomingMessage, res: ServerResponse, o: Origin) => void): Promise<Origin> {
  const closedSockets = new WeakSet<Socket>();
  const o = {
    requests: [] as { method: string; url: string }[],
    sockets: [] as Socket[],
    closed: (s: Socket) => closedSockets.has(s),
  } as Origin & { port: number; url: string };
  const server = http.createServer((req, res) => {
    o.requests.push({ method: req.method!, url: req.url! });
    handler(req, res, o);
  });
  server.on('connection', (s: Socket) => {
    o.sockets.push(s);
    s.on('close', () => closedSockets.add(s));
  });
  servers.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  o.port = (server.address() as AddressInfo).port;
  o.url = `http://127.0.0.1:${o.port}`;
  return o;
}

function source(base: string, extra: Partial<HttpSourceOptions> = {}) {
  return createHttpSource({ base, allowNets: LOOPBACK, redirects: 3, ...extra });
}

/** A resolver that answers from a table and records what it was asked. */
function fakeDns(table: Record<string, string>) {
  const asked: { host: string; options: unknown }[] = [];
  const fn = (
    host: string,
    options: unknown,
    cb: (err: NodeJS.ErrnoException | null, a: LookupAddress[] | string, f?: number) => void,
  ) => {
    asked.push({ host, options });
    const address = table[host];
    if (!address)
      return setImmediate(() =>
        cb(Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' }), []),
      );
    const family = address.includes(':') ? 6 : 4;
    setImmediate(() =>
      (options as { all?: boolean }).all ? cb(null, [{ address, family }]) : cb(null, address, family),
    );
  };
  return { asked, lookup: fn as unknown as typeof dnsLookup };
}

async function failure(p: Promise<unknown>): Promise<KinuError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof KinuError, `expected a KinuError, got ${String(e)}`);
    return e;
  }
  assert.fail('expected a failure');
}

/** Resolves when `socket` has closed (reset or not); rejects after a generous bound so a leak fails the test instead of hanging it. */
async function closes(o: Origin, socket: Socket | undefined, ms = 5000): Promise<void> {
  assert.ok(socket, 'the origin saw no connection');
  if (o.closed(socket)) return;
  await Promise.race([
    new Promise((r) => socket.once('close', r)),
    new Promise((_, reject) => setTimeout(() => reject(new Error('the socket was not closed')), ms).unref()),
  ]);
}

/** Writes `total` bytes (with or without Content-Length) honouring backpressure; reports how many went out. */
function stream(res: ServerResponse, total: number, chunked: boolean): Promise<{ written: number; finished: boolean }> {
  res.writeHead(200, chunked ? { 'content-type': 'application/octet-stream' } : { 'content-length': String(total) });
  const chunk = Buffer.alloc(16 * 1024, 1);
  let written = 0;
  return new Promise((resolve) => {
    res.on('close', () => resolve({ written, finished: res.writableFinished }));
    const pump = () => {
      while (written < total && !res.destroyed) {
        written += chunk.length;
        if (!res.write(chunk)) return void res.once('drain', pump);
      }
      if (!res.destroyed) res.end();
    };
    pump();
  });
}

describe('HTTP source: reading', () => {
  test('read, get and stat a real image: exact bytes, ETag as version, size and date from the headers', async () => {
    const modified = new Date('2024-03-01T12:00:00Z');
    const o = await origin((req, res) => {
      if (req.url !== '/base/photos/hato%20pigeons.jpg') {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, {
        'content-type': 'image/jpeg',
        'content-length': IMAGE.length,
        etag: '"v1"',
        'last-modified': modified.toUTCString(),
      });
      res.end(req.method === 'HEAD' ? undefined : IMAGE);
    });
    const src = source(`${o.url}/base/`);
    const key = 'photos/hato pigeons.jpg';

    const buf = await src.read(key, { maxBytes: 10 * 1024 * 1024 });
    assert.ok(buf.equals(IMAGE));
    const meta = await decode(buf);
    assert.deepEqual([meta.format, meta.width, meta.height], ['jpeg', 3082, 2048]);

    const obj = await src.get(key, {});
    assert.deepEqual([obj.version, obj.size, obj.lastModified.getTime()], ['v1', IMAGE.length, modified.getTime()]);
    assert.ok((await buffer(obj.body)).equals(IMAGE));

    const st = await src.stat(key, {});
    assert.deepEqual([st.version, st.size, st.lastModified.getTime()], ['v1', IMAGE.length, modified.getTime()]);
    assert.equal(o.requests.at(-1)!.method, 'HEAD');
    // One keep-alive connection served all three.
    assert.equal(o.sockets.length, 1);
  });

  test('the version follows the ETag (weak ones too), else Last-Modified + Content-Length', async () => {
    let headers: Record<string, string> = { etag: '"a"' };
    const o = await origin((_req, res) => {
      res.writeHead(200, { 'content-length': '3', ...headers }).end('abc');
    });
    const src = source(`${o.url}/`);
    const v1 = (await src.stat('x.jpg', {})).version;
    headers = { etag: '"b"' };
    const v2 = (await src.stat('x.jpg', {})).version;
    headers = { etag: 'W/"b"' };
    const v3 = (await src.stat('x.jpg', {})).version;
    headers = { 'last-modified': 'Fri, 01 Mar 2024 12:00:00 GMT' };
    const v4 = (await src.stat('x.jpg', {})).version;
    headers = { 'last-modified': 'Fri, 01 Mar 2024 12:00:01 GMT' };
    const v5 = (await src.stat('x.jpg', {})).version;
    assert.equal(v1, 'a');
    assert.equal(new Set([v1, v2, v3, v4, v5]).size, 5, `${v1} ${v2} ${v3} ${v4} ${v5}`);
  });

  test('stat falls back to a GET (body discarded) when the origin refuses HEAD', async () => {
    const o = await origin((req, res) => {
      if (req.method === 'HEAD') {
        res.writeHead(405, { allow: 'GET' }).end();
        return;
      }
      res.writeHead(200, { 'content-length': IMAGE.length, etag: '"g"' }).end(IMAGE);
    });
    const src = source(`${o.url}/`);
    const st = await src.stat('a.jpg', {});
    assert.deepEqual([st.version, st.size], ['g', IMAGE.length]);
    assert.deepEqual(
      o.requests.map((r) => r.method),
      ['HEAD', 'GET'],
    );
    // Learnt: the next stat goes straight to GET.
    await src.stat('a.jpg', {});
    assert.deepEqual(
      o.requests.map((r) => r.method),
      ['HEAD', 'GET', 'GET'],
    );
  });

  test('answers that are not read (HEAD, 404, redirects) give their connection back for reuse', async () => {
    const o = await origin((req, res) => {
      if (req.url === '/missing.jpg') res.writeHead(404, { 'content-length': '9' }).end('not found');
      else if (req.url === '/moved.jpg') res.writeHead(302, { location: '/a.jpg', 'content-length': '5' }).end('moved');
      else res.writeHead(200, { 'content-length': '2', etag: '"e"' }).end(req.method === 'HEAD' ? undefined : 'ok');
    });
    const src = source(`${o.url}/`, { idleTimeoutMs: 300 });
    for (let i = 0; i < 3; i++) {
      await src.stat('a.jpg', {});
      await failure(src.read('missing.jpg', { maxBytes: 100 }));
      await failure(src.stat('missing.jpg', {}));
      assert.equal((await src.read('moved.jpg', { maxBytes: 100 })).toString(), 'ok');
    }
    assert.equal(o.requests.length, 15);
    assert.equal(o.sockets.length, 1, 'one keep-alive connection for all of them');
    // A pooled connection idle for longer than the idle timeout is not timed out under the next request.
    await new Promise((r) => setTimeout(r, 800));
    assert.equal((await src.read('a.jpg', { maxBytes: 100 })).toString(), 'ok');
  });

  test('keys are percent-encoded per segment and cannot leave the base path', async () => {
    const o = await origin((_req, res) => {
      res.writeHead(200, { 'content-length': '2' }).end('ok');
    });
    const src = source(`${o.url}/base/`);
    await src.read('a b/c?d#e%2e.jpg', { maxBytes: 100 });
    assert.equal(o.requests.at(-1)!.url, '/base/a%20b/c%3Fd%23e%252e.jpg');
    for (const key of ['../x.jpg', 'a/../../x.jpg', './x.jpg', '']) {
      assert.equal((await failure(src.read(key, { maxBytes: 100 }))).code, 'invalid_key', key);
    }
    assert.equal(o.requests.length, 1);
  });
});

describe('HTTP source: status mapping', () => {
  const statuses = async () => {
    const o = await origin((req, res) => {
      res.writeHead(Number(req.url!.slice(1, 4))).end('nope');
    });
    return source(`${o.url}/`);
  };

  test('404 and 410 are not_found', async () => {
    const src = await statuses();
    for (const s of ['404', '410']) {
      assert.equal((await failure(src.read(`${s}.jpg`, { maxBytes: 100 }))).code, 'not_found');
      assert.equal((await failure(src.stat(`${s}.jpg`, {}))).code, 'not_found');
    }
  });

  test('5xx is a transient source_failed; 403 and other 4xx are permanent', async () => {
    const src = await statuses();
    const e500 = await failure(src.read('500.jpg', { maxBytes: 100 }));
    assert.equal(e500.code, 'source_failed');
    assert.equal(e500.status, 502);
    assert.ok(isTransient(e500));
    for (const s of ['403', '400', '401']) {
      const e = await failure(src.get(`${s}.jpg`, {}));
      assert.equal(e.code, 'source_failed', s);
      assert.ok(!isTransient(e), `${s} should be permanent`);
    }
    assert.ok(isTransient(await failure(src.stat('503.jpg', {}))));
  });
});

describe('HTTP source: redirects', () => {
  test('relative and absolute redirects are followed', async () => {
    const o = await origin((req, res) => {
      if (req.url === '/base/rel.jpg') res.writeHead(302, { location: '../moved/rel.jpg' }).end();
      else if (req.url === '/base/abs.jpg')
        res.writeHead(301, { location: `http://127.0.0.1:${o.port}/moved/abs.jpg` }).end();
      else if (req.url === '/base/two.jpg') res.writeHead(307, { location: '/base/rel.jpg' }).end();
      else if (req.url!.startsWith('/moved/')) res.writeHead(200, { 'content-length': IMAGE.length }).end(IMAGE);
      else res.writeHead(404).end();
    });
    const src = source(`${o.url}/base/`);
    assert.ok((await src.read('rel.jpg', { maxBytes: 1e7 })).equals(IMAGE));
    assert.ok((await src.read('abs.jpg', { maxBytes: 1e7 })).equals(IMAGE));
    assert.ok((await src.read('two.jpg', { maxBytes: 1e7 })).equals(IMAGE));
    assert.equal((await src.stat('abs.jpg', {})).size, IMAGE.length);
    assert.deepEqual(
      o.requests.slice(0, 2).map((r) => r.url),
      ['/base/rel.jpg', '/moved/rel.jpg'],
    );
  });

  test('a redirect loop, or more redirects than allowed, is a permanent source_failed', async () => {
    const o = await origin((req, res) => {
      if (req.url === '/loop.jpg') res.writeHead(302, { location: '/loop.jpg' }).end();
      else if (req.url === '/once.jpg') res.writeHead(302, { location: '/ok.jpg' }).end();
      else if (req.url === '/ftp.jpg') res.writeHead(302, { location: 'ftp://127.0.0.1/x.jpg' }).end();
      else res.writeHead(200, { 'content-length': '2' }).end('ok');
    });
    const loop = await failure(source(`${o.url}/`).read('loop.jpg', { maxBytes: 100 }));
    assert.equal(loop.code, 'source_failed');
    assert.ok(!isTransient(loop));
    assert.match(loop.detail, /more than 3 redirects/);
    assert.equal(o.requests.length, 4, 'the first request and 3 redirects, then it stops');

    assert.equal(
      await source(`${o.url}/`, { redirects: 0 })
        .read('once.jpg', { maxBytes: 100 })
        .catch((e: KinuError) => e.code),
      'source_failed',
    );
    assert.equal((await source(`${o.url}/`, { redirects: 1 }).read('once.jpg', { maxBytes: 100 })).toString(), 'ok');
    assert.equal((await failure(source(`${o.url}/`).read('ftp.jpg', { maxBytes: 100 }))).code, 'source_failed');
  });
});

describe('HTTP source: byte limit', () => {
  const TOTAL = 64 * 1024 * 1024;

  test('a Content-Length over the limit is refused (413) before the body is read', async () => {
    let outcome: Promise<{ written: number; finished: boolean }> | undefined;
    const o = await origin((_req, res) => {
      outcome = stream(res, TOTAL, false);
    });
    const e = await failure(source(`${o.url}/`).read('big.jpg', { maxBytes: 100_000 }));
    assert.equal(e.code, 'source_too_large');
    assert.equal(e.status, 413);
    await closes(o, o.sockets[0]);
    const { written, finished } = await outcome!;
    assert.ok(!finished && written < TOTAL, `the origin wrote ${written} of ${TOTAL} bytes`);
  });

  test('a chunked body is cut off at the limit', async () => {
    let outcome: Promise<{ written: number; finished: boolean }> | undefined;
    const o = await origin((_req, res) => {
      outcome = stream(res, TOTAL, true);
    });
    const e = await failure(source(`${o.url}/`).read('big.jpg', { maxBytes: 100_000 }));
    assert.equal(e.code, 'source_too_large');
    await closes(o, o.sockets[0]);
    const { written, finished } = await outcome!;
    assert.ok(!finished && written < TOTAL / 4, `the origin wrote ${written} of ${TOTAL} bytes`);
  });

  test('a body within the limit but without Content-Length is read whole', async () => {
    const o = await origin((_req, res) => {
      res.writeHead(200);
      res.write(IMAGE.subarray(0, 1000));
      res.end(IMAGE.subarray(1000));
    });
    assert.ok((await source(`${o.url}/`).read('a.jpg', { maxBytes: IMAGE.length })).equals(IMAGE));
  });
});

describe('HTTP source: timeouts and aborts', () => {
  test('an origin that stalls mid-body is a source_timeout, and its connection is closed', async () => {
    const o = await origin((_req, res) => {
      res.writeHead(200, { 'content-length': '100000' });
      res.write(Buffer.alloc(1000));
    });
    const src = source(`${o.url}/`, { idleTimeoutMs: 200 });
    const e = await failure(src.read('slow.jpg', { maxBytes: 1e6 }));
    assert.equal(e.code, 'source_timeout');
    assert.equal(e.status, 504);
    assert.ok(isTransient(e));
    await closes(o, o.sockets[0]);
  });

  test('an origin that never answers is a source_timeout', async () => {
    const o = await origin(() => {});
    const e = await failure(source(`${o.url}/`, { idleTimeoutMs: 200 }).stat('silent.jpg', {}));
    assert.equal(e.code, 'source_timeout');
    await closes(o, o.sockets[0]);
  });

  test('a connection that cannot be made in time (here: DNS that never answers) is a source_timeout', async () => {
    const lookup = (() => {}) as unknown as typeof dnsLookup;
    const e = await failure(source('http://stuck.example/', { connectTimeoutMs: 200, lookup }).stat('a.jpg', {}));
    assert.equal(e.code, 'source_timeout');
  });

  test('a slow consumer of get() is not mistaken for an idle origin', async () => {
    const o = await origin((_req, res) => {
      void stream(res, 4 * 1024 * 1024, false);
    });
    const obj = await source(`${o.url}/`, { idleTimeoutMs: 400 }).get('big.jpg', {});
    await new Promise((r) => setTimeout(r, 1500)); // the socket is paused by backpressure meanwhile
    assert.equal((await buffer(obj.body)).length, 4 * 1024 * 1024);
  });

  test('the caller aborting before the answer rejects with its reason and frees the socket', async () => {
    let seen: () => void;
    const requested = new Promise<void>((r) => {
      seen = r;
    });
    const o = await origin(() => seen());
    const ac = new AbortController();
    const p = source(`${o.url}/`).read('a.jpg', { maxBytes: 1e6, signal: ac.signal });
    await requested;
    const reason = new Error('client went away');
    ac.abort(reason);
    await assert.rejects(p, (e) => e === reason);
    await closes(o, o.sockets[0]);
  });

  test('the caller aborting while get() streams ends the body and frees the socket', async () => {
    const o = await origin((_req, res) => {
      res.writeHead(200, { 'content-length': '100000' });
      res.write(Buffer.alloc(1000));
    });
    const ac = new AbortController();
    const obj = await source(`${o.url}/`).get('a.jpg', { signal: ac.signal });
    const ended = new Promise((r) => obj.body.once('close', r));
    obj.body.on('error', () => {});
    ac.abort(new Error('client went away'));
    await ended;
    assert.ok(obj.body.destroyed);
    await closes(o, o.sockets[0]);
  });

  test('an already aborted signal sends nothing', async () => {
    const o = await origin((_req, res) => {
      res.end('x');
    });
    const reason = new Error('gone');
    await assert.rejects(source(`${o.url}/`).stat('a.jpg', { signal: AbortSignal.abort(reason) }), (e) => e === reason);
    assert.equal(o.requests.length, 0);
  });
});

describe('HTTP source: SSRF guard', () => {
  const refusal = async (p: Promise<unknown>, host: string, cls: string) => {
    const e = await failure(p);
    assert.equal(e.code, 'source_failed');
    assert.equal(e.status, 502);
    assert.ok(!isTransient(e), 'a refusal is permanent');
    assert.ok(e.detail.includes(host), `detail names the host: ${e.detail}`);
    assert.ok(e.detail.includes(cls), `detail names the class ${cls}: ${e.detail}`);
    assert.match(e.detail, /KINU_HTTP_ALLOW_NETS/);
    return e;
  };

  test('without allowNets, a loopback IP literal is refused before connecting', async () => {
    const o = await origin((_req, res) => {
      res.end('x');
    });
    const src = createHttpSource({ base: `${o.url}/`, allowNets: [], redirects: 3 });
    await refusal(src.read('a.jpg', { maxBytes: 100 }), '127.0.0.1', 'loopback');
    await refusal(src.stat('a.jpg', {}), '127.0.0.1', 'loopback');
    assert.equal(await src.ready(), false);
    assert.equal(o.sockets.length, 0, 'no connection was made');
  });

  test('an IPv4-mapped IPv6 literal of loopback is refused', async () => {
    const o = await origin((_req, res) => {
      res.end('x');
    });
    const src = createHttpSource({ base: `http://[::ffff:127.0.0.1]:${o.port}/`, allowNets: [], redirects: 3 });
    await refusal(src.read('a.jpg', { maxBytes: 100 }), '::ffff:7f00:1', 'loopback (IPv4-mapped)');
    assert.equal(o.sockets.length, 0);
  });

  test('a hostname is checked after DNS: resolving to 127.0.0.1 or 169.254.169.254 is refused', async () => {
    const o = await origin((_req, res) => {
      res.end('x');
    });
    const dns = fakeDns({ 'images.example': '127.0.0.1', 'metadata.example': '169.254.169.254' });
    const local = createHttpSource({
      base: `http://images.example:${o.port}/`,
      allowNets: [],
      redirects: 3,
      lookup: dns.lookup,
    });
    const e = await refusal(local.read('a.jpg', { maxBytes: 100 }), 'images.example', 'loopback');
    assert.ok(!e.detail.includes('127.0.0.1'), 'the resolved address stays in the log, out of the answer');
    await refusal(
      createHttpSource({
        base: 'http://metadata.example/latest/',
        allowNets: [],
        redirects: 3,
        lookup: dns.lookup,
      }).stat('meta-data', {}),
      'metadata.example',
      'cloud metadata',
    );
    assert.deepEqual(
      dns.asked.map((a) => a.host),
      ['images.example', 'metadata.example'],
    );
    assert.equal(o.sockets.length, 0);
  });

  test('allowNets lets loopback through, for literals and resolved names alike', async () => {
    const o = await origin((_req, res) => {
      res.writeHead(200, { 'content-length': IMAGE.length }).end(IMAGE);
    });
    const dns = fakeDns({ 'images.example': '127.0.0.1' });
    const named = createHttpSource({
      base: `http://images.example:${o.port}/`,
      allowNets: ['127.0.0.1/32'],
      redirects: 3,
      lookup: dns.lookup,
    });
    assert.ok((await named.read('a.jpg', { maxBytes: 1e7 })).equals(IMAGE));
    assert.equal(dns.asked.length, 1);
    assert.ok((await source(`${o.url}/`).read('a.jpg', { maxBytes: 1e7 })).equals(IMAGE));
    assert.equal(await source(`${o.url}/`).ready(), true);
  });

  test('every redirect hop is re-checked: an allowed origin cannot bounce kinu to a refused address', async () => {
    const o = await origin((req, res) => {
      const to: Record<string, string> = {
        '/named.jpg': `http://internal.example:${o.port}/x.jpg`, // resolves to 127.0.0.2: loopback, not allowed
        '/metadata.jpg': 'http://169.254.169.254/latest/meta-data/',
        '/v6.jpg': `http://[::1]:${o.port}/x.jpg`,
        '/mapped.jpg': `http://[::ffff:10.0.0.1]/x.jpg`,
      };
      if (to[req.url!]) res.writeHead(302, { location: to[req.url!] }).end();
      else res.writeHead(200, { 'content-length': '2' }).end('ok');
    });
    const dns = fakeDns({ 'origin.example': '127.0.0.1', 'internal.example': '127.0.0.2' });
    const src = createHttpSource({
      base: `http://origin.example:${o.port}/`,
      allowNets: ['127.0.0.1'],
      redirects: 3,
      lookup: dns.lookup,
    });
    assert.equal((await src.read('plain.jpg', { maxBytes: 100 })).toString(), 'ok');
    await refusal(src.read('named.jpg', { maxBytes: 100 }), 'internal.example', 'loopback');
    await refusal(src.stat('metadata.jpg', {}), '169.254.169.254', 'cloud metadata');
    await refusal(src.read('v6.jpg', { maxBytes: 100 }), '[::1]', 'loopback');
    await refusal(src.read('mapped.jpg', { maxBytes: 100 }), '::ffff:a00:1', 'private (IPv4-mapped)');
    assert.ok(
      dns.asked.some((a) => a.host === 'internal.example'),
      'the hop was resolved, then refused',
    );
    assert.ok(
      o.requests.every((r) => r.url !== '/x.jpg'),
      'no refused hop reached a server',
    );
  });
});

describe('HTTP source: ready', () => {
  test('any HTTP answer means ready; nothing listening means not ready', async () => {
    const o = await origin((_req, res) => {
      res.writeHead(404).end();
    });
    assert.equal(await source(`${o.url}/base/`).ready(), true);
    assert.equal(o.requests[0]!.method, 'HEAD');
    const gone = await origin(() => {});
    const port = gone.port;
    await new Promise<void>((r) => servers.at(-1)!.close(() => r()));
    assert.equal(await source(`http://127.0.0.1:${port}/`).ready(), false);
  });
});
