// What one client may hold: time to send its request, time to take its answer, and a connection slot.
// Node bounds headers and whole requests itself (its 408 is ours through `answerClientError`); bodies of
// everything but uploads get a shorter bound here, and an answer the client stops reading closes its connection.
import { createServer, maxHeaderSize, ServerResponse, type IncomingMessage, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { KinuError } from '../errors.ts';
import { sendSocketProblem } from './problem.ts';

export type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/** The bounds, in milliseconds (KINU_*_TIMEOUT) and connections (KINU_MAX_CONNECTIONS). */
export interface ConnectionLimits {
  readonly headersTimeoutMs: number;
  readonly requestTimeoutMs: number;
  readonly uploadTimeoutMs: number;
  readonly idleTimeoutMs: number;
  readonly writeTimeoutMs: number;
  readonly maxConnections: number;
}

export interface HttpServerOptions {
  readonly limits: ConnectionLimits;
  /** Whether `/_kinu/objects` takes uploads (a token is set); otherwise no body gets the upload bound. */
  readonly uploads: boolean;
  /** Called (at most every 10 s) when connections were refused for being over `maxConnections`. */
  readonly onDrop?: (dropped: number) => void;
}

export function createHttpServer(opts: HttpServerOptions, handler: Handler): Server {
  const { limits } = opts;
  const ms = (x: number) => Math.ceil(x); // Node takes integer milliseconds
  const longestBodyMs = opts.uploads
    ? Math.max(limits.requestTimeoutMs, limits.uploadTimeoutMs)
    : limits.requestTimeoutMs;
  const bodyMs = (req: IncomingMessage) =>
    opts.uploads && isUpload(req) ? limits.uploadTimeoutMs : limits.requestTimeoutMs;
  const timed = writeTimed(ms(limits.writeTimeoutMs));
  const server = createServer(
    {
      headersTimeout: ms(limits.headersTimeoutMs),
      // Node's bound is for the whole request and server-wide: the longest body allowed; shorter ones are timed below.
      requestTimeout: ms(limits.headersTimeoutMs + longestBodyMs),
      keepAliveTimeout: ms(limits.idleTimeoutMs),
      // How often Node looks for requests over those bounds (its default, 30 s, would add up to 30 s to each).
      connectionsCheckingInterval: ms(Math.min(1000, Math.max(50, limits.headersTimeoutMs / 4))),
    },
    (req, res) => {
      if (hasBody(req)) {
        const bound = bodyMs(req);
        if (bound < longestBodyMs) timeBody(req, res, bound);
      }
      handler(req, res);
      timed(res);
    },
  );
  // Beyond it Node closes new sockets at once, unanswered: cheaper than any answer while flooded.
  server.maxConnections = limits.maxConnections;
  let dropped = 0;
  let reported = 0;
  server.on('drop', () => {
    dropped++;
    if (opts.onDrop && performance.now() - reported > 10_000) {
      reported = performance.now();
      opts.onDrop(dropped);
      dropped = 0;
    }
  });
  return server;
}

/** Fastify's `clientErrorHandler`: what Node refuses before a request exists, as problem+json. */
export function answerClientError(err: NodeJS.ErrnoException & { reason?: string }, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return; // the client is gone: nobody to answer
  sendSocketProblem(socket, clientProblem(err));
}

function clientProblem(err: NodeJS.ErrnoException & { reason?: string }): KinuError {
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT')
    return new KinuError('request_timeout', 'the request did not arrive in time; send it faster');
  if (err.code === 'HPE_HEADER_OVERFLOW')
    return new KinuError('headers_too_large', `the request's headers are over ${maxHeaderSize} bytes`);
  return new KinuError('bad_request', `the HTTP request is malformed: ${err.reason ?? err.code ?? 'unreadable'}`);
}

/** PUT/POST under /_kinu/objects: the only bodies kinu reads. */
function isUpload(req: IncomingMessage): boolean {
  return (req.method === 'PUT' || req.method === 'POST') && /^\/_kinu\/objects(?:[/?]|$)/.test(req.url ?? '');
}

function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/** A body still incomplete `bound` ms after its headers is answered 408 (unless answered already) and its connection closed. */
function timeBody(req: IncomingMessage, res: ServerResponse, bound: number): void {
  const timer = setTimeout(() => {
    if (req.complete) return;
    if (res.headersSent) req.socket.destroy();
    else
      sendSocketProblem(
        req.socket,
        new KinuError('request_timeout', `the request's body did not arrive within ${bound / 1000} s`),
      );
  }, bound);
  const clear = () => clearTimeout(timer);
  req.once('end', clear);
  req.once('close', clear);
}

/**
 * Arms the socket's inactivity timer when a response starts, so an answer that makes no progress for
 * `writeMs` (the client reads nothing) destroys its connection and frees the buffer it pins. Armed only then:
 * a pipeline working on the answer is bounded by KINU_TIMEOUT, not by this. Node resets the timer between
 * requests (keep-alive idle timeout), and counts a large write's partial progress as activity.
 * Called after the handler: an answer it already handed whole to the kernel (a memory hit) needs no timer,
 * and a later one arms it in its own writeHead. (A ServerResponse subclass cost ~12 µs of CPU per request.)
 */
function writeTimed(writeMs: number): (res: ServerResponse) => void {
  const writeHead = ServerResponse.prototype.writeHead as (this: ServerResponse, ...args: unknown[]) => ServerResponse;
  const timedWriteHead = function (this: ServerResponse, ...args: unknown[]) {
    this.socket?.setTimeout(writeMs);
    return writeHead.apply(this, args);
  } as ServerResponse['writeHead'];
  return (res) => {
    if (!res.headersSent) res.writeHead = timedWriteHead;
    else if (!res.writableEnded || (res.socket?.writableLength ?? 0) > 0) res.socket?.setTimeout(writeMs);
  };
}
