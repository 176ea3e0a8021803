// A TCP proxy between kinu and a real S3-protocol server that misbehaves on demand: answer 500 or 503,
// reset the connection, accept and never answer (stall), or go away (refuse connections). Modes apply to
// new connections; `failNext(n, mode)` queues faults for the next n connections, then passes again.
import { createServer, connect, type Server, type Socket } from 'node:net';

export type FaultMode = 'pass' | 'http500' | 'http503' | 'reset' | 'stall' | 'down';

export interface FaultProxy {
  readonly endpoint: string;
  mode: FaultMode;
  failNext(n: number, mode: Exclude<FaultMode, 'pass'>): void;
  /** Connections accepted (all modes), and those answered with a fault. */
  readonly stats: { connections: number; faults: number };
  stop(): Promise<void>;
}

export async function startFaultProxy(target: string): Promise<FaultProxy> {
  const { hostname, port: targetPort } = new URL(target);
  const sockets = new Set<Socket>();
  const queue: Exclude<FaultMode, 'pass'>[] = [];
  const stats = { connections: 0, faults: 0 };
  let mode: FaultMode = 'pass';

  const onConnection = (client: Socket) => {
    stats.connections++;
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => {});
    const m = queue.shift() ?? mode;
    if (m === 'pass') {
      const upstream = connect(Number(targetPort), hostname);
      sockets.add(upstream);
      upstream.on('close', () => {
        sockets.delete(upstream);
        client.destroy();
      });
      upstream.on('error', () => client.destroy());
      client.on('close', () => upstream.destroy());
      client.pipe(upstream).pipe(client);
      return;
    }
    stats.faults++;
    if (m === 'down') {
      client.resetAndDestroy();
      return;
    }
    if (m === 'stall') return;
    // Wait for the request head, so the client sees a failure of this request, not of its connection setup.
    let head = '';
    client.on('data', (chunk: Buffer) => {
      head += chunk.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      if (m === 'reset') {
        client.resetAndDestroy();
        return;
      }
      const status = m === 'http500' ? '500 Internal Server Error' : '503 Slow Down';
      const code = m === 'http500' ? 'InternalError' : 'SlowDown';
      const body = `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>injected</Message></Error>`;
      client.end(
        `HTTP/1.1 ${status}\r\nContent-Type: application/xml\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`,
      );
    });
  };

  let server: Server = createServer(onConnection);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;

  return {
    endpoint: `http://127.0.0.1:${port}`,
    get mode() {
      return mode;
    },
    set mode(m: FaultMode) {
      mode = m;
      // Faults apply to new connections: drop the pooled ones so the next request meets the new mode.
      for (const s of sockets) s.destroy();
    },
    failNext(n, m) {
      for (let i = 0; i < n; i++) queue.push(m);
      for (const s of sockets) s.destroy();
    },
    stats,
    async stop() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      server = undefined as unknown as Server;
    },
  };
}
