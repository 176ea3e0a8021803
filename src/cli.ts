// The only entry point and the only place that listens: kinu serve | sign | --help | --version.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig, SETTINGS, type Config } from './config.ts';
import { runSupervisor } from './supervisor.ts';
import { isSupervisedWorker, listenSupervised } from './worker.ts';
import { signUrl } from './url/sign.ts';
import { setServeV8Flags } from './v8-flags.ts';

const VERSION = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string })
  .version;

const HELP = `kinu ${VERSION} — on-demand image server

Usage:
  kinu serve [options]                 serve images (settings below; flag > KINU_* env > --config file > default)
  kinu sign <url-or-path> [--secret S] print the URL with its signature (secret: --secret or KINU_SECRET)
  kinu --help | --version

Serve options:
  --config <file.json>     a JSON file of settings by name (port, source, maxBytes, …)
${Object.values(SETTINGS)
  .map((s) => `  --${`${s.flag} <v>`.padEnd(22)} ${s.env}${s.default === undefined ? '' : ` (default: ${s.default})`}`)
  .join('\n')}

Example:
  kinu serve --port 8080 --source ./images
  curl 'http://localhost:8080/photo.jpg?w=400&fmt=webp' > out.webp
`;

export interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
}

const STD: Io = { out: (s) => process.stdout.write(`${s}\n`), err: (s) => process.stderr.write(`${s}\n`) };

export async function main(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  io: Io = STD,
): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    io.out(HELP);
    return command === undefined ? 2 : 0;
  }
  if (command === '--version' || command === '-v') {
    io.out(VERSION);
    return 0;
  }
  try {
    if (command === 'serve') return await serve(rest, env, io);
    if (command === 'sign') return sign(rest, env, io);
    io.err(`kinu: unknown command "${command}"; try kinu --help`);
    return 2;
  } catch (e) {
    if (e instanceof ConfigError) {
      io.err(`kinu: ${e.message}`);
      return 2;
    }
    if ((e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      io.err(`kinu: ${(e as Error).message}; try kinu --help`);
      return 2;
    }
    throw e;
  }
}

function serveConfig(args: readonly string[], env: Readonly<Record<string, string | undefined>>): Config {
  const options = Object.fromEntries(Object.values(SETTINGS).map((s) => [s.flag, { type: 'string' as const }]));
  const { values } = parseArgs({
    args: [...args],
    options: { ...options, config: { type: 'string' } },
    strict: true,
    allowPositionals: false,
  });
  return loadConfig({
    flags: values as Record<string, string>,
    env,
    file: (values as { config?: string }).config ?? env.KINU_CONFIG,
  });
}

/**
 * libuv's pool runs every sharp call, and also this process's file reads, DNS lookups and async zlib/crypto: it
 * gets a thread per pipeline (KINU_CONCURRENCY) plus libuv's own default of 4 for the rest, so a disk-cache hit
 * or a source read never waits behind busy pipelines. libuv caps the pool at 1024.
 */
export const threadPoolSize = (concurrency: number): number => Math.min(1024, concurrency + 4);
/** The pool libuv starts with this UV_THREADPOOL_SIZE (libuv 1.46: atoi, at least 1, at most 1024; unset = 4). */
const libuvPoolSize = (value: string | undefined): number =>
  value === undefined ? 4 : Math.min(1024, Math.max(1, Number.parseInt(value, 10) || 0));
let sizedHere = false;

/**
 * Run by bin/kinu.js before anything starts libuv's pool: a process that will run pipelines itself (`serve`
 * unsupervised) sizes its pool for KINU_CONCURRENCY, unless the operator set UV_THREADPOOL_SIZE. A supervisor
 * runs no pipelines: it sets the variable in its workers' environment instead.
 */
export function sizeThreadPool(argv: readonly string[], env: Record<string, string | undefined>): void {
  if (argv[0] !== 'serve' || env.UV_THREADPOOL_SIZE) return;
  let config: Config;
  try {
    config = serveConfig(argv.slice(1), env);
  } catch {
    return;
  } // main() reports it
  if (config.process.supervise && !isSupervisedWorker(env)) return;
  env.UV_THREADPOOL_SIZE = String(threadPoolSize(config.limits.concurrency));
  sizedHere = true;
}

