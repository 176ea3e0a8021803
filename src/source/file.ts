// Originals in a local folder. Keys are resolved with realpath and must stay inside the folder, so a
// symlink pointing out of it is as unreachable as `../`.
import { constants, type Stats } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { mkdir, open, readdir, realpath, rename, rm, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join, sep } from 'node:path';
import { KinuError } from '../errors.ts';
import { checkSize } from './limit.ts';
import type { Source, SourceObject, SourceStat } from './source.ts';

export interface FileSourceConfig {
  readonly root: string;
}

export function createFileSource(config: FileSourceConfig): Source {
  let rootReal: Promise<string> | undefined;
  const root = () => (rootReal ??= realpath(config.root));

  async function resolve(key: string): Promise<string> {
    const base = await root().catch((err) => {
      rootReal = undefined;
      throw new KinuError('source_failed', 'the source folder cannot be read', { cause: err });
    });
    let real: string;
    try {
      real = await realpath(join(base, key));
    } catch (err) {
      throw fsError(err, key);
    }
    if (!real.startsWith(base.endsWith(sep) ? base : base + sep)) throw notFound(key);
    return real;
  }

  // Open once and stat the descriptor, so size and version describe exactly the bytes read.
  // O_NONBLOCK: opening a FIFO must not hang; it is then refused as not a file.
  async function openFile(key: string) {
    const fh = await open(await resolve(key), constants.O_RDONLY | (constants.O_NONBLOCK ?? 0)).catch((err) => { throw fsError(err, key); });
    try {
      const st = await fh.stat();
      if (!st.isFile()) throw notFound(key);
      return { fh, st };
    } catch (err) {
      await fh.close();
      throw err;
    }
  }

  function toStat(st: Stats): SourceStat {
    return { version: `${Math.trunc(st.mtimeMs).toString(36)}-${st.size.toString(36)}`, size: st.size, lastModified: st.mtime };
  }

  return {
    name: 'file',
    async stat(key) {
      const path = await resolve(key);
      const st = await stat(path).catch((err) => { throw fsError(err, key); });
      if (!st.isFile()) throw notFound(key);
      return toStat(st);
    },
    async get(key): Promise<SourceObject> {
      const { fh, st } = await openFile(key);
      return { ...toStat(st), body: fh.createReadStream({ autoClose: true, highWaterMark: 256 * 1024 }) };
    },
    async read(key, opts) {
      const { fh, st } = await openFile(key);
      try {
        checkSize(st.size, opts.maxBytes);
        // One allocation of the known size: streaming chunks and concatenating them doubled the garbage.
        const buf = Buffer.allocUnsafe(st.size);
        let n = 0;
        while (n < st.size) {
          opts.signal?.throwIfAborted();
          const { bytesRead } = await fh.read(buf, n, st.size - n, n);
          if (bytesRead === 0) break;
          n += bytesRead;
        }
        return n === st.size ? buf : buf.subarray(0, n);
      } catch (err) {
        if (err instanceof KinuError || opts.signal?.aborted) throw err;
        throw fsError(err, key);
      } finally {
        await fh.close();
      }
    },
    async list({ limit }) {
      const base = await root();
      const keys: string[] = [];
      // Breadth-first and bounded: a huge folder costs `limit` entries, not a full walk.
      const dirs = [''];
      while (dirs.length > 0 && keys.length < limit) {
        const dir = dirs.shift()!;
        const entries = await readdir(join(base, dir), { withFileTypes: true }).catch(() => []);
        for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
          if (e.name.startsWith('.')) continue;
          const key = dir ? `${dir}/${e.name}` : e.name;
          if (e.isDirectory()) dirs.push(key);
          else if (e.isFile() && keys.length < limit) keys.push(key);
        }
      }
      return keys.sort();
    },
    async put(key, body) {
      const base = await root();
      const dir = dirname(join(base, key));
      await mkdir(dir, { recursive: true }).catch((err) => {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'EEXIST' || code === 'ENOTDIR') throw new KinuError('invalid_key', `key ${JSON.stringify(key)}: a part of its path is an original, not a folder`);
        throw fsError(err, key);
      });
      const realDir = await realpath(dir);
      if (realDir !== base && !realDir.startsWith(base + sep)) throw new KinuError('invalid_key', `key ${JSON.stringify(key)} leads out of the source folder`);
      // Written under a hidden temporary name, flushed, then renamed: readers see the old file or the whole new one.
      const tmp = join(realDir, `.kinu-upload-${randomUUID()}`);
      const target = join(realDir, basename(key));
      try {
        const fh = await open(tmp, 'wx');
        try {
          await fh.writeFile(body);
          await fh.sync();
        } finally {
          await fh.close();
        }
        await rename(tmp, target);
      } catch (err) {
        await rm(tmp, { force: true });
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'EISDIR' || code === 'ENOTEMPTY' || code === 'EEXIST') throw new KinuError('invalid_key', `key ${JSON.stringify(key)} names a folder`);
        throw fsError(err, key);
      }
      return toStat(await stat(target));
    },
    async delete(key) {
      let path: string;
      try {
        path = await resolve(key);
      } catch (err) {
        if (err instanceof KinuError && err.code === 'not_found') return false;
        throw err;
      }
      const st = await stat(path).catch(() => undefined);
      if (!st?.isFile()) return false;
      try {
        await unlink(path);
        return true;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
        throw fsError(err, key);
      }
    },
    async ready() {
      try {
        return (await stat(await root())).isDirectory();
      } catch {
        rootReal = undefined;
        return false;
      }
    },
  };
}

function notFound(key: string): KinuError {
  return new KinuError('not_found', `no object with key ${JSON.stringify(key)}`);
}

function fsError(err: unknown, key: string): KinuError {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR' || code === 'ELOOP' || code === 'ENAMETOOLONG') return notFound(key);
  return new KinuError('source_failed', `reading ${JSON.stringify(key)} failed`, { cause: err });
}
