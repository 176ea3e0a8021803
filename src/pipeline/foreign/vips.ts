// wasm-vips (libvips 8.18 in WebAssembly, with libjxl) for JPEG XL, which the prebuilt sharp lacks.
// Loaded only inside a foreign-decoder worker, once per worker: its heap (and the pthreads it spawns) go away
// with the worker, which is how the pool gives memory back and stops a decode past its deadline.
import Vips from 'wasm-vips';

type VipsModule = Awaited<ReturnType<typeof Vips>>;
export type VipsImage = InstanceType<VipsModule['Image']>;

let loading: Promise<VipsModule> | undefined;

export function vips(): Promise<VipsModule> {
  loading ??= Vips({
    // The jxl side module only: SVG (resvg) is sharp's job, AVIF sequences avifs.ts's (libvips reads no tracks).
    dynamicLibraries: ['vips-jxl.wasm'],
    // libvips' warnings never reach the server's stdout (the access log): a failure's reason comes with its
    // exception (vipsReason).
    print: () => {},
    printErr: () => {},
  }).then((v) => {
    // One libvips thread per image, as for sharp: each wasm pthread is a worker_thread with its own V8 heap,
    // and by default libvips would start one per core on every pipeline.
    v.concurrency(1);
    // Only the loaders kinu sends here may ever run, whatever the bytes turn out to be.
    v.operationBlock('VipsForeignLoad', true);
    v.operationBlock('VipsForeignLoadJxl', false);
    return v;
  });
  return loading;
}

/** What libvips said about the failure: the error's own text (vips' log is in its message), in one line. */
export function vipsReason(err: unknown): string {
  // wasm-vips throws a WebAssembly.Exception whose `message` is [type, text].
  const m = (err as { message?: unknown } | undefined)?.message;
  const text = Array.isArray(m) ? m.join('\n') : typeof m === 'string' ? m : String(err);
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !/^vips::Error|^unable to (call|load)|bad seek to/.test(l));
  return (lines.at(-1) ?? text.split('\n')[0] ?? 'unknown error').slice(0, 200);
}

let heapHighWater = 0;
/** wasm-vips does not expose its memory, which grows to the largest job and never shrinks: the codecs note an
 *  estimate of each job's peak, from measured VmHWM slopes (jxl.ts); the pool retires a worker on it. */
export function noteJob(peakBytes: number): void {
  heapHighWater = Math.max(heapHighWater, peakBytes);
}
export function heapBytes(): number {
  return heapHighWater;
}

/** Frees an embind handle now rather than at garbage collection: the pixels it holds live in the wasm heap. */
export function free(...imgs: (VipsImage | undefined)[]): void {
  for (const i of imgs) i?.delete();
}
