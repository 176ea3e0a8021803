// One codec worker thread (pool.ts): decodes what sharp cannot with WebAssembly codecs, one job at a time, and
// hands back the pixels already wrapped in the TIFF carrier, moved (not copied) to the main thread. Each codec
// module is loaded on its first job, so an idle worker holds none of their heaps.
import { parentPort } from 'node:worker_threads';
import { isKinuError } from '../../errors.ts';
import { toTiff } from './tiff.ts';
import type { ForeignHeader, ForeignImage } from './types.ts';

export interface Codec {
  header(bytes: Uint8Array): ForeignHeader | Promise<ForeignHeader>;
  decode(bytes: Uint8Array, opts: { maxPixels: number }): ForeignImage | Promise<ForeignImage>;
  /** Bytes its WebAssembly heap holds (which never shrinks): the pool retires a worker that grew past a bound. */
  heapBytes?(): number;
  /** 8-bit raw pixels (sharp's output) → the format's bytes, for a writer marked `external` (JPEG XL). */
  encode?(
    raw: Uint8Array,
    width: number,
    height: number,
    channels: 1 | 2 | 3 | 4,
    o: EncodeOptions,
  ): Promise<Uint8Array>;
}

/** What an encode job carries beside the pixels. */
export interface EncodeShape extends EncodeOptions {
  readonly width: number;
  readonly height: number;
  readonly channels: 1 | 2 | 3 | 4;
}
export interface EncodeOptions {
  readonly quality: number;
  readonly effort: number;
}

/** The codecs that run here, by the format table's name (`avif`: AVIF sequences only, which sharp refuses). */
const CODECS: Readonly<Record<string, () => Promise<Codec>>> = {
  jxl: () => import('./jxl.ts'),
  avif: () => import('./avifs.ts'),
  heic: () => import('./heic.ts'),
  heif: () => import('./heic.ts'),
  bmp: () => import('./bmp.ts'),
};

export interface WorkerJob {
  readonly id: number;
  readonly format: string;
  readonly op: 'header' | 'decode' | 'encode';
  readonly bytes: Uint8Array;
  readonly maxPixels: number;
  readonly encode?: EncodeShape;
}

/** An encode's answer: the file. */
export interface Encoded {
  readonly encoded: Uint8Array;
}

/** A decode's answer: the carrier and what it holds (the pixels themselves stay in the carrier). */
export interface Decoded {
  readonly carrier: Uint8Array;
  readonly image: Omit<ForeignImage, 'data' | 'icc'> & { readonly hasIcc: boolean };
}

export type WorkerReply =
  | {
      readonly id: number;
      readonly ok: true;
      readonly value: ForeignHeader | Decoded | Encoded;
      readonly heapBytes: number;
    }
  | {
      readonly id: number;
      readonly ok: false;
      /** A KinuError's code and detail; otherwise the message, and whether the codec may be broken now. */
      readonly error: { code?: string; detail?: string; message: string; fatal: boolean };
      readonly heapBytes: number;
    };

const loaded = new Map<string, Codec>();

async function run(job: WorkerJob): Promise<{ value: ForeignHeader | Decoded | Encoded; transfer: ArrayBuffer[] }> {
  const load = CODECS[job.format];
  if (!load) throw new Error(`no codec for ${job.format} in the worker`);
  const codec = loaded.get(job.format) ?? (await load());
  loaded.set(job.format, codec);
  if (job.op === 'header') return { value: await codec.header(job.bytes), transfer: [] };
  if (job.op === 'encode') {
    const e = job.encode!;
    const out = await codec.encode!(job.bytes, e.width, e.height, e.channels, e);
    const encoded = out.byteLength === out.buffer.byteLength ? out : new Uint8Array(out);
    return { value: { encoded }, transfer: [encoded.buffer as ArrayBuffer] };
  }
  const img = await codec.decode(job.bytes, { maxPixels: job.maxPixels });
  const tiff = toTiff(img);
  // A Buffer may be a view on Node's shared 8 KiB pool, which must not be moved: copy such a small one.
  const carrier = tiff.byteLength === tiff.buffer.byteLength ? tiff : new Uint8Array(tiff);
  const { data: _data, icc, ...rest } = img;
  return {
    value: { carrier, image: { ...rest, hasIcc: icc !== undefined } },
    transfer: [carrier.buffer as ArrayBuffer],
  };
}

const heapBytes = () => [...loaded.values()].reduce((n, c) => n + (c.heapBytes?.() ?? 0), 0);

parentPort?.on('message', (job: WorkerJob) => {
  run(job).then(
    ({ value, transfer }) => {
      const reply: WorkerReply = { id: job.id, ok: true, value, heapBytes: heapBytes() };
      parentPort!.postMessage(reply, transfer);
    },
    (err: unknown) => {
      const known = isKinuError(err);
      const reply: WorkerReply = {
        id: job.id,
        ok: false,
        error: {
          ...(known ? { code: err.code, detail: err.detail } : {}),
          message: err instanceof Error ? err.message : String(err),
          // A WebAssembly trap (abort, out of memory) leaves the module unusable: this worker must go.
          fatal: !known,
        },
        heapBytes: heapBytes(),
      };
      parentPort!.postMessage(reply);
    },
  );
});
