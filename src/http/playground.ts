// /_kinu/playground: a static page (HTML, CSS, one module script) to try every native param, plus the JSON it
// builds its controls from and, when the server signs, an endpoint that signs the URLs it shows.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';
import { KinuError } from '../errors.ts';
import { originalContentType } from '../formats.ts';
import { parseNative } from '../url/native.ts';
import { PARAMS, type ParamName, type ParamValues } from '../url/params.ts';
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
export const PLAYGROUND_CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob:; connect-src 'self'; "
  + "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

export type Control =
  | { readonly kind: 'select'; readonly options: readonly string[] }
  | { readonly kind: 'range'; readonly min: number; readonly max: number; readonly step: number; readonly log: boolean }
  | { readonly kind: 'text'; readonly suggest: readonly string[] | 'keys' | 'presets'; readonly colour: boolean };

export interface ParamControl {
  readonly name: ParamName;
  readonly values: string;
  readonly doc: string;
  /** The example's value for this param, shown as a placeholder. */
  readonly example: string;
  readonly control: Control;
}

/** Controls read from the PARAMS table itself: enums become selects, bounded numbers sliders, the rest text. */
export function paramControls(): ParamControl[] {
  return (Object.entries(PARAMS) as [ParamName, (typeof PARAMS)[ParamName]][])
    .filter(([name]) => name !== 'sig') // the page signs
    .map(([name, row]) => ({
      name,
      values: row.values,
      doc: row.doc,
      example: row.example.split('&').find((s) => s.startsWith(`${name}=`))?.slice(name.length + 1) ?? '',
      control: controlFor(name, row.schema, row.values),
    }));
}

function controlFor(name: ParamName, schema: z.ZodType, values: string): Control {
  const options = enumOf(schema);
  if (options) return { kind: 'select', options };
  const num = numberOf(schema);
  const [min, max] = [num?.minValue, num?.maxValue];
  if (num && typeof min === 'number' && typeof max === 'number' && Number.isFinite(min) && Number.isFinite(max)) {
    const places = /up to (\d) decimals/.exec(values)?.[1];
    const step = num.isInt ? 1 : 10 ** -(places ? Number(places) : 2);
    // Wide ranges (w: 1–8192, blur: 0.3–100) on a linear slider leave the useful end a few pixels wide.
    return { kind: 'range', min, max, step, log: min > 0 && max / min > 100 };
  }
  const suggest = name === 'wm' ? 'keys' : name === 'preset' ? 'presets'
    : values.split(' · ').filter((v) => /^[a-z][a-z0-9-]*$/.test(v));
  return { kind: 'text', suggest, colour: /^RRGGBB\b/.test(values) };
}

function enumOf(s: z.ZodType): string[] | undefined {
  if (s instanceof z.ZodEnum) return [...s.options] as string[];
  if (s instanceof z.ZodPipe) return enumOf(s.in as z.ZodType);
  return undefined;
}

function numberOf(s: z.ZodType): z.ZodNumber | undefined {
  if (s instanceof z.ZodNumber) return s;
  if (s instanceof z.ZodPipe) return numberOf(s.out as z.ZodType) ?? numberOf(s.in as z.ZodType);
  return undefined;
}

const FILES = {
  html: readFileSync(new URL('./playground/index.html', import.meta.url)),
  css: readFileSync(new URL('./playground/playground.css', import.meta.url)),
  js: readFileSync(new URL('./playground/playground.js', import.meta.url)),
  icon: readFileSync(new URL('./playground/icon.svg', import.meta.url)),
  // The decoder of fmt=json's placeholder, served as the package ships it (an ES module, no dependencies).
  thumbhash: readFileSync(createRequire(import.meta.url).resolve('thumbhash')),
};

export async function playgroundRoutes(app: FastifyInstance, opts: PlaygroundOptions): Promise<void> {
  if (!playgroundEnabled(opts)) return; // → the /_kinu/* catch-all: 404 route_not_found
  const prefix = opts.native!;
  const controls = paramControls();
  app.addHook('onSend', async (_req, reply) => {
    reply.header('content-security-policy', PLAYGROUND_CSP);
    reply.header('x-content-type-options', 'nosniff');
    reply.header('referrer-policy', 'no-referrer');
    reply.header('cache-control', 'no-store');
  });
  const file = (body: Buffer, type: string) => async (_req: unknown, reply: FastifyReply) => reply.type(type).send(body);
  app.get('/', file(FILES.html, 'text/html; charset=utf-8')); // with and without the trailing slash
  app.get('/playground.css', file(FILES.css, 'text/css; charset=utf-8'));
  app.get('/playground.js', file(FILES.js, 'text/javascript; charset=utf-8'));
  app.get('/thumbhash.js', file(FILES.thumbhash, 'text/javascript; charset=utf-8'));
  app.get('/icon.svg', file(FILES.icon, 'image/svg+xml'));

  app.get('/config.json', async () => {
    let keys: string[] | null = null;
    try {
      keys = opts.source.list ? (await opts.source.list({ limit: 200 })).filter((k) => originalContentType(k).startsWith('image/')) : null;
    } catch (err) {
      app.log.warn({ err }, 'playground: listing the source failed; keys must be typed');
    }
    return { prefix, signed: opts.secrets.length > 0, originals: opts.originals, keys, presets: Object.keys(opts.presets), params: controls };
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
