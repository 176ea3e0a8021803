// The management API under /_kinu/: PUT/POST/DELETE /objects, GET /info, behind a bearer token. HTTP only:
// reading a bounded body, authentication and JSON; what happens to the bytes is objects.ts's job.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Readable } from 'node:stream';
import multipart from '@fastify/multipart';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { KinuError, isKinuError } from '../errors.ts';
import type { Objects } from '../objects.ts';
import { decodeKey } from '../url/key.ts';

export interface ObjectsRoutesOptions {
  readonly token: string | undefined;
  readonly objects: Objects;
  readonly maxBytes: number;
  /** The public URL path of an original (native dialect, signed when signing is on); undefined when native URLs are off. */
  readonly originalPath: (key: string) => string | undefined;
  /** KINU_PUBLIC_URL: the upload answer's `url` starts with it; undefined = that `url` is a path (never the request's Host). */
  readonly publicUrl: string | undefined;
}

export async function objectsRoutes(app: FastifyInstance, opts: ObjectsRoutesOptions): Promise<void> {
  const expected = opts.token === undefined ? undefined : digest(opts.token);
  app.addHook('onRequest', async (request, reply) => {
    reply.header('cache-control', 'no-store');
    if (!expected)
      throw new KinuError('route_not_found', 'the management API is off on this server (no token is configured)');
    const m = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.authorization ?? '');
    // A refused client's body is not read (for up to KINU_UPLOAD_TIMEOUT): its connection closes after the answer.
    if (!m)
      throw new KinuError('unauthorized', 'send Authorization: Bearer <token>', {
        headers: { 'www-authenticate': 'Bearer realm="kinu"', connection: 'close' },
      });
    // Digests of equal length, so the comparison takes the same time whatever the token's length.
    if (!timingSafeEqual(digest(m[1]!), expected))
      throw new KinuError('bad_token', 'the bearer token is not valid', {
        headers: { 'www-authenticate': 'Bearer realm="kinu", error="invalid_token"', connection: 'close' },
      });
  });

  // Bodies are read by the handlers, as streams, so the byte limit holds while bytes arrive.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_request, payload, done) => done(null, payload));
  await app.register(multipart, {
    limits: { fileSize: opts.maxBytes, files: 2, fields: 1, parts: 3 },
    throwFileSizeLimit: true,
  });

  const keyOf = (request: FastifyRequest, route: string) => {
    const path = (request.raw.url ?? '').split('?')[0]!;
    return decodeKey(path.slice(path.indexOf(route) + route.length));
  };
  const answer = (stored: Awaited<ReturnType<Objects['upload']>>) => {
    const path = opts.originalPath(stored.key);
    return { ...stored, url: path === undefined ? null : `${opts.publicUrl ?? ''}${path}` };
  };

  app.put('/objects/*', async (request, reply) => {
    const key = keyOf(request, '/objects/');
    const body = await readBody(request, opts.maxBytes);
    const stored = await opts.objects.upload(body, { key, signal: signalOf(reply) });
    return reply.code(stored.created ? 201 : 200).send(answer(stored));
  });

  app.post('/objects', async (request, reply) => {
    const prefix = new URLSearchParams((request.raw.url ?? '').split('?')[1] ?? '').get('prefix') ?? undefined;
    const body = request.isMultipart()
      ? await readMultipart(request, opts.maxBytes)
      : await readBody(request, opts.maxBytes);
    const stored = await opts.objects.upload(body, { prefix, signal: signalOf(reply) });
    return reply.code(stored.created ? 201 : 200).send(answer(stored));
  });

  app.delete('/objects/*', async (request, reply) => {
    const key = keyOf(request, '/objects/');
    const purged = await opts.objects.remove(key, { signal: signalOf(reply) });
    return { key, deleted: true, ...purged };
  });

  app.get('/info/*', async (request, reply) => {
    const key = keyOf(request, '/info/');
    return opts.objects.info(key, { signal: signalOf(reply) });
  });

  for (const url of ['/objects', '/objects/*', '/info/*']) {
    const allowed = url === '/objects' ? ['POST'] : url === '/info/*' ? ['GET', 'HEAD'] : ['PUT', 'DELETE'];
    app.route({
      method: app.supportedMethods.filter((m) => !allowed.includes(m)),
      url,
      handler: async () => {
        throw new KinuError('method_not_allowed', `${url.replace('/*', '/<key>')} answers ${allowed.join(', ')}`, {
          headers: { allow: allowed.join(', ') },
        });
      },
    });
  }
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