async function serve(
  args: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  io: Io,
): Promise<number> {
  const config = serveConfig(args, env);
  const worker = isSupervisedWorker(env);
  const concurrency = config.limits.concurrency;
  if (config.process.supervise && !worker) {
    const own = env.UV_THREADPOOL_SIZE;
    return runSupervisor({
      workers: config.process.workers,
      spares: config.process.spareWorkers,
      host: config.server.host,
      port: config.server.port,
      source: config.source.root,
      drainTimeoutMs: config.process.drainTimeoutMs,
      logLevel: config.server.logLevel,
      threadPool: own
        ? { size: libuvPoolSize(own), setBy: 'UV_THREADPOOL_SIZE', concurrency }
        : { size: threadPoolSize(concurrency), setBy: 'kinu', concurrency },
      argv: ['serve', ...args],
      env,
      out: io.out,
      err: io.err,
    });
  }
  const v8Flags = setServeV8Flags();
  // Imported here, so that the supervisor process loads none of the serving code.
  const { buildServer } = await import('./server.ts');
  const app = buildServer(config);
  app.log.info({ v8Flags }, 'V8 flags set for serving');
  if (config.signing.secrets.length === 0)
    app.log.warn('no KINU_SECRET set: running unsigned, anyone can ask for any size of any image');
  // A worker's pool was sized by its supervisor, which logged it; warn wherever fewer pipelines than asked can run.
  const pool = libuvPoolSize(env.UV_THREADPOOL_SIZE);
  if (pool < concurrency)
    app.log.warn(
      { uvThreadpoolSize: pool, concurrency },
      `libuv's thread pool has ${pool} threads: only ${pool} of KINU_CONCURRENCY=${concurrency} pipelines can run at once; start kinu with UV_THREADPOOL_SIZE=${threadPoolSize(concurrency)} (bin/kinu.js sets it on Node >= 20.19)`,
    );
  else if (!worker)
    app.log.info(
      {
        uvThreadpoolSize: pool,
        setBy: sizedHere ? 'kinu' : env.UV_THREADPOOL_SIZE ? 'UV_THREADPOOL_SIZE' : 'libuv default',
        concurrency,
      },
      'libuv thread pool',
    );
  // Before listening: a spare worker waits for the socket, and stops on SIGTERM like one that serves.
  let stopping = false;
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  // A worker whose supervisor is gone stops too.
  if (worker) process.on('disconnect', () => stop('disconnect'));
  try {
    if (worker) await listenSupervised(app, config.server.host);
    else await app.listen({ host: config.server.host, port: config.server.port });
  } catch (e) {
    io.err(`kinu: cannot listen on ${config.server.host}:${config.server.port}: ${(e as Error).message}`);
    return 1;
  }
  // Under the supervisor, it prints the line, once for all workers.
  if (!worker) {
    const address = app.server.address();
    const port = typeof address === 'object' && address ? address.port : config.server.port;
    const host = config.server.host.includes(':') ? `[${config.server.host}]` : config.server.host;
    io.out(`kinu listening on http://${host}:${port} (source: ${config.source.root})`);
  }

  // Ready turns 503 and new image requests get 503 shutting_down (drain), the listener stops accepting
  // (close), in-flight requests finish; past KINU_DRAIN_TIMEOUT their connections are closed. Exit 0.
  function stop(signal: string): void {
    if (stopping) return; // Ctrl-C reaches a worker both directly and through the supervisor
    stopping = true;
    const deadlineMs = config.process.drainTimeoutMs;
    app.log.info({ signal, deadlineMs, inFlight: app.kinu.inFlight() }, 'shutting down: finishing in-flight requests');
    app.kinu.drain();
    // A keep-alive connection is closed as soon as its in-flight response is done, not after the idle timeout.
    app.server.keepAliveTimeout = 1;
    const deadline = setTimeout(() => {
      app.log.warn(
        { deadlineMs, inFlight: app.kinu.inFlight() },
        'drain deadline passed: closing the connections still open',
      );
      app.server.closeAllConnections();
    }, deadlineMs);
    deadline.unref();
    setTimeout(() => process.exit(1), deadlineMs + 5000).unref();
    // Responses cut at the deadline close a moment after their sockets: wait (briefly) for their access lines.
    const settled = async () => {
      for (let i = 0; i < 100 && app.kinu.inFlight() > 0; i++) await new Promise((r) => setTimeout(r, 10));
    };
    app
      .close()
      .then(settled)
      .then(
        () => {
          app.log.info('stopped');
          process.exit(0);
        },
        (err: unknown) => {
          app.log.error({ err }, 'shutdown failed');
          process.exit(1);
        },
      );
  }
  return 0;
}

function sign(args: readonly string[], env: Readonly<Record<string, string | undefined>>, io: Io): number {
  const { values, positionals } = parseArgs({
    args: [...args],
    options: { secret: { type: 'string' } },
    strict: true,
    allowPositionals: true,
  });
  if (positionals.length !== 1) {
    io.err('kinu sign: expected one URL or path, e.g. kinu sign "/photo.jpg?w=400"');
    return 2;
  }
  const config = loadConfig({ flags: { secret: values.secret }, env: { KINU_SECRET: env.KINU_SECRET } });
  const secret = config.signing.secrets[0];
  if (secret === undefined) {
    io.err('kinu sign: no secret; pass --secret or set KINU_SECRET (KINU_SECRET)');
    return 2;
  }
  io.out(signUrl(secret, positionals[0]!));
  return 0;
}
