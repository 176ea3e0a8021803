// Disk tier: one checksummed file per variant in its original's folder (<dir>/<h2>/<h>/<key>), written via tmp/
// and rename, so a torn file is a miss and purge removes one folder; bounded by what it takes on disk (4 KiB
// blocks), not by lengths. Layout and why: ARCHITECTURE.md §4 "Caches".
import { createHash, randomUUID } from 'node:crypto';
import { close as fsClose, open as fsOpen, read as fsRead } from 'node:fs';
import { mkdir, readdir, rename, rm, rmdir, stat, unlink, utimes, writeFile } from 'node:fs/promises';
import { dirname, join, sep } from 'node:path';
import { crc32 } from '../crc32.ts';
import type { Cache, CacheEntry } from './cache.ts';
import { tierHealth, type TierLog } from './health.ts';

// Header: magic 4, layout version 1 byte, reserved 3, meta length u32 BE, body length u32 BE, CRC-32 of meta + body
// u32 BE.
// Version 1 carried a SHA-256, ~40 µs per 32 KB hit against ~13 for the CRC (which finds any torn or damaged
// file as well; neither stops someone who can write the folder). Version 1 files read as damaged: a miss, removed.
const MAGIC = 'KINU';
const VERSION = 2;
const HEADER = 20;
const KEY = /^[A-Za-z0-9_-]{1,100}$/;
const HASH_DIR = /^[0-9a-f]{64}$/;
// Recency survives restarts as mtime; refreshing it at most once a minute keeps hits from becoming writes.
const TOUCH_MS = 60_000;

/** Allocation unit of common filesystems (ext4, XFS, APFS): a file of 1 byte takes one. */
export const BLOCK = 4096;
/** A name in its folder (a directory entry of ~8 bytes + the name, rounded up), charged to what it names. */
const DIRENT = 64;
/** The cache folder and its tmp/ folder, always there. */
const BASE = 2 * BLOCK;

/** Bytes an entry file of `size` bytes takes on disk. */
export const allocated = (size: number) => Math.ceil(size / BLOCK) * BLOCK + DIRENT;

/** One original's folder <h2>/<h>: a block for itself and its name, while it holds entries. */
interface Folder {
  readonly h: string;
  /** Its path, joined once: a hit only appends the key. */
  readonly path: string;
  entries: number;
  /** The original key whose hash `h` is, once a file read back named it: later reads compare, not hash. */
  sourceKey?: string;
}
interface Rec {
  readonly folder: Folder;
  readonly size: number;
  touched: number;
}

export interface DiskCacheOptions {
  readonly dir: string;
  readonly maxBytes: number;
  /** Where failures (EACCES, ENOSPC, EIO…) are reported, once per burst. */
  readonly log?: TierLog;
}

