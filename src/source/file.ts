// Originals in a local folder. Keys are resolved with realpath and must stay inside the folder, so a
// symlink pointing out of it is as unreachable as `../`.
import { constants, type Stats } from 'node:fs';
import { open, realpath, stat } from 'node:fs/promises';
import { join, sep } from 'node:path';
import { KinuError } from '../errors.ts';
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
      const path = await resolve(key);
      // Open once and stat the descriptor, so the size and version describe exactly the bytes we stream.
      // O_NONBLOCK: opening a FIFO must not hang; it is then refused as not a file.
      const fh = await open(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0)).catch((err) => { throw fsError(err, key); });
      try {
        const st = await fh.stat();
        if (!st.isFile()) throw notFound(key);
        const body = fh.createReadStream({ autoClose: true, highWaterMark: 256 * 1024 });
        return { ...toStat(st), body };
      } catch (err) {
        await fh.close();
        throw err;
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
