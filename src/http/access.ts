// Request ids (the caller's X-Request-Id when short and safe, else a UUID) and exactly one access-log line plus
// its metrics per response, whoever answered it. At the node:http level, so app.inject() gets none of this.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import pino from 'pino';
import { hookExit, queuedLines } from '../log.ts';
import type { Metrics, RouteLabel } from '../metrics.ts';

/** Letters, digits and `._:@/+=-`, up to 128 characters: safe in a header and in a log line. */
const SAFE_ID = /^[\w.:@/+=-]{1,128}$/;

export function requestId(header: string | string[] | undefined): string {
  return typeof header === 'string' && SAFE_ID.test(header) ? header : newId();
}

// A fresh UUID per request (randomUUID) cost ~1.5 µs of a memory hit. Instead a random v4 UUID per 2^24 requests,
// its last 6 hex digits a counter from a random start: every id still a v4 UUID, unique within the process,
// and as unlikely as a random one to repeat another process's. The counter stays a small integer (a 48-bit one
// cost a floating-point modulo and a double-to-hex conversion per request).
let prefix = '';
let counter = 0;
let left = 0;
function makeId(): string {
  if (left === 0) {
    const u = randomUUID();
    prefix = u.slice(0, 30);
    counter = Number.parseInt(u.slice(30), 16);
    left = 2 ** 24;
  }
  left--;
  counter = (counter + 1) & 0xffffff;
  return prefix + (counter | 0x1000000).toString(16).slice(1);
}

// Made BATCH at a time as one string and handed out as slices of it: a slice is a flat string, where an id
// concatenated per request is a rope its header check, log line and write each walk (~4 % of a 304's CPU,
// measured with wrk, two kinus side by side on one core). A batch (9 KB) lives while one of its ids does.
const BATCH = 256;
const ID_LENGTH = 36;
let batch = '';
let taken = BATCH;
function newId(): string {
  if (taken === BATCH) {
    let b = '';
    for (let i = 0; i < BATCH; i++) b += makeId();
    batch = b;
    taken = 0;
  }
  const at = ID_LENGTH * taken++;
  return batch.slice(at, at + ID_LENGTH);
}

const ORIGINAL = Symbol('kinu.original');

/** Marks a response as an original's, for the route label. */
export function markOriginal(res: ServerResponse): void {
  (res as ServerResponse & { [ORIGINAL]?: true })[ORIGINAL] = true;
}

export interface AccessLine {
  readonly reqId: string;
  readonly status: number;
  /** Body bytes sent. */
  readonly bytes: number;
  /** X-Kinu-Cache, when the response has one. */
  readonly cache: string | undefined;
  /** performance.now() when the request reached kinu. */
  readonly started: number;
  readonly aborted?: boolean;
}

interface Logger {
  readonly level: string;
  info(obj: object, msg: string): void;
}

const S = pino.symbols;
type PinoInternals = Record<symbol, unknown> & { [S.streamSym]?: { write(s: string): unknown; [k: symbol]: unknown } };

/**
 * The access line as pino writes it (`{"level":30,"time":…,"pid":…,"hostname":…,<fields>,"msg":"request"}`),
 * assembled in one template: pino's generic loop over an object costs ~4 µs a line, a tenth of a memory hit.
 * Only for a plain pino logger (no mixin, log formatter, hooks or custom message key, as server.ts makes it);
 * anything else gets log.info. A test checks the two lines agree.
 */
function lineWriter(
  log: Logger,
): ((l: AccessLine, method: string | undefined, url: string | undefined, ms: number) => void) | undefined {
  const p = log as unknown as PinoInternals;
  const stream = p[S.streamSym];
  const formatters = p[S.formattersSym] as { log?: unknown } | undefined;
  const hooks = p[S.hooksSym] as { streamWrite?: unknown } | undefined;
  const levels = p[S.lsCacheSym] as Record<number, string> | undefined;
  const info = (log as unknown as { levels?: { values?: Record<string, number> } }).levels?.values?.info;
  if (
    !stream ||
    stream[S.needsMetadataGsym] ||
    p[S.mixinSym] ||
    formatters?.log ||
    hooks?.streamWrite ||
    p[S.messageKeySym] !== 'msg' ||
    typeof p[S.timeSym] !== 'function' ||
    typeof p[S.chindingsSym] !== 'string' ||
    info === undefined ||
    levels?.[info] === undefined
  )
    return undefined;
  const head = levels[info]!;
  const time = p[S.timeSym] as () => string;
  const end = p[S.endSym] as string;
  // Formatted and written once per turn of the event loop, all the turn's lines in one string: a line built and
  // written in the request cost ~4 µs more of a memory hit (measured with wrk, kinu pinned to one core).
  let queued: Queued[] = [];
  const flush = () => {
    const items = queued;
    queued = [];
    queuedLines.delete(flush);
    let out = '';
    for (const { l, method, url, ms, at } of items)
      out +=
        `${head}${at}${p[S.chindingsSym] as string},"reqId":"${l.reqId}"${method === undefined ? '' : `,"method":"${method}"`}` +
        `${url === undefined ? '' : `,"url":${jsonString(url)}`},"status":${l.status},"bytes":${l.bytes}${l.cache === undefined ? '' : `,"cache":"${l.cache}"`}` +
        `,"ms":${ms}${l.aborted ? ',"aborted":true' : ''},"msg":"request"${end}`;
    if (out) stream.write(out);
  };
  return (l, method, url, ms) => {
    if (queued.length === 0) {
      setImmediate(flush);
      hookExit();
      queuedLines.add(flush);
    }
    queued.push({ l, method, url, ms, at: time() });
  };
}

