import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { request } from 'node:http';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { main } from '../src/cli.ts';
import { sign } from '../src/url/sign.ts';

const SECRET = 'a-test-secret-of-32-characters!!';

async function run(argv: string[], env: Record<string, string> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, env, { out: (s) => out.push(s), err: (s) => err.push(s) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

test('--help and --version', async () => {
  const help = await run(['--help']);
  assert.equal(help.code, 0);
  assert.match(help.out, /kinu serve/);
  assert.match(help.out, /--max-bytes/);
  const version = await run(['--version']);
  assert.equal(version.code, 0);
  assert.match(version.out, /^\d+\.\d+\.\d+$/);
});

test('an unknown command or flag exits 2 and names it', async () => {
  const cmd = await run(['srve']);
  assert.equal(cmd.code, 2);
  assert.match(cmd.err, /srve/);
  const flag = await run(['serve', '--prot', '80']);
  assert.equal(flag.code, 2);
  assert.match(flag.err, /--prot/);
});

test('a bad setting exits 2 naming its env var and flag, all problems at once', async () => {
  const r = await run(['serve', '--port', '99999'], { KINU_MAX_FRAMES: 'many' });
  assert.equal(r.code, 2);
  assert.match(r.err, /KINU_PORT \(--port\)/);
  assert.match(r.err, /KINU_MAX_FRAMES \(--max-frames\)/);
});

test('kinu sign prints a URL whose sig is the HMAC of path and query', async () => {
  const r = await run(['sign', 'https://img.example.com/a/b.jpg?w=400&fmt=webp', '--secret', SECRET]);
  assert.equal(r.code, 0);
  const expected = sign(SECRET, '/a/b.jpg?w=400&fmt=webp');
  assert.equal(r.out, `https://img.example.com/a/b.jpg?w=400&fmt=webp&sig=${expected}`);
  const fromEnv = await run(['sign', '/a/b.jpg?w=400&fmt=webp'], {
    KINU_SECRET: `${SECRET},another-secret-0123456789`,
  });
  assert.equal(fromEnv.out, `/a/b.jpg?w=400&fmt=webp&sig=${expected}`);
});

test('kinu sign without a secret exits 2', async () => {
  const r = await run(['sign', '/a.jpg?w=1']);
  assert.equal(r.code, 2);
  assert.match(r.err, /KINU_SECRET/);
});

test('kinu serve prints the listening line, serves, and exits 0 on SIGTERM', { timeout: 30_000 }, async () => {
  const bin = fileURLToPath(new URL('../bin/kinu.js', import.meta.url));
  const child = spawn(process.execPath, [bin, 'serve', '--host', '127.0.0.1', '--port', '0', '--log-level', 'silent'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  child.stdout.setEncoding('utf8');
  const line = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (d: string) => {
      stdout += d;
      const m = /kinu listening on (http:\/\/127\.0\.0\.1:\d+) \(source: .*examples\/images\)/.exec(stdout);
      if (m) resolve(m[1]!);
    });
    child.once('exit', (code) => reject(new Error(`exited ${code}: ${stdout}`)));
  });
  const status = await new Promise<number>((resolve, reject) => {
    request(`${line}/pigeons.jpg?w=50`, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    })
      .on('error', reject)
      .end();
  });
  assert.equal(status, 200);
  child.kill('SIGTERM');
  const [code] = await once(child, 'exit');
  assert.equal(code, 0);
});
