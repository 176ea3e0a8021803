// kinu serve runs a supervisor and --workers N worker processes: one listening line, requests spread over the
// workers, a dead worker replaced, and SIGTERM drains every worker and exits 0. KINU_SUPERVISE=off: one process.
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { test } from 'node:test';
import { main } from '../src/cli.ts';
import { startKinu, until, type KinuProcess } from './helpers.ts';

function get(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    // A new connection each time, so the primary hands each to the next worker.
    request(url, { agent: false, headers: { connection: 'close' } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    })
      .on('error', reject)
      .end();
  });
}

test('a bad --workers value exits 2 before any worker is forked', async () => {
  const err: string[] = [];
  const code = await main(['serve', '--workers', 'lots'], {}, { out: () => {}, err: (s) => err.push(s) });
  assert.equal(code, 2);
  assert.match(err.join('\n'), /KINU_WORKERS \(--workers\)/);
});

test('KINU_SUPERVISE=off allows one worker only: exit 2 naming both settings', async () => {
  const err: string[] = [];
  const code = await main(
    ['serve', '--workers', '2', '--supervise', 'off'],
    {},
    { out: () => {}, err: (s) => err.push(s) },
  );
  assert.equal(code, 2);
  assert.match(err.join('\n'), /KINU_WORKERS \(--workers\).*KINU_SUPERVISE \(--supervise\)/);
});

type Kinu = KinuProcess;
const start = (args: string[]): Kinu => startKinu(args);

const accessPids = (kinu: Kinu) => new Set(kinu.logs.filter((l) => l.msg === 'request').map((l) => l.pid as number));
const listeningPids = (kinu: Kinu) =>
  kinu.logs
    .filter((l) => typeof l.msg === 'string' && l.msg.startsWith('Server listening'))
    .map((l) => l.pid as number);

for (const [label, args] of [
  ['the default', []],
  ['--workers 1', ['--workers', '1']],
] as const) {
  test(`${label}: a supervisor and one worker serving; SIGTERM exits 0`, { timeout: 60_000 }, async () => {
    const kinu = start([...args]);
    try {
      await until(() => kinu.listening.length > 0, 'the listening line', 30_000);
      const base = /^kinu listening on (http:\/\/127\.0\.0\.1:\d+) /.exec(kinu.listening[0]!)![1]!;
      for (let i = 0; i < 3; i++) assert.equal(await get(`${base}/pigeons.jpg?w=${40 + i}`), 200);
      await until(
        () => accessPids(kinu).size > 0 && kinu.logs.filter((l) => l.msg === 'request').length === 3,
        'three access lines',
      );
      const [pid] = accessPids(kinu);
      assert.equal(accessPids(kinu).size, 1);
      assert.notEqual(pid, kinu.child.pid, 'a worker serves, not the process started');
      assert.deepEqual(kinu.logs.find((l) => l.msg === 'workers listening')?.pids, [pid]);
      kinu.child.kill('SIGTERM');
      assert.equal(await kinu.exit, 0);
      assert.equal(kinu.listening.length, 1);
    } finally {
      kinu.child.kill('SIGKILL');
    }
  });
}

test('KINU_SUPERVISE=off: the process started serves by itself', { timeout: 60_000 }, async () => {
  const kinu = start(['--supervise', 'off']);
  try {
    await until(() => kinu.listening.length > 0, 'the listening line', 30_000);
    const base = /^kinu listening on (http:\/\/127\.0\.0\.1:\d+) /.exec(kinu.listening[0]!)![1]!;
    assert.equal(await get(`${base}/pigeons.jpg?w=40`), 200);
    await until(() => accessPids(kinu).size > 0, 'an access line');
    assert.deepEqual([...accessPids(kinu)], [kinu.child.pid]);
    assert.ok(!kinu.logs.some((l) => l.role === 'supervisor'));
    kinu.child.kill('SIGTERM');
    assert.equal(await kinu.exit, 0);
  } finally {
    kinu.child.kill('SIGKILL');
  }
});

test('--workers 2: serves from two processes, replaces a dead one, exits 0 on SIGTERM', {
  timeout: 90_000,
}, async () => {
  const kinu = start(['--workers', '2']);
  const { logs, listening } = kinu;
  try {
    await until(() => listening.length > 0, 'the listening line', 30_000);
    const base = /^kinu listening on (http:\/\/127\.0\.0\.1:\d+) \(source: .*examples\/images\)$/.exec(
      listening[0]!,
    )?.[1];
    assert.ok(base, listening[0]);

    // The kernel hands each new connection to one of the workers accepting on the shared socket.
    for (let i = 0; i < 200 && accessPids(kinu).size < 2; i++) {
      assert.equal(await get(`${base}/pigeons.jpg?w=40`), 200);
      await until(() => logs.filter((l) => l.msg === 'request').length === i + 1, 'the access line');
    }
    const pids = accessPids(kinu);
    assert.equal(pids.size, 2, 'both workers served');
    assert.ok(!pids.has(kinu.child.pid!), 'the supervisor serves nothing');

    // A worker that dies is replaced, and the port keeps answering.
    const [victim] = pids;
    process.kill(victim!, 'SIGKILL');
    await until(() => logs.some((l) => l.msg === 'worker died: replacing it'), 'the supervisor noticed');
    await until(() => listeningPids(kinu).length === 3, 'a third worker listening', 30_000);
    for (let i = 0; i < 4; i++) assert.equal(await get(`${base}/pigeons.jpg?w=41`), 200);
    assert.equal(listening.length, 1, 'one listening line, however many workers');

    kinu.child.kill('SIGTERM');
    assert.equal(await kinu.exit, 0);
    const stopped = new Set(logs.filter((l) => l.msg === 'stopped').map((l) => l.pid));
    const serving = listeningPids(kinu).filter((p) => p !== victim);
    assert.equal(serving.length, 2);
    for (const pid of serving) assert.ok(stopped.has(pid), `worker ${pid} drained and stopped`);
    assert.ok(!stopped.has(victim));
  } finally {
    kinu.child.kill('SIGKILL');
  }
});
