// The one error boundary: KinuError renders itself as problem+json; anything else is logged and a 500.
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { ERRORS, KinuError, isKinuError, type ErrorCode } from '../errors.ts';

export function sendProblem(reply: FastifyReply, err: KinuError): FastifyReply {
  for (const [k, v] of Object.entries(err.headers)) reply.header(k, v);
  return reply
    .code(err.status)
    .header('content-type', 'application/problem+json; charset=utf-8')
    .header('cache-control', 'no-store')
    .send(JSON.stringify(err.toProblem()));
}

const BY_STATUS: Record<number, ErrorCode> = { 400: 'invalid_param', 404: 'route_not_found', 405: 'method_not_allowed', 413: 'source_too_large', 415: 'unsupported_format', 503: 'overloaded' };

export function errorHandler(error: FastifyError | Error, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  if (reply.raw.destroyed || reply.raw.headersSent) return reply;
  if (isKinuError(error)) {
    if (error.status >= 500) request.log.error({ err: error, cause: error.cause }, error.message);
    return sendProblem(reply, error);
  }
  const status = (error as FastifyError).statusCode;
  if (status !== undefined && status >= 400 && status < 500) {
    const code: ErrorCode = status === 400 && (error as FastifyError).code === 'FST_ERR_BAD_URL' ? 'invalid_key' : BY_STATUS[status] ?? 'invalid_param';
    return sendProblem(reply, new KinuError(code, error.message || ERRORS[code].title));
  }
  request.log.error({ err: error }, 'unexpected error');
  return sendProblem(reply, new KinuError('internal', 'an unexpected error happened; it has been logged'));
}
