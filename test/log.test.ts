import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
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

test('a line waits at most ~250 ms in its chunk when no more come', async (t) => {
  const { path, fd } = tempFile(t);
  const dest = logDestination(fd);
  dest.write('one line\n');
  assert.equal(readFileSync(path, 'utf8'), '', 'batched, not written at once');
  await new Promise((r) => setTimeout(r, 600));
  assert.equal(readFileSync(path, 'utf8'), 'one line\n');
});

test('lines still in a chunk when the process exits are written', () => {
  const src = JSON.stringify(fileURLToPath(new URL('../src/log.ts', import.meta.url)));
  const script = `
    import pino from 'pino';
    const { logDestination } = await import(${src});
    const log = pino({ level: 'info' }, logDestination());
    for (let i = 0; i < 500; i++) log.info({ i }, 'line');
    process.exit(0);`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    encoding: 'utf8',
    cwd: fileURLToPath(new URL('..', import.meta.url)),
  });
  assert.equal(r.status, 0, r.stderr);
  const got = r.stdout
    .trim()
    .split('\n')
    .map((l) => (JSON.parse(l) as { i: number }).i);
  assert.deepEqual(
    got,
    Array.from({ length: 500 }, (_, i) => i),
  );
});
