// /_kinu/playground: a static page (HTML, CSS, module scripts) to try every native param. Its controls and URLs
// come from kinu/client (the package's own compiled module, served here as it ships), so the page writes the
// URLs a user of kinu/client would. Beside it: config.json (this server's prefix, keys, presets) and, when the
// server signs, an endpoint that signs the URLs the page built.
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { KinuError } from '../errors.ts';
import { originalContentType } from '../formats.ts';
import { parseNative } from '../url/native.ts';
import type { ParamValues } from '../url/params.ts';
import { signUrl } from '../url/sign.ts';

export type PlaygroundMode = 'auto' | 'on' | 'off';

export interface PlaygroundOptions {
  readonly mode: PlaygroundMode;
  /** Mount prefix of the native dialect ('' for /); undefined when native URLs are not served. */
  readonly native: string | undefined;
  readonly secrets: readonly string[];
  readonly presets: Readonly<Record<string, ParamValues>>;
  readonly originals: 'allow' | 'signed' | 'deny';
  readonly source: { list?(opts: { limit: number }): Promise<string[]> };
}

/** `auto` stays off while URLs are signed: the playground signs any URL it is asked for. */
export function playgroundEnabled(o: Pick<PlaygroundOptions, 'mode' | 'native' | 'secrets'>): boolean {
  return o.native !== undefined && (o.mode === 'on' || (o.mode === 'auto' && o.secrets.length === 0));
}

// Nothing inline and nothing from elsewhere: the page's own script and styles, fetches and images from this
// origin, and blob: for the result, which the script fetches itself to read its headers.
export const PLAYGROUND_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob:; connect-src 'self'; " +
  "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const asset = (name: string) => readFileSync(new URL(`./playground/${name}`, import.meta.url));
const FILES = {
  html: asset('index.html'),
  css: asset('playground.css'),
  js: asset('playground.js'),
  form: asset('form.js'),
  icon: asset('icon.svg'),
  // The decoder of fmt=json's placeholder, served as the package ships it (an ES module, no dependencies).
  thumbhash: readFileSync(createRequire(import.meta.url).resolve('thumbhash')),
};

/**
 * kinu/client's compiled files (client/*.js: plain ES modules importing only each other), found by the
 * package's own name as a user's `import 'kinu/client'` finds them: from the repository and from an installed
 * package alike. Read when the playground starts, so a server without them (a copy of dist/ alone) still runs.
 */
function clientModules(): Map<string, Buffer> {
  const dir = dirname(createRequire(import.meta.url).resolve('kinu/client'));
  return new Map(
    readdirSync(dir)
      .filter((f) => f.endsWith('.js'))
      .map((f) => [f, readFileSync(join(dir, f))]),
  );
}

export async function playgroundRoutes(app: FastifyInstance, opts: PlaygroundOptions): Promise<void> {
  if (!playgroundEnabled(opts)) return; // → the /_kinu/* catch-all: 404 route_not_found
  const prefix = opts.native!;
  let client: Map<string, Buffer>;
  try {
    client = clientModules();
  } catch (err) {
    app.log.error({ err }, "playground: off, kinu/client's files (client/*.js, beside dist/) are missing");
    return;
  }
  app.addHook('onSend', async (_req, reply) => {
    reply.header('content-security-policy', PLAYGROUND_CSP);
    reply.header('x-content-type-options', 'nosniff');
    reply.header('referrer-policy', 'no-referrer');
    reply.header('cache-control', 'no-store');
  });
  const file = (body: Buffer, type: string) => async (_req: unknown, reply: FastifyReply) =>
    reply.type(type).send(body);
  app.get('/', file(FILES.html, 'text/html; charset=utf-8')); // with and without the trailing slash
  app.get('/playground.css', file(FILES.css, 'text/css; charset=utf-8'));
  app.get('/playground.js', file(FILES.js, 'text/javascript; charset=utf-8'));
  app.get('/form.js', file(FILES.form, 'text/javascript; charset=utf-8'));
  app.get('/thumbhash.js', file(FILES.thumbhash, 'text/javascript; charset=utf-8'));
  for (const [name, body] of client) app.get(`/client/${name}`, file(body, 'text/javascript; charset=utf-8'));
  app.get('/icon.svg', file(FILES.icon, 'image/svg+xml'));

  app.get('/config.json', async () => {
    let keys: string[] | null = null;
    try {
      keys = opts.source.list
        ? (await opts.source.list({ limit: 200 })).filter((k) => originalContentType(k).startsWith('image/'))
        : null;
    } catch (err) {
      app.log.warn({ err }, 'playground: listing the source failed; keys must be typed');
    }
    return {
      prefix,
      signed: opts.secrets.length > 0,
      originals: opts.originals,
      keys,
      presets: Object.keys(opts.presets),
    };
  });

  // Signs a native URL the page built, after checking it as the image route will (a bad param is the same 400).
  app.get('/sign', async (request) => {
    const url = (request.query as Record<string, unknown>).url;
    if (typeof url !== 'string' || !url.startsWith('/') || url.length > 4096 || /[#\s]/.test(url)) {
      throw new KinuError('invalid_param', 'url: expected a path and query of a native URL, e.g. /photo.jpg?w=400');
    }
    parseNative(url, { prefix, secrets: [], presets: opts.presets });
    return { url: opts.secrets.length > 0 && url.includes('?') ? signUrl(opts.secrets[0]!, url) : url };
  });
}
