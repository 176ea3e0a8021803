// The one error boundary: KinuError renders itself as problem+json; anything else is logged and a 500.
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { ERRORS, KinuError, isKinuError, type ErrorCode } from '../errors.ts';

/** Every problem answer's headers; nosniff, so a browser never renders a detail that echoes the URL as HTML. */
const PROBLEM_HEADERS = {
  'content-type': 'application/problem+json; charset=utf-8',
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
} as const;

export function sendProblem(reply: FastifyReply, err: KinuError): FastifyReply {
  for (const [k, v] of Object.entries(err.headers)) reply.header(k, v);
  return reply.code(err.status).headers(PROBLEM_HEADERS).send(JSON.stringify(err.toProblem()));
}

/**
 * A problem written straight to a socket, then closed: for what Node refuses before any request object exists
 * (slow or oversized headers, malformed HTTP). Nothing is written once an answer has begun on the socket.
 */
export function sendSocketProblem(socket: Socket, err: KinuError): void {
  // Node's own check before its bare 408/431: an answer already begun must not be corrupted.
  const inFlight = (socket as { _httpMessage?: { headersSent?: boolean } | null })._httpMessage;
  if (socket.writable && !inFlight?.headersSent) {
    const body = JSON.stringify(err.toProblem());
    const head = Object.entries({
      ...PROBLEM_HEADERS,
      ...err.headers,
      'content-length': String(Buffer.byteLength(body)),
      connection: 'close',
    })
      .map(([k, v]) => `${k}: ${v}\r\n`)
      .join('');
    socket.write(`HTTP/1.1 ${err.status} ${STATUS_CODES[err.status] ?? ''}\r\n${head}\r\n${body}`);
  }
  // At once, as Node does: a small answer is already in the kernel's buffer, and a client that reads nothing holds nothing.
  socket.destroy();
}

const BY_STATUS: Record<number, ErrorCode> = {
  400: 'invalid_param',
  404: 'route_not_found',
  405: 'method_not_allowed',
  413: 'source_too_large',
  415: 'unsupported_format',
  503: 'overloaded',
};

export function errorHandler(error: FastifyError | Error, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  if (reply.raw.destroyed || reply.raw.headersSent) return reply;
  if (isKinuError(error)) {
    if (error.status >= 500) request.log.error({ err: error, cause: error.cause }, error.message);
    return sendProblem(reply, error);
  }
  const status = (error as FastifyError).statusCode;
  if (status !== undefined && status >= 400 && status < 500) {
    const code: ErrorCode =
      status === 400 && (error as FastifyError).code === 'FST_ERR_BAD_URL'
        ? 'invalid_key'
        : (BY_STATUS[status] ?? 'invalid_param');
    return sendProblem(reply, new KinuError(code, error.message || ERRORS[code].title));
  }
  request.log.error({ err: error }, 'unexpected error');
  return sendProblem(reply, new KinuError('internal', 'an unexpected error happened; it has been logged'));
}
