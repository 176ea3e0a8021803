// The source contract on the HTTP adapter, against a node:http origin on 127.0.0.1 that serves a map of objects
// the test writes directly. Run twice: an origin like a static file server (ETag, Content-Length), and one like
// an application server (chunked bodies, no ETag, Last-Modified in whole seconds).
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, test } from 'node:test';
import { createHttpSource } from '../../src/source/http.ts';
import { corpus, decode, testServer } from '../helpers.ts';
import { listen } from '../http/fakes.ts';
import { runSourceContract, type SourceFixture } from './contract.ts';

interface Stored {
  bytes: Buffer;
  modified: Date;
}

async function origin(style: 'static' | 'dynamic'): Promise<SourceFixture & { base: string }> {
  const objects = new Map<string, Stored>();
  let inFlight = 0;
  let sent = 0;
  const server = http.createServer((req, res) => {
    inFlight++;
    res.once('close', () => {
      inFlight--;
    });
    let key: string;
    try {
      key = new URL(req.url!, 'http://origin').pathname.slice(1).split('/').map(decodeURIComponent).join('/');
    } catch {
      res.writeHead(400).end();
      return;
    }
    const o = objects.get(key);
    if (!o) {
      res.writeHead(404, { 'content-length': 0 }).end();
      return;
    }
    const headers: Record<string, string | number> = {
      'content-type': 'application/octet-stream',
      'last-modified': o.modified.toUTCString(),
    };
    if (style === 'static') {
      headers.etag = `"${createHash('sha1').update(o.bytes).digest('hex')}"`;
      headers['content-length'] = o.bytes.length;
    }
    res.writeHead(200, headers);
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    // In 64 KiB writes that wait for the socket, so what was sent is what the client's socket took.
    let at = 0;
    const pump = () => {
      while (at < o.bytes.length) {
        const chunk = o.bytes.subarray(at, at + 65536);
        at += chunk.length;
        sent += chunk.length;
        if (!res.write(chunk)) {
          res.once('drain', pump);
          return;
        }
      }
      res.end();
    };
    pump();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    base: `http://127.0.0.1:${port}/`,
    source: createHttpSource({ base: `http://127.0.0.1:${port}/`, allowNets: ['127.0.0.0/8'], redirects: 0 }),
    async put(key, bytes) {
      objects.set(key, { bytes, modified: new Date() });
    },
    async remove(key) {
      objects.delete(key);
    },
    handles: () => inFlight,
    sentBytes: () => sent,
    async close() {
      server.closeAllConnections();
      server.close();
    },
  };
}

runSourceContract('http (static origin: ETag, Content-Length)', () => origin('static'));
// Last-Modified has whole seconds: without an ETag, a same-length rewrite within one second keeps the version.
runSourceContract('http (dynamic origin: chunked, Last-Modified only)', () => origin('dynamic'), {
  versionTickMs: 1100,
  undeclaredLength: true,
});

describe('an origin that does not say the length', () => {
  // Its unknown size was 0, sent as the original's Content-Length ahead of the whole body: a malformed response
  // that the next one on the connection would be read from.
  test('its original is served whole, chunked, and the connection stays usable', async () => {
    const image = readFileSync(corpus('png/rgba.png'));
    const o = await origin('dynamic');
    await o.put('a.png', image);
    const { port: originPort } = new URL(o.base);
    const { app } = testServer({ KINU_SOURCE: `http://127.0.0.1:${originPort}/`, KINU_HTTP_ALLOW_NETS: '127.0.0.0/8' });
    try {
      const port = await listen(app);
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      for (const method of ['GET', 'GET', 'HEAD', 'GET']) {
        const res = await keptAlive(agent, port, '/a.png', method);
        assert.equal(res.status, 200);
        assert.equal(res.headers['content-length'], undefined, 'no length is invented');
        if (method === 'GET') assert.ok(res.body.equals(image), 'the whole original');
        else assert.equal(res.body.length, 0);
      }
      const variant = await keptAlive(agent, port, '/a.png?w=10&fmt=png', 'GET');
      assert.equal((await decode(variant.body)).width, 10);
      agent.destroy();
    } finally {
      await app.close();
      await o.close();
    }
  });
});

function keptAlive(
  agent: http.Agent,
  port: number,
  path: string,
  method: string,
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}
