import assert from 'node:assert/strict';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { logDestination } from '../src/log.ts';

function tempFile(t: { after(fn: () => void): void }): { path: string; fd: number } {
  const dir = mkdtempSync(join(tmpdir(), 'kinu-log-'));
  const path = join(dir, 'out.log');
  const fd = openSync(path, 'w');
  t.after(() => {
    closeSync(fd);
    rmSync(dir, { recursive: true, force: true });
  });
  return { path, fd };
}

test('the log destination writes every line, in order, across chunks, long lines and non-ASCII text', async (t) => {
  const { path, fd } = tempFile(t);
  const dest = logDestination(fd);
  const lines: string[] = [];
  for (let i = 0; i < 3000; i++) {
    // Mostly short lines (a turn's batch is ~7 KB), some multi-byte, one longer than a chunk.
    const text =
      i === 1234 ? 'x'.repeat(200_000) : i % 7 === 0 ? `ü€😀 ${i}` : `{"n":${i},"pad":"${'p'.repeat(i % 300)}"}`;
    lines.push(`${text}\n`);
    dest.write(`${text}\n`);
  }
  await new Promise<void>((resolve, reject) => dest.flush((err) => (err ? reject(err) : resolve())));
  assert.equal(readFileSync(path, 'utf8'), lines.join(''));
});

// Lines still in a chunk when the process exits: test/http/fast-hit.test.ts (through the access queue).
test('a line waits at most ~250 ms in its chunk when no more come', async (t) => {
  const { path, fd } = tempFile(t);
  const dest = logDestination(fd);
  dest.write('one line\n');
  assert.equal(readFileSync(path, 'utf8'), '', 'batched, not written at once');
  await new Promise((r) => setTimeout(r, 600));
  assert.equal(readFileSync(path, 'utf8'), 'one line\n');
});
