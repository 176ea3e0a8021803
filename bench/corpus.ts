// The originals both sides work on: real photos copied into a temp folder (kinu's source refuses symlinks
// that point out of it), plus one generated 24 MP JPEG so the 2–24 MP range is covered.
import { copyFile, mkdir, readdir, stat } from 'node:fs/promises';
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

const IMAGE_EXT = new Set(['.jpg', '.jpeg', '.png', '.webp', '.avif', '.tif', '.tiff']);
const TARGET_24MP = { width: 5657, height: 4243 };

async function listImages(root: string): Promise<string[]> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile() && !e.name.startsWith('.') && IMAGE_EXT.has(extname(e.name).toLowerCase()))
    .map((e) => join(e.parentPath, e.name))
    .filter((p) => !relative(root, p).split(sep).some((part) => part.startsWith('.')))
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
    path, width, height, megapixels: (width * height) / 1e6, bytes: (await stat(path)).size, generated,
  };
}

/** Copies the images under `from` into `into` and, unless one is ≥ 20 MP already, adds a 24 MP upscale of the largest. */
export async function prepareCorpus(from: string, into: string, opts: { add24mp: boolean }): Promise<Photo[]> {
  const files = await listImages(from);
  if (files.length === 0) throw new Error(`no images (${[...IMAGE_EXT].join(' ')}) under ${from}`);
  const photos: Photo[] = [];
  for (const f of files) {
    const dest = join(into, relative(from, f));
    await mkdir(dirname(dest), { recursive: true });
    await copyFile(f, dest);
    photos.push(await describe(into, dest, false));
  }
  if (opts.add24mp && !photos.some((p) => p.megapixels >= 20)) {
    const largest = [...photos].sort((a, b) => b.megapixels - a.megapixels)[0]!;
    const dest = join(into, 'generated-24mp.jpg');
    await sharp(largest.path, { autoOrient: true })
      .resize(TARGET_24MP.width, TARGET_24MP.height, { fit: 'fill' })
      .jpeg({ quality: 90 })
      .toFile(dest);
    photos.push(await describe(into, dest, true));
  }
  return photos;
}

/** Request i of a phase: photos in turn, the width one larger each cycle, so no two requests are the same. */
export function job(photos: readonly Photo[], i: number, baseWidth: number): { photo: Photo; width: number } {
  return { photo: photos[i % photos.length]!, width: baseWidth + Math.floor(i / photos.length) };
}
