// The source contract on the file adapter, in a temp folder written to directly.
import { mkdtempSync, readdirSync, readlinkSync, rmSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createFileSource } from '../../src/source/file.ts';
import { runSourceContract } from './contract.ts';

/** Descriptors this process holds open on files under `root` (Linux: /proc/self/fd). */
function openUnder(root: string): number {
  let n = 0;
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`).startsWith(`${root}/`)) n++;
    } catch {
      /* closed meanwhile */
    }
  }
  return n;
}

runSourceContract(
  'file',
  async () => {
    const root = mkdtempSync(join(tmpdir(), 'kinu-contract-file-'));
    return {
      source: createFileSource({ root, sweepUploads: false }),
      async put(key, bytes) {
        await mkdir(dirname(join(root, key)), { recursive: true });
        await writeFile(join(root, key), bytes);
      },
      remove: (key) => rm(join(root, key)),
      handles: () => openUnder(root),
      close: async () => rmSync(root, { recursive: true, force: true }),
    };
  },
  {
    // The version is the mtime in ms and the size: a rewrite of the same length needs the clock to move on
    // (the kernel's file timestamps tick every few ms).
    versionTickMs: 30,
    skip: process.platform === 'linux' ? undefined : 'needs /proc/self/fd to see open descriptors',
  },
);
