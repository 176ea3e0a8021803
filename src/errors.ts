// Every error kinu can answer with, in one place: a stable snake_case code, its HTTP status and a title.
// `detail` is written for the user; `cause` is for the log and is never sent.

export const ERRORS = {
  invalid_param: {
    status: 400,
    title: 'Invalid parameter',
    when: 'a param is unknown, repeated, empty or out of range; the detail names it and the allowed values',
  },
  invalid_key: {
    status: 400,
    title: 'Invalid key',
    when: 'the key is empty, absolute, badly percent-encoded, or holds a segment starting with a dot (`..`, `.env`), NUL or a backslash',
  },
  output_too_large: {
    status: 400,
    title: 'Output too large',
    when: 'the requested output (after `dpr`) is larger than the pixel limit or 16384 px on a side',
  },
  invalid_upload: {
    status: 400,
    title: 'Invalid upload',
    when: "an upload is empty, interrupted, not one file, or its key's extension names another format than its bytes",
  },
  bad_request: {
    status: 400,
    title: 'Bad request',
    when: 'the HTTP request itself is malformed (request line, header syntax, chunked encoding); the connection is closed',
  },
  unauthorized: {
    status: 401,
    title: 'Unauthorized',
    when: 'a management request without `Authorization: Bearer <token>`',
  },
  bad_token: { status: 403, title: 'Bad token', when: 'a management request with a wrong bearer token' },
  bad_signature: { status: 403, title: 'Bad signature', when: 'signing is on and `sig` is missing or wrong' },
  originals_denied: {
    status: 403,
    title: 'Originals denied',
    when: 'a request without params while `KINU_ORIGINALS=deny`',
  },
  not_found: {
    status: 404,
    title: 'Not found',
    when: 'no object has this key (or it is a folder, or a link out of the source, or — asked for without params — its bytes are not an image)',
  },
  request_timeout: {
    status: 408,
    title: 'Request timeout',
    when: 'the client sent its request too slowly: headers beyond `KINU_HEADERS_TIMEOUT`, a body beyond `KINU_REQUEST_TIMEOUT` (`KINU_UPLOAD_TIMEOUT` for uploads); the connection is closed',
  },
  source_too_large: { status: 413, title: 'Source too large', when: 'the original is larger than `KINU_MAX_BYTES`' },
  upload_too_large: { status: 413, title: 'Upload too large', when: 'an upload is larger than `KINU_MAX_BYTES`' },
  unsupported_format: {
    status: 415,
    title: 'Unsupported format',
    when: 'the original is not an image kinu can decode (JPEG 2000, PDF, more than 5 channels, HEIC while `KINU_HEIC` is off, …)',
  },
  corrupt_image: { status: 422, title: 'Corrupt image', when: 'the original is truncated or damaged' },
  too_many_pixels: {
    status: 422,
    title: 'Too many pixels',
    when: 'the original declares more pixels than `KINU_MAX_PIXELS` (checked from the header, before decoding)',
  },
  too_many_frames: {
    status: 422,
    title: 'Too many frames',
    when: 'the original has more frames than `KINU_MAX_FRAMES`',
  },
  headers_too_large: {
    status: 431,
    title: 'Request headers too large',
    when: "the request's headers are larger than Node's limit (16 KiB); the connection is closed",
  },
  source_failed: { status: 502, title: 'Source failed', when: 'the source could not be read' },
  overloaded: {
    status: 503,
    title: 'Overloaded',
    when: 'all pipeline slots are busy and the queue is full; `Retry-After` says when to retry',
  },
  shutting_down: {
    status: 503,
    title: 'Shutting down',
    when: 'a new request reached an instance that is finishing its in-flight requests before it exits',
  },
  not_ready: { status: 503, title: 'Not ready', when: '`/_kinu/ready` while the source is unreachable' },
  source_timeout: { status: 504, title: 'Source timeout', when: 'the source did not answer in time' },
  processing_timeout: {
    status: 504,
    title: 'Processing timeout',
    when: 'the pipeline took longer than `KINU_TIMEOUT`',
  },
  route_not_found: { status: 404, title: 'No such route', when: 'an unknown path under `/_kinu/`' },
  method_not_allowed: {
    status: 405,
    title: 'Method not allowed',
    when: 'a method other than GET or HEAD on an image URL, or a write to a read-only (HTTP) source',
  },
  internal: { status: 500, title: 'Internal error', when: 'a bug: logged with its cause' },
} as const satisfies Record<string, { status: number; title: string; when: string }>;

export type ErrorCode = keyof typeof ERRORS;

const MAX_DETAIL = 1024;

/** A client-supplied string cut to `max` characters, for echoing in a detail. */
export function clip(s: string, max = 64): string {
  return s.length > max ? `${s.slice(0, max)}…` : s;
}

/** A client-supplied string as a detail shows it: JSON-quoted, cut to `max` characters. */
export function quoted(s: string, max = 64): string {
  return JSON.stringify(clip(s, max));
}

export class KinuError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly title: string;
  readonly detail: string;
  readonly headers: Readonly<Record<string, string>>;

  constructor(code: ErrorCode, detail: string, opts: { cause?: unknown; headers?: Record<string, string> } = {}) {
    super(`${code}: ${detail}`, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'KinuError';
    this.code = code;
    this.status = ERRORS[code].status;
    this.title = ERRORS[code].title;
    // Details echo what the client sent: bounded, so no request can make an answer (or a log line) large.
    this.detail = detail.length > MAX_DETAIL ? `${detail.slice(0, MAX_DETAIL)}…` : detail;
    this.headers = opts.headers ?? {};
  }

  toProblem(): Problem {
    return {
      type: `urn:kinu:error:${this.code}`,
      title: this.title,
      status: this.status,
      detail: this.detail,
      code: this.code,
    };
  }
}

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: ErrorCode;
}

export function isKinuError(e: unknown): e is KinuError {
  return e instanceof KinuError;
}
