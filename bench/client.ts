// A lean keep-alive HTTP/1.1 GET client on raw sockets, one request per connection at a time (no pipelining).
// node:http's client costs several times more CPU per request; at tens of thousands of cache hits a second on
// a 2-core machine, the load generator must not be what is measured. It expects Content-Length framing,
// which both kinu (Buffer bodies) and the bare reference server send.
import { connect, type Socket } from 'node:net';

export interface Reply {
  readonly status: number;
  /** Lower-case header names; a repeated header keeps its last value. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer;
  readonly ms: number;
}

export interface HttpClient {
  get(path: string, headers?: Readonly<Record<string, string>>): Promise<Reply>;
  close(): void;
}

const MAX_HEAD = 64 * 1024;

interface Pending {
  readonly t0: number;
  readonly resolve: (r: Reply) => void;
  readonly reject: (e: Error) => void;
  head: Buffer | undefined;
  status: number;
  headers: Record<string, string> | undefined;
  need: number;
  got: number;
  parts: Buffer[];
  /** Bytes of the response seen: a failure before any is worth one retry on a fresh connection. */
  seen: boolean;
}

class Conn {
  readonly socket: Socket;
  pending: Pending | undefined;
  closed = false;
  reusable = true;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    host: string,
    port: number,
    private readonly onGone: (c: Conn) => void,
  ) {
    this.socket = connect({ host, port, noDelay: true });
    this.socket.on('data', (chunk: Buffer) => this.data(chunk));
    this.socket.on('error', (e) => this.fail(e));
    this.socket.on('close', () => this.fail(new Error('connection closed by the server')));
  }

  request(raw: string, path: string, timeoutMs: number): Promise<Reply> {
    return new Promise<Reply>((resolve, reject) => {
      this.pending = {
        t0: performance.now(),
        resolve,
        reject,
        head: undefined,
        status: 0,
        headers: undefined,
        need: 0,
        got: 0,
        parts: [],
        seen: false,
      };
      this.timer = setTimeout(() => this.fail(new Error(`GET ${path}: no answer in ${timeoutMs / 1000} s`)), timeoutMs);
      this.socket.write(raw);
    });
  }

  private fail(e: Error) {
    if (!this.closed) {
      this.closed = true;
      this.socket.destroy();
      this.onGone(this);
    }
    const p = this.pending;
    if (!p) return;
    this.pending = undefined;
    clearTimeout(this.timer);
    p.reject(Object.assign(e, { retryable: !p.seen }));
  }

  private data(chunk: Buffer) {
    const p = this.pending;
    if (!p) {
      this.fail(new Error('unexpected bytes from the server between responses'));
      return;
    }
    p.seen = true;
    if (p.headers === undefined) {
      const buf = p.head ? Buffer.concat([p.head, chunk]) : chunk;
      const end = buf.indexOf('\r\n\r\n', 0, 'latin1');
      if (end < 0) {
        if (buf.length > MAX_HEAD) this.fail(new Error('response head larger than 64 KiB'));
        else p.head = buf;
        return;
      }
      const lines = buf.toString('latin1', 0, end).split('\r\n');
      p.status = Number(lines[0]!.split(' ')[1]);
      const headers: Record<string, string> = {};
      for (let i = 1; i < lines.length; i++) {
        const line = lines[i]!;
        const colon = line.indexOf(':');
        if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
      }
      // A 304 or 204 never has a body (RFC 9110 §6.4.1), whatever its headers say.
      const bodiless = p.status === 304 || p.status === 204;
      if (!bodiless && (headers['transfer-encoding'] !== undefined || headers['content-length'] === undefined)) {
        this.fail(
          new Error(
            `status ${p.status}: response without Content-Length (transfer-encoding ${headers['transfer-encoding'] ?? 'none'}): not supported by this client`,
          ),
        );
        return;
      }
      if ((headers.connection ?? '').toLowerCase() === 'close') this.reusable = false;
      p.headers = headers;
      p.need = bodiless ? 0 : Number(headers['content-length']);
      const rest = buf.subarray(end + 4);
      if (rest.length > 0) p.parts.push(rest);
      p.got = rest.length;
    } else {
      p.parts.push(chunk);
      p.got += chunk.length;
    }
    if (p.got < p.need) return;
    if (p.got > p.need) {
      this.fail(new Error('more bytes than Content-Length'));
      return;
    }
    this.pending = undefined;
    clearTimeout(this.timer);
    const body = p.parts.length === 1 ? p.parts[0]! : Buffer.concat(p.parts, p.need);
    p.resolve({ status: p.status, headers: p.headers, body, ms: performance.now() - p.t0 });
  }
}

export function createHttpClient(base: string, maxConnections: number, timeoutMs = 60_000): HttpClient {
  const url = new URL(base);
  const host = url.hostname;
  const port = Number(url.port);
  const hostHeader = `Host: ${url.host}\r\n`;
  const idle: Conn[] = [];
  const all = new Set<Conn>();
  const waiting: ((c: Conn) => void)[] = [];
  const gone = (c: Conn) => {
    all.delete(c);
    const i = idle.indexOf(c);
    if (i >= 0) idle.splice(i, 1);
    const next = waiting.shift();
    if (next) next(open());
  };
  const open = () => {
    const c = new Conn(host, port, gone);
    all.add(c);
    return c;
  };
  const acquire = (): Promise<Conn> | Conn => {
    const c = idle.pop();
    if (c) return c;
    if (all.size < maxConnections) return open();
    return new Promise((resolve) => waiting.push(resolve));
  };
  const release = (c: Conn) => {
    if (c.closed) return;
    if (!c.reusable) {
      c.socket.destroy();
      return;
    }
    const next = waiting.shift();
    if (next) next(c);
    else idle.push(c);
  };

  async function get(path: string, headers: Readonly<Record<string, string>> = {}): Promise<Reply> {
    let raw = `GET ${path} HTTP/1.1\r\n${hostHeader}`;
    for (const [k, v] of Object.entries(headers)) raw += `${k}: ${v}\r\n`;
    raw += '\r\n';
    for (let attempt = 0; ; attempt++) {
      const c = await acquire();
      const reused = c.socket.bytesWritten > 0;
      try {
        const r = await c.request(raw, path, timeoutMs);
        release(c);
        return r;
      } catch (e) {
        // A kept-alive connection the server closed just as we wrote: retry once on a fresh one.
        if (attempt === 0 && reused && (e as { retryable?: boolean }).retryable) continue;
        throw new Error(`GET ${path}: ${(e as Error).message}`, { cause: e });
      }
    }
  }

  return {
    get,
    close() {
      for (const c of [...all]) c.socket.destroy();
      all.clear();
      idle.length = 0;
    },
  };
}