export async function createDiskCache(config: DiskCacheOptions): Promise<Cache> {
  const { dir, maxBytes } = config;
  const health = tierHealth('disk', { log: config.log });
  const tmpDir = join(dir, 'tmp');
  const index = new Map<string, Rec>(); // insertion order is recency, least recent first
  const folders = new Map<string, Folder>(); // by h: one shared object (and h string) per original
  const shelves = new Map<string, number>(); // <h2> folder → how many original folders it holds
  const inflight = new Set<Promise<void>>();
  const maxEntries = Math.max(1, Math.floor(maxBytes / BLOCK));
  let total = BASE;
  let closed = false;
  const pathOf = (h: string, key: string) => join(dir, h.slice(0, 2), h, key);

  // Renames, deletions and index changes run one at a time so files and index never disagree;
  // writing the temporary file, the slow part, happens outside.
  let tail: Promise<unknown> = Promise.resolve();
  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const run = tail.then(fn);
    tail = run.catch(() => {});
    return run;
  };

  function forget(key: string): Rec | undefined {
    const rec = index.get(key);
    if (rec) {
      index.delete(key);
      total -= allocated(rec.size);
      if (--rec.folder.entries === 0) {
        folders.delete(rec.folder.h);
        total -= BLOCK + DIRENT;
        const h2 = rec.folder.h.slice(0, 2);
        const n = shelves.get(h2)! - 1;
        if (n === 0) {
          shelves.delete(h2);
          total -= BLOCK + DIRENT;
        } else shelves.set(h2, n);
      }
    }
    return rec;
  }

  function remember(key: string, h: string, size: number, touched: number) {
    let folder = folders.get(h);
    if (!folder) {
      folder = { h, path: join(dir, h.slice(0, 2), h), entries: 0 };
      folders.set(h, folder);
      total += BLOCK + DIRENT;
      const h2 = h.slice(0, 2);
      const n = shelves.get(h2) ?? 0;
      if (n === 0) total += BLOCK + DIRENT;
      shelves.set(h2, n + 1);
    }
    folder.entries++;
    index.set(key, { folder, size, touched });
    total += allocated(size);
  }

  async function remove(h: string, key: string) {
    try {
      await unlink(pathOf(h, key));
      health.succeeded('delete');
    } catch (err) {
      // Gone already is fine; a file that cannot go stays on disk beyond the bound: worth knowing.
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') health.failed('delete', err);
    }
    // Each only succeeds once empty: the original has no variant left, the shelf no original.
    if (
      await rmdir(dirname(pathOf(h, key))).then(
        () => true,
        () => false,
      )
    )
      await rmdir(join(dir, h.slice(0, 2))).catch(() => {});
  }

  async function evict() {
    while (total > maxBytes || index.size > maxEntries) {
      const key = index.keys().next().value;
      if (key === undefined) return;
      await remove(forget(key)!.folder.h, key);
    }
  }

  // Called on a damaged file: drop it now, delete it unless a newer write has replaced it meanwhile.
  function discard(key: string, rec: Rec): Promise<void> {
    if (index.get(key) !== rec) return Promise.resolve();
    forget(key);
    return serial(async () => {
      if (!index.has(key)) await remove(rec.folder.h, key);
    });
  }

  async function store(key: string, h: string, tmp: string, data: Buffer) {
    try {
      await writeFile(tmp, data);
      await serial(async () => {
        await place(tmp, pathOf(h, key));
        const old = forget(key);
        if (old && old.folder.h !== h) await remove(old.folder.h, key);
        remember(key, h, data.length, Date.now());
        await evict();
      });
      health.succeeded('set');
    } catch (err) {
      health.failed('set', err);
      await rm(tmp, { force: true }).catch(() => {}); // a failed fill (ENOSPC, EACCES) is only a miss later
    }
  }

  // Startup: temporary files are leftovers of a crash; every entry file is indexed, oldest mtime first.
  await rm(tmpDir, { recursive: true, force: true });
  await mkdir(tmpDir, { recursive: true });
  const found: { key: string; h: string; size: number; mtime: number }[] = [];
  const list = (p: string) => readdir(p).catch(() => [] as string[]);
  await Promise.all(
    (await readdir(dir))
      .filter((d) => /^[0-9a-f]{2}$/.test(d))
      .map(async (d2) => {
        await Promise.all(
          (await list(join(dir, d2))).map(async (h) => {
            if (!HASH_DIR.test(h) || !h.startsWith(d2)) return;
            const names = await list(join(dir, d2, h));
            if (names.length === 0) await rmdir(join(dir, d2, h)).catch(() => {});
            await Promise.all(
              names.map(async (key) => {
                const p = pathOf(h, key);
                const st = await stat(p).catch(() => undefined);
                if (!st?.isFile()) return;
                if (KEY.test(key)) found.push({ key, h, size: st.size, mtime: st.mtimeMs });
                else await unlink(p).catch(() => {});
              }),
            );
          }),
        );
        await rmdir(join(dir, d2)).catch(() => {}); // an empty shelf takes a block it is not charged for
      }),
  );
  found.sort((a, b) => a.mtime - b.mtime);
  for (const f of found) {
    const old = forget(f.key); // the same key under two originals: the newer file wins
    if (old) await remove(old.folder.h, f.key);
    remember(f.key, f.h, f.size, f.mtime);
  }
  await evict();

  return {
    tier: 'disk',
    async get(key) {
      const rec = closed ? undefined : index.get(key);
      if (!rec) return undefined;
      const path = rec.folder.path + sep + key;
      let buf: Buffer;
      try {
        buf = await readSized(path, rec.size);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') health.failed('get', err);
        else if (index.get(key) === rec) forget(key);
        return undefined;
      }
      health.succeeded('get');
      const entry = decode(buf, key, rec.folder);
      if (!entry) {
        await discard(key, rec);
        return undefined;
      }
      if (index.get(key) === rec) {
        index.delete(key);
        index.set(key, rec);
        const now = Date.now();
        if (now - rec.touched > TOUCH_MS) {
          rec.touched = now;
          utimes(path, now / 1000, now / 1000).catch(() => {});
        }
      }
      return entry;
    },
    async set(key, entry) {
      if (closed || !KEY.test(key)) return;
      const data = encode(key, entry);
      if (allocated(data.length) + 2 * (BLOCK + DIRENT) + BASE > maxBytes) return;
      const job = store(key, hashOf(entry.sourceKey), join(tmpDir, randomUUID()), data);
      inflight.add(job);
      await job.finally(() => inflight.delete(job));
    },
    async purge(sourceKey) {
      const h = hashOf(sourceKey);
      await Promise.all([...inflight]); // a write begun before the purge must not bring a variant back
      const purged = serial(async () => {
        const folder = dirname(pathOf(h, 'x'));
        const names = await readdir(folder).catch((err: NodeJS.ErrnoException) => {
          if (err.code === 'ENOENT') return [] as string[];
          throw err;
        });
        for (const key of names) if (index.get(key)?.folder.h === h) forget(key);
        await rm(folder, { recursive: true, force: true });
        await rmdir(dirname(folder)).catch(() => {}); // the shelf, if that was its last original
        return names.length;
      });
      // Counted here, rethrown: the caller decides what a failed purge means.
      return purged.then(
        (n) => {
          health.succeeded('purge');
          return n;
        },
        (err: unknown) => {
          health.failed('purge', err);
          throw err;
        },
      );
    },
    health: () => health.health(),
    async close() {
      closed = true;
      await Promise.all([...inflight]);
      await tail;
    },
  };
}

