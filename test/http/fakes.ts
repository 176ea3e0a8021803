// Helpers for the HTTP tests: a source that holds get() until released, a real listener, raw requests.
import assert from 'node:assert/strict';
import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Source } from '../../src/source/source.ts';
import type { KinuServer } from '../../src/server.ts';
import { createFileSource } from '../../src/source/file.ts';
import { CORPUS } from '../helpers.ts';

/** The corpus, but every get()/read() waits until release(); `entered` counts the calls that reached them. */
export function heldSource(inner: Source = createFileSource({ root: CORPUS })) {
  let release!: () => void;
  const gate = new Promise<void>((r) => {
    release = r;
  });
  const state = { entered: 0 };
  const source: Source = {
    ...inner,
    async get(key, opts) {
      state.entered++;
      await gate;
      return inner.get(key, opts);
    },
    async read(key, opts) {
      state.entered++;
      await gate;
      return inner.read(key, opts);
    },
  };
  return { source, release, state };
}

/** Poll (without timing assertions) until `cond` holds. */
export async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 500 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(cond(), `timed out waiting for: ${what}`);
}

export async function listen(app: KinuServer): Promise<number> {
  await app.listen({ host: '127.0.0.1', port: 0 });
  return (app.server.address() as AddressInfo).port;
}

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** A request with the path sent byte for byte (fetch() would resolve ../ and %2e%2e first). */
export function raw(
  port: number,
  path: string,
  method = 'GET',
  headers: Record<string, string> = {},
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path, method, headers: { connection: 'close', ...headers } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** Checks an RFC 9457 body and returns it. */
export function problem(
  res: { statusCode: number; headers: Record<string, unknown>; body: string },
  status: number,
  code: string,
) {
  assert.equal(res.statusCode, status, res.body);
  assert.match(String(res.headers['content-type']), /^application\/problem\+json/);
  const p = JSON.parse(res.body) as Record<string, unknown>;
  assert.deepEqual(Object.keys(p).sort(), ['code', 'detail', 'status', 'title', 'type']);
  assert.equal(p.status, status);
  assert.equal(p.code, code);
  assert.equal(typeof p.title, 'string');
  assert.equal(typeof p.detail, 'string');
  assert.equal(p.type, `urn:kinu:error:${code}`);
  return p as { detail: string };
}
