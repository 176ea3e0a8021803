// The originals both sides work on: real photos copied into a temp folder (kinu's source refuses symlinks
// that point out of it), plus generated 24 MP JPEGs (upscales of the largest real photos, aspect kept) so
// the 2–24 MP range is covered and the memory workloads have distinct 24 MP originals to decode.
import { copyFile, mkdir, readdir, stat } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { dirname, extname, join, relative, sep } from 'node:path';
import sharp from 'sharp';

export interface Photo {
  /** Path inside the source folder, with `/` separators: the URL key. */
  readonly key: string;
  /** Absolute path of the copy in the temp folder, read by the in-process side. */
  readonly path: string;
  readonly width: number;
  readonly height: number;
  readonly megapixels: number;
  readonly bytes: number;
  readonly generated: boolean;
}

export interface Corpus {
  /** Every real photo plus the first generated 24 MP one: the set W1/W2 and the soak cycle through. */
  readonly main: Photo[];
  /** The generated 24 MP photos plus the largest real one (12 MP in test/corpus): the peak-RSS set. */
  readonly large: Photo[];
  readonly all: Photo[];
}

const IMAGE_EXT = new Set(['.jpg', '.jpeg', '.png', '.webp', '.avif', '.tif', '.tiff']);
const TARGET_PIXELS = 24e6;

async function listImages(root: string): Promise<string[]> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile() && !e.name.startsWith('.') && IMAGE_EXT.has(extname(e.name).toLowerCase()))
    .map((e) => join(e.parentPath, e.name))
    .filter(
      (p) =>
        !relative(root, p)
          .split(sep)
          .some((part) => part.startsWith('.')),
    )
    .sort();
}

async function describe(root: string, path: string, generated: boolean): Promise<Photo> {
  const meta = await sharp(path).metadata();
  if (!meta.width || !meta.height) throw new Error(`${path}: not an image sharp can read`);
  const swap = (meta.orientation ?? 1) >= 5;
  const width = swap ? meta.height : meta.width;
  const height = swap ? meta.width : meta.height;
  return {
    key: relative(root, path).split(sep).join('/'),
    path,
    width,
    height,
    megapixels: (width * height) / 1e6,
    bytes: (await stat(path)).size,
    generated,
  };
}

/** Copies the images under `from` into `into` and adds `generate24mp` 24 MP upscales of the largest ones. */
export async function prepareCorpus(from: string, into: string, opts: { generate24mp: number }): Promise<Corpus> {
  const files = await listImages(from);
  if (files.length === 0) throw new Error(`no images (${[...IMAGE_EXT].join(' ')}) under ${from}`);
  const real: Photo[] = [];
  for (const f of files) {
    const dest = join(into, relative(from, f));
    await mkdir(dirname(dest), { recursive: true });
    await copyFile(f, dest);
    real.push(await describe(into, dest, false));
  }
  const bySize = [...real].sort((a, b) => b.megapixels - a.megapixels);
  const generated: Photo[] = [];
  // sharp runs one libvips thread per image on glibc without jemalloc; the upscales are setup, not measured.
  const threads = sharp.concurrency();
  sharp.concurrency(availableParallelism());
  try {
    for (let i = 0; i < Math.min(opts.generate24mp, bySize.length); i++) {
      const src = bySize[i]!;
      const width = Math.round(Math.sqrt((TARGET_PIXELS * src.width) / src.height));
      const height = Math.round(TARGET_PIXELS / width);
      const dest = join(into, i === 0 ? 'generated-24mp.jpg' : `generated-24mp-${i + 1}.jpg`);
      await sharp(src.path, { autoOrient: true })
        .resize(width, height, { fit: 'fill' })
        .jpeg({ quality: 90 })
        .toFile(dest);
      generated.push(await describe(into, dest, true));
    }
  } finally {
    sharp.concurrency(threads);
  }
  return {
    main: [...real, ...generated.slice(0, 1)],
    large: generated.length > 0 ? [...generated, bySize[0]!] : bySize.slice(0, 4),
    all: [...real, ...generated],
  };
}

/** Request i of a phase: photos in turn, the width one larger each cycle, so no two requests are the same. */
export function job(photos: readonly Photo[], i: number, baseWidth: number): { photo: Photo; width: number } {
  return { photo: photos[i % photos.length]!, width: baseWidth + Math.floor(i / photos.length) };
}

export function urlPath(p: Photo, width: number, format: string, quality?: number): string {
  return `/${p.key.split('/').map(encodeURIComponent).join('/')}?w=${width}&fmt=${format}${quality === undefined ? '' : `&q=${quality}`}`;
}