/** The file as the index knows it: its size is known, so no fstat (readFile's extra trip to the thread pool).
 *  A file of another size reads short or long, and its checksum then fails: a miss, as for any damage.
 *  Callbacks, not a FileHandle: the same three pool trips for less CPU, on the path of every disk hit. */
function readSized(path: string, size: number): Promise<Buffer> {
  return new Promise((done, fail) =>
    fsOpen(path, 'r', (err, fd) => {
      if (err) return fail(err);
      const buf = Buffer.allocUnsafe(size);
      fsRead(fd, buf, 0, size, 0, (readErr, n) =>
        fsClose(fd, () => (readErr ? fail(readErr) : done(n === size ? buf : buf.subarray(0, n)))),
      );
    }),
  );
}

function hashOf(sourceKey: string): string {
  return createHash('sha256').update(sourceKey).digest('hex');
}

async function place(tmp: string, dest: string) {
  try {
    await rename(tmp, dest);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    await mkdir(dirname(dest), { recursive: true });
    await rename(tmp, dest);
  }
}

function encode(key: string, e: CacheEntry): Buffer {
  const { sourceKey, contentType, etag, lastModified, varyAccept, quality } = e;
  const meta = Buffer.from(JSON.stringify({ key, sourceKey, contentType, etag, lastModified, varyAccept, quality }));
  const head = Buffer.alloc(HEADER);
  head.write(MAGIC, 0, 'latin1');
  head[4] = VERSION;
  head.writeUInt32BE(meta.length, 8);
  head.writeUInt32BE(e.body.length, 12);
  const data = Buffer.concat([head, meta, e.body]);
  data.writeUInt32BE(crc32(data, HEADER), 16);
  return data;
}

/** The entry, or undefined for anything short, damaged, or filed under the wrong key or original. */
function decode(buf: Buffer, key: string, folder: Folder): CacheEntry | undefined {
  if (buf.length < HEADER || buf.toString('latin1', 0, 4) !== MAGIC || buf[4] !== VERSION) return undefined;
  const metaEnd = HEADER + buf.readUInt32BE(8);
  if (buf.length !== metaEnd + buf.readUInt32BE(12)) return undefined;
  if (crc32(buf, HEADER) !== buf.readUInt32BE(16)) return undefined;
  let m: Record<string, unknown> | null;
  try {
    m = JSON.parse(buf.toString('utf8', HEADER, metaEnd));
  } catch {
    return undefined;
  }
  if (typeof m !== 'object' || m === null) return undefined;
  const { sourceKey, contentType, etag, lastModified, varyAccept, quality } = m;
  if (m.key !== key || typeof sourceKey !== 'string') return undefined;
  if (sourceKey !== folder.sourceKey) {
    if (hashOf(sourceKey) !== folder.h) return undefined;
    folder.sourceKey = sourceKey;
  }
  if (
    typeof contentType !== 'string' ||
    typeof etag !== 'string' ||
    typeof lastModified !== 'number' ||
    typeof varyAccept !== 'boolean' ||
    (quality !== undefined && typeof quality !== 'number')
  )
    return undefined;
  const entry = { body: buf.subarray(metaEnd), contentType, etag, lastModified, varyAccept, sourceKey };
  return quality === undefined ? entry : { ...entry, quality };
}
