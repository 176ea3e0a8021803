// `kinu serve`'s parent process: owns the listening socket and keeps workers (src/worker.ts) and a spare alive,
// so a native crash or an OOM kill fails only the dead worker's requests. It imports nothing of kinu's serving
// code. The why and the lifecycle: ARCHITECTURE.md §3.
import { fork, type ChildProcess } from 'node:child_process';
import { lookup } from 'node:dns/promises';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { getSystemErrorName } from 'node:util';
import pino from 'pino';

/** Set in a worker's environment to the supervisor's pid: this process serves the socket it is handed. */
export const WORKER_ENV = 'KINU_SUPERVISOR_PID';

/** Messages between the supervisor and a worker, over the IPC channel of child_process.fork. */
export type ToSupervisor = { kinu: 'ready' } | { kinu: 'listening' };
/** `serve` carries the listening socket as the message's handle. */
export type ToWorker = { kinu: 'serve'; restarts: number } | { kinu: 'restarts'; restarts: number };

export interface SupervisorOptions {
  /** Workers serving the socket, and started workers kept idle to replace one that dies. */
  readonly workers: number;
  readonly spares: number;
  readonly host: string;
  readonly port: number;
  /** For the listening line. */
  readonly source: string;
  /** Each worker's drain deadline; the supervisor waits this plus a margin before killing stragglers. */
  readonly drainTimeoutMs: number;
  readonly logLevel: string;
  /** Each worker's libuv pool: set in its environment when kinu chose it, as libuv reads it once at its start. */
  readonly threadPool: {
    readonly size: number;
    readonly setBy: 'kinu' | 'UV_THREADPOOL_SIZE';
    readonly concurrency: number;
  };
  /** `serve` and its arguments, and the environment, each worker is started with. */
  readonly argv: readonly string[];
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly out: (s: string) => void;
  readonly err: (s: string) => void;
}

const BIN = fileURLToPath(new URL('../bin/kinu.js', import.meta.url));
/** A crash this long after the previous one starts the backoff over: the first restart is immediate. */
const CALM_MS = 30_000;
const BACKOFF_FIRST_MS = 500;
const BACKOFF_MAX_MS = 30_000;

type Role = 'starting' | 'spare' | 'serving';
interface Worker {
  readonly child: ChildProcess;
  role: Role;
  ready: boolean;
  listened: boolean;
}

/** A bound TCP handle that this process never listens on or accepts from: its workers do. */
interface ServerHandle {
  getsockname(out: { port?: number }): number;
  close(): void;
}
// net._createServerHandle is how node:cluster's primary makes the socket it shares (stable since Node 0.x):
// it binds without listening, so this process's event loop never accepts on it.
const createServerHandle = (
  net as unknown as { _createServerHandle(address: string, port: number, addressType: number): ServerHandle | number }
)._createServerHandle;

async function bind(host: string, port: number): Promise<{ handle: ServerHandle; port: number }> {
  const address = net.isIP(host) ? host : (await lookup(host)).address;
  const handle = createServerHandle(address, port, net.isIP(address));
  if (typeof handle === 'number') throw new Error(getSystemErrorName(handle));
  const out: { port?: number } = {};
  // libuv defers a bind's EADDRINUSE to listen() (getsockname reports it), and a worker's listen() on its
  // copy of the unbound socket would pick a random port: fail here.
  const err = handle.getsockname(out);
  if (err || !out.port) {
    handle.close();
    throw new Error(err ? getSystemErrorName(err) : 'not bound');
  }
  return { handle, port: out.port };
}