interface Queued {
  readonly l: AccessLine;
  readonly method: string | undefined;
  readonly url: string | undefined;
  readonly ms: number;
  /** pino's `,"time":…` when the response ended. */
  readonly at: string;
}

// The id (SAFE_ID or a UUID), the method (an HTTP token: Node's parser takes no other) and the cache tier (a word)
// never need escaping; a URL only when it holds what JSON escapes. JSON.stringify of each cost ~1 µs a line.
// biome-ignore lint/suspicious/noControlCharactersInRegex: the control characters are what JSON escapes
const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/;
const jsonString = (s: string) => (NEEDS_ESCAPE.test(s) ? JSON.stringify(s) : `"${s}"`);

/** Levels at which the info-level access line is not written (checked first, so nothing is built for it). */
const QUIET = new Set(['warn', 'error', 'fatal', 'silent']);

export interface Access {
  /** A request the fast path answered: its line is written at once. */
  done(req: IncomingMessage, line: AccessLine): void;
  /** A request Fastify will answer: the id goes on the response now, the line when it closes. */
  follow(req: IncomingMessage, res: ServerResponse, reqId: string, started: number): void;
  /** Responses begun and not yet closed (the fast path answers synchronously, so never counts). */
  inFlight(): number;
}

export function createAccess(opts: { readonly log: Logger; readonly metrics: Metrics }): Access {
  const { log, metrics } = opts;
  const write = lineWriter(log);
  let open = 0;
  const done = (req: IncomingMessage, line: AccessLine, route: RouteLabel): void => {
    const ms = performance.now() - line.started;
    metrics.request({
      route,
      method: req.method ?? 'GET',
      status: line.status,
      seconds: ms / 1000,
      bytes: line.bytes,
      cache: line.cache,
    });
    if (QUIET.has(log.level)) return;
    const rounded = Math.round(ms * 10) / 10;
    if (write) return write(line, req.method, req.url, rounded);
    log.info(
      {
        reqId: line.reqId,
        method: req.method,
        url: req.url,
        status: line.status,
        bytes: line.bytes,
        cache: line.cache,
        ms: rounded,
        ...(line.aborted ? { aborted: true } : {}),
      },
      'request',
    );
  };
  return {
    done: (req, line) => done(req, line, 'image'),
    follow(req, res, reqId, started) {
      // Fastify's genReqId reads it back, so its request logger carries the same id.
      req.headers['x-request-id'] = reqId;
      res.setHeader('x-request-id', reqId);
      open++;
      const socket = req.socket;
      const written = socket.bytesWritten;
      res.once('close', () => {
        open--;
        const length = Number(res.getHeader('content-length') ?? 0);
        // A client may close as soon as it has every byte, a tick before a streamed body's end() is called:
        // what reached the socket says whether it got the whole answer.
        const finished =
          res.writableFinished ||
          (res.headersSent && Number.isFinite(length) && socket.bytesWritten - written >= length);
        const bodyless = req.method === 'HEAD' || res.statusCode === 304 || res.statusCode === 204;
        const cache = res.getHeader('x-kinu-cache');
        const route: RouteLabel = req.url?.startsWith('/_kinu/')
          ? 'kinu'
          : (res as { [ORIGINAL]?: true })[ORIGINAL]
            ? 'original'
            : 'image';
        done(
          req,
          {
            // 499 (nginx's "client closed request") when the client left before any response was sent.
            reqId,
            status: res.headersSent ? res.statusCode : 499,
            bytes: finished && !bodyless && Number.isFinite(length) ? length : 0,
            cache: typeof cache === 'string' ? cache : undefined,
            started,
            aborted: !finished,
          },
          route,
        );
      });
    },
    inFlight: () => open,
  };
}
