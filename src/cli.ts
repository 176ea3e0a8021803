// The only entry point and the only place that listens: kinu serve | sign | --help | --version.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig, SETTINGS } from './config.ts';
import { buildServer } from './server.ts';
import { signUrl } from './url/sign.ts';

const VERSION = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

const HELP = `kinu ${VERSION} — on-demand image server

Usage:
  kinu serve [options]                 serve images (settings below; flag > KINU_* env > --config file > default)
  kinu sign <url-or-path> [--secret S] print the URL with its signature (secret: --secret or KINU_SECRET)
  kinu --help | --version

Serve options:
  --config <file.json>     a JSON file of settings by name (port, source, maxBytes, …)
${Object.values(SETTINGS).map((s) => `  --${`${s.flag} <v>`.padEnd(22)} ${s.env}${s.default === undefined ? '' : ` (default: ${s.default})`}`).join('\n')}

Example:
  kinu serve --port 8080 --source ./images
  curl 'http://localhost:8080/photo.jpg?w=400&fmt=webp' > out.webp
`;

export interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
}

const STD: Io = { out: (s) => process.stdout.write(`${s}\n`), err: (s) => process.stderr.write(`${s}\n`) };

export async function main(argv: readonly string[], env: Readonly<Record<string, string | undefined>>, io: Io = STD): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') { io.out(HELP); return command === undefined ? 2 : 0; }
  if (command === '--version' || command === '-v') { io.out(VERSION); return 0; }
  try {
    if (command === 'serve') return await serve(rest, env, io);
    if (command === 'sign') return sign(rest, env, io);
    io.err(`kinu: unknown command "${command}"; try kinu --help`);
    return 2;
  } catch (e) {
    if (e instanceof ConfigError) { io.err(`kinu: ${e.message}`); return 2; }
    if ((e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) { io.err(`kinu: ${(e as Error).message}; try kinu --help`); return 2; }
    throw e;
  }
}

async function serve(args: readonly string[], env: Readonly<Record<string, string | undefined>>, io: Io): Promise<number> {
  const options = Object.fromEntries(Object.values(SETTINGS).map((s) => [s.flag, { type: 'string' as const }]));
  const { values } = parseArgs({ args: [...args], options: { ...options, config: { type: 'string' } }, strict: true, allowPositionals: false });
  const config = loadConfig({ flags: values as Record<string, string>, env, file: (values as { config?: string }).config ?? env.KINU_CONFIG });
  const app = buildServer(config);
  if (config.signing.secrets.length === 0) app.log.warn('no KINU_SECRET set: running unsigned, anyone can ask for any size of any image');
  try {
    await app.listen({ host: config.server.host, port: config.server.port });
  } catch (e) {
    io.err(`kinu: cannot listen on ${config.server.host}:${config.server.port}: ${(e as Error).message}`);
    return 1;
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.server.port;
  const host = config.server.host.includes(':') ? `[${config.server.host}]` : config.server.host;
  io.out(`kinu listening on http://${host}:${port} (source: ${config.source.root})`);

  const stop = (signal: string) => {
    app.log.info({ signal }, 'shutting down: finishing in-flight requests');
    app.kinu.drain();
    const force = setTimeout(() => process.exit(1), config.limits.timeoutMs + 5000);
    force.unref();
    void app.close().then(() => { process.exitCode = 0; });
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  return 0;
}

function sign(args: readonly string[], env: Readonly<Record<string, string | undefined>>, io: Io): number {
  const { values, positionals } = parseArgs({ args: [...args], options: { secret: { type: 'string' } }, strict: true, allowPositionals: true });
  if (positionals.length !== 1) { io.err('kinu sign: expected one URL or path, e.g. kinu sign "/photo.jpg?w=400"'); return 2; }
  const config = loadConfig({ flags: { secret: values.secret }, env: { KINU_SECRET: env.KINU_SECRET } });
  const secret = config.signing.secrets[0];
  if (secret === undefined) { io.err('kinu sign: no secret; pass --secret or set KINU_SECRET (KINU_SECRET)'); return 2; }
  io.out(signUrl(secret, positionals[0]!));
  return 0;
}
