// The one place in src/ that imports the AWS SDK: a small S3 client for the S3 source and the result store.
// Path-style addressing when an endpoint is set (MinIO, Ceph, s3rver); region and credentials from the
// standard AWS chain unless given. Every call runs under its own deadline (the SDK's requestTimeout only
// warns), combined with the caller's signal; a call past its deadline rejects with a TimeoutError.
import { addAbortSignal, type Readable } from 'node:stream';

type Sdk = typeof import('@aws-sdk/client-s3');
let sdkLoading: Promise<Sdk> | undefined;
/**
 * The SDK is ~4 MB of heap, a fifth of kinu's at rest, which a file or HTTP source never uses (and every full
 * collection walks): it is loaded by the first client made, in the background, not by importing this module.
 */
function loadSdk(): Promise<Sdk> {
  return (sdkLoading ??= import('@aws-sdk/client-s3'));
}

export interface S3ClientOptions {
  /** S3-compatible endpoint URL; when set, path-style addressing is used. Default: AWS. */
  readonly endpoint?: string;
  /** Default: AWS_REGION, AWS_DEFAULT_REGION, else us-east-1. */
  readonly region?: string;
  /** Static credentials (tests); default: the standard AWS credential chain. */
  readonly credentials?: {
    readonly accessKeyId: string;
    readonly secretAccessKey: string;
    readonly sessionToken?: string;
  };
  /** Deadline of each call, ms, retries included. Default 5000. */
  readonly timeoutMs?: number;
  /** Attempts per call, first included. Default 3 (the SDK's). */
  readonly maxAttempts?: number;
}

export interface CallOptions {
  readonly signal?: AbortSignal;
  /** Overrides the client's deadline for this call. */
  readonly timeoutMs?: number;
}

export interface S3Object {
  readonly body: Buffer;
  readonly contentType: string | undefined;
  /** User metadata, keys lower-case without `x-amz-meta-`. */
  readonly metadata: Record<string, string>;
  readonly etag: string | undefined;
  readonly lastModified: Date | undefined;
}

export interface S3Head {
  readonly size: number;
  readonly etag: string | undefined;
  readonly lastModified: Date | undefined;
  readonly contentType: string | undefined;
}

export interface S3Stream extends S3Head {
  readonly body: Readable;
}

