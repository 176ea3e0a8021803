// A real S3-protocol server for tests (DESIGN §6): s3rver in-process on 127.0.0.1, port 0, a temp folder,
// one bucket; and a client for it with dummy credentials in its own config (no AWS_* env is touched).
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createS3Client, type S3Client, type S3ClientOptions } from '../../src/source/s3-client.ts';

// s3rver ships no types; this is the part of it the tests use.
interface S3rverInstance {
  run(): Promise<{ address: string; port: number }>;
  close(): Promise<void>;
}
type S3rverCtor = new (options: Record<string, unknown>) => S3rverInstance;
const S3rver = createRequire(import.meta.url)('s3rver') as S3rverCtor;

// s3rver checks SigV4 signatures against these.
export const S3RVER_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;

export interface S3TestServer {
  readonly endpoint: string;
  readonly bucket: string;
  client(opts?: Partial<S3ClientOptions>): S3Client;
  stop(): Promise<void>;
}

export async function startS3(bucket = 'kinu-test'): Promise<S3TestServer> {
  const directory = mkdtempSync(join(tmpdir(), 'kinu-s3rver-'));
  const server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory,
    configureBuckets: [{ name: bucket }],
  });
  const { port } = await server.run();
  const endpoint = `http://127.0.0.1:${port}`;
  const clients: S3Client[] = [];
  let stopped = false;
  return {
    endpoint,
    bucket,
    client(opts = {}) {
      const c = createS3Client({ endpoint, region: 'us-east-1', credentials: S3RVER_CREDENTIALS, ...opts });
      clients.push(c);
      return c;
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      for (const c of clients) c.destroy();
      await server.close();
      rmSync(directory, { recursive: true, force: true });
    },
  };
}

/** A TCP server on 127.0.0.1 that accepts connections and never answers: what deadlines and breakers are for. */
export async function startSilentServer(): Promise<{
  endpoint: string;
  connections: () => number;
  stop: () => Promise<void>;
}> {
  const sockets = new Set<Socket>();
  let count = 0;
  const server: Server = createServer((s) => {
    count++;
    sockets.add(s);
    s.on('error', () => {});
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    endpoint: `http://127.0.0.1:${port}`,
    connections: () => count,
    stop: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A 127.0.0.1 port that nothing listens on (bound, then closed). */
export async function closedPort(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}

/** kinu builds its S3 clients from the standard AWS chain, as in production: point that chain at s3rver. */
export function useS3rverCredentials(): void {
  process.env.AWS_ACCESS_KEY_ID = S3RVER_CREDENTIALS.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = S3RVER_CREDENTIALS.secretAccessKey;
  process.env.AWS_REGION = 'us-east-1';
}