/** Aborted when the client goes away before its answer is sent (not when its request body ends). */
function signalOf(reply: FastifyReply): AbortSignal {
  const controller = new AbortController();
  const res = reply.raw;
  res.once('close', () => {
    if (!res.writableFinished) controller.abort(new Error('client closed the connection'));
  });
  return controller.signal;
}

/** A raw body, up to maxBytes; a body cut short (client gone, fewer bytes than Content-Length) is refused whole. */
async function readBody(request: FastifyRequest, maxBytes: number): Promise<Buffer> {
  const stream = request.body as Readable | undefined;
  const declared = Number(request.headers['content-length'] ?? NaN);
  if (declared > maxBytes) {
    stream?.resume();
    throw new KinuError('upload_too_large', `the upload is ${declared} bytes; the limit is ${maxBytes}`, {
      headers: { connection: 'close' },
    });
  }
  if (!stream || declared === 0) throw new KinuError('invalid_upload', 'the body is empty; send the image bytes');
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of stream) {
      total += (chunk as Buffer).length;
      if (total > maxBytes) {
        throw new KinuError('upload_too_large', `the upload is over ${maxBytes} bytes, the limit`, {
          headers: { connection: 'close' },
        });
      }
      chunks.push(chunk as Buffer);
    }
  } catch (err) {
    if (isKinuError(err)) throw err;
    throw new KinuError('invalid_upload', 'the upload was interrupted before its end', { cause: err });
  }
  if (request.raw.complete === false || (Number.isFinite(declared) && total !== declared))
    throw new KinuError('invalid_upload', 'the upload was interrupted before its end');
  if (total === 0) throw new KinuError('invalid_upload', 'the body is empty; send the image bytes');
  return Buffer.concat(chunks, total);
}

/** The one file of a multipart/form-data body (any field name); a second file, or any field, is refused. */
async function readMultipart(request: FastifyRequest, maxBytes: number): Promise<Buffer> {
  // The form's boundaries and headers cost a little more than the file; far more means a file over the limit.
  const declared = Number(request.headers['content-length'] ?? NaN);
  if (declared > maxBytes + 64 * 1024) {
    throw new KinuError('upload_too_large', `the form is ${declared} bytes; the limit for its file is ${maxBytes}`, {
      headers: { connection: 'close' },
    });
  }
  let body: Buffer | undefined;
  try {
    for await (const part of request.parts()) {
      if (part.type !== 'file')
        throw new KinuError(
          'invalid_upload',
          `the form may hold one file and nothing else; got field "${part.fieldname}"`,
        );
      if (body !== undefined)
        throw new KinuError('invalid_upload', 'the form holds more than one file; upload one at a time');
      body = await part.toBuffer();
    }
  } catch (err) {
    if (isKinuError(err)) throw err;
    const code = (err as { code?: string }).code;
    if (code === 'FST_REQ_FILE_TOO_LARGE')
      throw new KinuError('upload_too_large', `the file is over ${maxBytes} bytes, the limit`, {
        cause: err,
        headers: { connection: 'close' },
      });
    if (code === 'FST_FILES_LIMIT' || code === 'FST_PARTS_LIMIT' || code === 'FST_FIELDS_LIMIT')
      throw new KinuError('invalid_upload', 'the form may hold one file and nothing else', { cause: err });
    throw new KinuError('invalid_upload', `the form could not be read: ${(err as Error).message}`, { cause: err });
  }
  if (body === undefined) throw new KinuError('invalid_upload', 'the form holds no file');
  if (body.length === 0) throw new KinuError('invalid_upload', 'the file in the form is empty');
  return body;
}