export async function runSupervisor(opts: SupervisorOptions): Promise<number> {
  const log = pino({ level: opts.logLevel }).child({ role: 'supervisor' });
  let socket: Awaited<ReturnType<typeof bind>>;
  try {
    socket = await bind(opts.host, opts.port);
  } catch (e) {
    opts.err(`kinu: cannot listen on ${opts.host}:${opts.port}: ${(e as Error).message}`);
    return 1;
  }
  const workers = new Set<Worker>();
  let stopping = false;
  let exitCode = 0;
  let announced = false;
  let restarts = 0;
  let streak = 0;
  let lastDeath = -Infinity;
  let forkTimer: NodeJS.Timeout | undefined;
  let finish: () => void = () => {};
  const done = new Promise<number>((resolve) => {
    finish = () => resolve(exitCode);
  });

  const count = (role: Role) => [...workers].filter((w) => w.role === role).length;

  const start = () => {
    const pool = opts.threadPool.setBy === 'kinu' ? { UV_THREADPOOL_SIZE: String(opts.threadPool.size) } : {};
    const child = fork(BIN, opts.argv, {
      env: { ...opts.env, ...pool, [WORKER_ENV]: String(process.pid) },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const w: Worker = { child, role: 'starting', ready: false, listened: false };
    workers.add(w);
    child.on('message', (m: ToSupervisor) => {
      if (m?.kinu === 'ready' && w.role === 'starting') {
        w.role = 'spare';
        w.ready = true;
        fill();
        if (w.role === 'spare') log.info({ worker: child.pid }, 'spare worker ready');
      } else if (m?.kinu === 'listening') {
        w.listened = true;
        announce();
      }
    });
    child.once('exit', (code, signal) => died(w, code, signal));
  };

  const send = (w: Worker, m: ToWorker, handle?: ServerHandle) => {
    // A worker that has just died has no channel left; its exit handler deals with it.
    if (w.child.connected) w.child.send(m, handle as net.Server | undefined, () => {});
  };

  /** Spares become serving workers until there are `workers` of them. */
  const promote = () => {
    for (const w of workers) {
      if (stopping || count('serving') >= opts.workers) return;
      if (w.role === 'spare') {
        w.role = 'serving';
        send(w, { kinu: 'serve', restarts }, socket.handle);
      }
    }
  };
  /** Starts the processes missing; spares only once the first workers listen, not to slow the start down. */
  const startMissing = () => {
    const wanted = opts.workers + (announced ? opts.spares : 0);
    for (let i = workers.size; !stopping && i < wanted; i++) start();
  };
  const fill = () => {
    promote();
    if (forkTimer === undefined) startMissing();
  };

  const announce = () => {
    if (announced || [...workers].filter((w) => w.listened).length < opts.workers) return;
    announced = true;
    const host = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
    opts.out(`kinu listening on http://${host}:${socket.port} (source: ${opts.source})`);
    log.info(
      {
        workers: opts.workers,
        spares: opts.spares,
        pids: [...workers].filter((w) => w.listened).map((w) => w.child.pid),
      },
      'workers listening',
    );
    fill();
  };

  const died = (w: Worker, code: number | null, signal: NodeJS.Signals | null) => {
    workers.delete(w);
    if (stopping) {
      // One still starting has no handler yet: our SIGTERM (or the terminal's SIGINT) just ends it.
      if (code !== 0 && w.ready) exitCode = 1;
      if (workers.size === 0) finish();
      return;
    }
    if (!w.ready || !announced) {
      // It never served: a broken setup (a module that fails to load, a server that cannot be built), which a
      // restart would only repeat.
      log.error({ worker: w.child.pid, code, signal }, 'worker exited before it could listen: stopping');
      exitCode = code || 1;
      stop('worker-failed');
      return;
    }
    restarts++;
    const now = Date.now();
    streak = now - lastDeath < CALM_MS ? streak + 1 : 1;
    lastDeath = now;
    const delayMs = streak === 1 ? 0 : Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** (streak - 2));
    // SIGABRT/SIGSEGV: a native crash (its message is on stderr just above); SIGKILL: usually the OOM killer.
    log.error(
      { worker: w.child.pid, code, signal, was: w.role, restarts, restartInMs: delayMs },
      'worker died: replacing it',
    );
    for (const other of workers) send(other, { kinu: 'restarts', restarts });
    // A spare takes over at once, whatever the backoff; only starting new processes waits.
    promote();
    if (delayMs === 0) {
      if (forkTimer === undefined) startMissing();
    } else
      forkTimer ??= setTimeout(() => {
        forkTimer = undefined;
        fill();
      }, delayMs);
  };

  const stop = (reason: string) => {
    if (stopping) return;
    stopping = true;
    clearTimeout(forkTimer);
    // Closing ours leaves the socket to the workers, which close theirs as they start draining.
    socket.handle.close();
    log.info({ signal: reason }, 'shutting down: workers finish their in-flight requests');
    if (workers.size === 0) {
      finish();
      return;
    }
    for (const w of workers) w.child.kill('SIGTERM');
    const kill = setTimeout(() => {
      log.error('workers did not stop in time: killing them');
      exitCode = 1;
      for (const w of workers) w.child.kill('SIGKILL');
    }, opts.drainTimeoutMs + 10_000);
    kill.unref();
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));

  log.info(
    { uvThreadpoolSize: opts.threadPool.size, setBy: opts.threadPool.setBy, concurrency: opts.threadPool.concurrency },
    "workers' libuv thread pool",
  );
  fill();
  return done;
}