/** What failed, for callers that retry: the HTTP status S3 answered with, if it answered. */
export function s3Status(err: unknown): number | undefined {
  return (err as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
}

export interface S3Client {
  /** The object's size, ETag and date, or undefined when there is none (404). */
  head(bucket: string, key: string, opts?: CallOptions): Promise<S3Head | undefined>;
  /**
   * A stream of the object, or undefined (404). The deadline covers the wait for the response headers only:
   * the body then flows at the reader's pace and stops only when the caller's signal aborts.
   */
  open(bucket: string, key: string, opts?: CallOptions): Promise<S3Stream | undefined>;
  /** Resolves when the bucket exists and these credentials may list it (HeadBucket). */
  probe(bucket: string, opts?: CallOptions): Promise<void>;
  /** Deletes one key; S3 does not say whether it existed. */
  delete(bucket: string, key: string, opts?: CallOptions): Promise<void>;
  /** The whole object, or undefined when there is none (404). Throws on any other failure, and past maxBytes. */
  get(bucket: string, key: string, opts?: CallOptions & { maxBytes?: number }): Promise<S3Object | undefined>;
  /** Stores a buffer (known length) with its content type and ASCII user metadata. */
  put(
    bucket: string,
    key: string,
    body: Buffer,
    contentType: string,
    metadata: Record<string, string>,
    opts?: CallOptions,
  ): Promise<void>;
  /** Keys under the prefix (all pages, or the first `limit`). */
  list(bucket: string, prefix: string, opts?: CallOptions & { limit?: number }): Promise<string[]>;
  /** Deletes the keys (1000 per request); returns how many the store reported as gone. */
  deleteMany(bucket: string, keys: readonly string[], opts?: CallOptions): Promise<number>;
  /** Closes sockets. */
  destroy(): void;
}

const DEFAULT_TIMEOUT_MS = 5000;

export function createS3Client(options: S3ClientOptions = {}): S3Client {
  const region = options.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1';
  let made: Promise<{ sdk: Sdk; aws: InstanceType<Sdk['S3Client']> }> | undefined;
  const client = () =>
    (made ??= loadSdk().then((sdk) => ({
      sdk,
      aws: new sdk.S3Client({
        region,
        ...(options.endpoint ? { endpoint: options.endpoint, forcePathStyle: true } : {}),
        ...(options.credentials ? { credentials: options.credentials } : {}),
        ...(options.maxAttempts ? { maxAttempts: options.maxAttempts } : {}),
      }),
    })));
  // Loading starts now: a client is made to be used, and its first call should not wait for the SDK.
  client().catch(() => {});
  const defaultTimeout = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;

  /** Runs fn under one signal = caller's signal + deadline; rejects at the deadline even if the SDK is asleep in a retry back-off. */
  async function call<T>(opts: CallOptions | undefined, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const deadline = AbortSignal.timeout(opts?.timeoutMs ?? defaultTimeout);
    const signal = opts?.signal ? AbortSignal.any([opts.signal, deadline]) : deadline;
    signal.throwIfAborted();
    let onAbort: (() => void) | undefined;
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => reject(signal.reason);
      signal.addEventListener('abort', onAbort, { once: true });
    });
    try {
      return await Promise.race([fn(signal), aborted]);
    } finally {
      signal.removeEventListener('abort', onAbort!);
    }
  }

  return {
    head: (bucket, key, opts) =>
      call(opts, async (signal) => {
        try {
          const { sdk, aws } = await client();
          const out = await aws.send(new sdk.HeadObjectCommand({ Bucket: bucket, Key: key }), { abortSignal: signal });
          return {
            size: out.ContentLength ?? 0,
            etag: out.ETag,
            lastModified: out.LastModified,
            contentType: out.ContentType,
          };
        } catch (err) {
          if (isNotFound(err)) return undefined;
          throw err;
        }
      }),

    async open(bucket, key, opts) {
      // Not `call`: its deadline would cut a long download short. One controller, aborted by the caller at any
      // time, or by the deadline only until the headers are in.
      const controller = new AbortController();
      const onAbort = () => controller.abort(opts?.signal?.reason);
      opts?.signal?.throwIfAborted();
      opts?.signal?.addEventListener('abort', onAbort, { once: true });
      const ms = opts?.timeoutMs ?? defaultTimeout;
      const timer = setTimeout(
        () => controller.abort(new DOMException(`no answer from S3 within ${ms} ms`, 'TimeoutError')),
        ms,
      );
      let aborted: ((e: unknown) => void) | undefined;
      const gaveUp = new Promise<never>((_, reject) => {
        aborted = reject;
      });
      controller.signal.addEventListener('abort', () => aborted!(controller.signal.reason), { once: true });
      try {
        const { sdk, aws } = await client();
        const out = await Promise.race([
          aws.send(new sdk.GetObjectCommand({ Bucket: bucket, Key: key }), { abortSignal: controller.signal }),
          gaveUp,
        ]);
        const body = out.Body as Readable | undefined;
        if (!body) throw new Error(`s3://${bucket}/${key}: no body`);
        body.once('close', () => opts?.signal?.removeEventListener('abort', onAbort));
        return {
          body: addAbortSignal(controller.signal, body),
          size: out.ContentLength ?? 0,
          etag: out.ETag,
          lastModified: out.LastModified,
          contentType: out.ContentType,
        };
      } catch (err) {
        opts?.signal?.removeEventListener('abort', onAbort);
        if (isNotFound(err)) return undefined;
        throw err;
      } finally {
        clearTimeout(timer);
        gaveUp.catch(() => {});
      }
    },

    probe: (bucket, opts) =>
      call(opts, async (signal) => {
        const { sdk, aws } = await client();
        await aws.send(new sdk.HeadBucketCommand({ Bucket: bucket }), { abortSignal: signal });
      }),

    delete: (bucket, key, opts) =>
      call(opts, async (signal) => {
        const { sdk, aws } = await client();
        await aws.send(new sdk.DeleteObjectCommand({ Bucket: bucket, Key: key }), { abortSignal: signal });
      }),

    get: (bucket, key, opts) =>
      call(opts, async (signal) => {
        const { sdk, aws } = await client();
        let out;
        try {
          out = await aws.send(new sdk.GetObjectCommand({ Bucket: bucket, Key: key }), { abortSignal: signal });
        } catch (err) {
          if (isNotFound(err)) return undefined;
          throw err;
        }
        const stream = out.Body as Readable | undefined;
        const maxBytes = opts?.maxBytes ?? Infinity;
        if (out.ContentLength !== undefined && out.ContentLength > maxBytes) {
          stream?.destroy();
          throw new RangeError(`s3://${bucket}/${key} is ${out.ContentLength} bytes, more than ${maxBytes}`);
        }
        const body = stream ? await readAll(addAbortSignal(signal, stream), maxBytes) : Buffer.alloc(0);
        return {
          body,
          contentType: out.ContentType,
          metadata: out.Metadata ?? {},
          etag: out.ETag,
          lastModified: out.LastModified,
        };
      }),

    put: (bucket, key, body, contentType, metadata, opts) =>
      call(opts, async (signal) => {
        const { sdk, aws } = await client();
        await aws.send(
          new sdk.PutObjectCommand({
            Bucket: bucket,
            Key: key,
            Body: body,
            ContentLength: body.length,
            ContentType: contentType,
            Metadata: metadata,
          }),
          { abortSignal: signal },
        );
      }),

    list: (bucket, prefix, opts) =>
      call(opts, async (signal) => {
        const { sdk, aws } = await client();
        const keys: string[] = [];
        let token: string | undefined;
        do {
          // Whole pages (1000 keys), cut below: s3rver fails on a MaxKeys that truncates the listing.
          const page = await aws.send(
            new sdk.ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
            { abortSignal: signal },
          );
          for (const o of page.Contents ?? []) if (o.Key !== undefined) keys.push(o.Key);
          token = page.IsTruncated && keys.length < (opts?.limit ?? Infinity) ? page.NextContinuationToken : undefined;
        } while (token);
        return opts?.limit === undefined ? keys : keys.slice(0, opts.limit);
      }),

    deleteMany: (bucket, keys, opts) =>
      call(opts, async (signal) => {
        const { sdk, aws } = await client();
        let gone = 0;
        for (let i = 0; i < keys.length; i += 1000) {
          const batch = keys.slice(i, i + 1000);
          const out = await aws.send(
            new sdk.DeleteObjectsCommand({
              Bucket: bucket,
              Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true },
            }),
            { abortSignal: signal },
          );
          gone += batch.length - (out.Errors?.length ?? 0);
        }
        return gone;
      }),

    destroy: () => {
      made?.then(
        ({ aws }) => aws.destroy(),
        () => {},
      );
    },
  };
}

function isNotFound(err: unknown): boolean {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } } | undefined;
  if (e?.name === 'NoSuchBucket') return false; // a missing bucket is a broken setup, not a missing object
  // A GET of a missing key by a role without s3:ListBucket: S3 will not say whether it exists, so it does not.
  // (HEAD answers have no body, so their 403s carry no code and are left to the caller.)
  if (e?.name === 'AccessDenied' && e.$metadata?.httpStatusCode === 403) return true;
  return e?.name === 'NoSuchKey' || e?.name === 'NotFound' || e?.$metadata?.httpStatusCode === 404;
}

async function readAll(stream: Readable, maxBytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    const b = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
    size += b.length;
    if (size > maxBytes) {
      stream.destroy();
      throw new RangeError(`object larger than ${maxBytes} bytes`);
    }
    chunks.push(b);
  }
  return Buffer.concat(chunks, size);
}
