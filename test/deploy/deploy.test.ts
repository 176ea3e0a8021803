// The shipped deployment files: the VCL compiles with the example backends include, the Dockerfile's file
// set runs kinu and its HEALTHCHECK tells up from down, the runtime imports only production dependencies,
// and the systemd unit passes systemd-analyze.
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { loadConfig } from '../../src/config.ts';
import { freePort, ROOT, startKinu, stop, VARNISHD, VCL } from '../stack/harness.ts';

const run = promisify(execFile);
const CI = process.env.CI === 'true';
const haveVarnish = existsSync(VARNISHD);
if (!haveVarnish && CI) throw new Error(`${VARNISHD} not found: CI must compile the VCL (.ci/run installs varnish)`);

function compileVcl(includeDir: string): { status: number | null; stderr: string } {
  const work = mkdtempSync(join(tmpdir(), 'kinu-vcc-'));
  try {
    // -j none: nothing needs root, and a root varnishd would compile as the varnish user, who cannot read a 0700 temp dir.
    const r = spawnSync(
      VARNISHD,
      ['-C', '-j', 'none', '-n', join(work, 'n'), '-p', `vcl_path=${includeDir}`, '-f', VCL],
      { encoding: 'utf8' },
    );
    return { status: r.status, stderr: r.stderr };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

test('kinu.vcl compiles with the example kinu-backends.vcl', { skip: !haveVarnish && `${VARNISHD} not found` }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'kinu-vcl-'));
  try {
    copyFileSync(join(ROOT, 'deploy/varnish/kinu-backends.example.vcl'), join(dir, 'kinu-backends.vcl'));
    const ok = compileVcl(dir);
    assert.equal(ok.status, 0, ok.stderr.slice(-2000));
    // Without the site file it does not compile, and says which file is missing.
    rmSync(join(dir, 'kinu-backends.vcl'));
    const missing = compileVcl(dir);
    assert.notEqual(missing.status, 0);
    assert.match(missing.stderr, /kinu-backends\.vcl/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the runtime (bin/, src/ as dist/) imports production dependencies only, as `npm ci --omit=dev` installs them, and they hold no TypeScript toolchain', () => {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
    name: string;
    dependencies: Record<string, string>;
    files: string[];
  };
  const files = ['bin', 'src'].flatMap((d) =>
    readdirSync(join(ROOT, d), { recursive: true, encoding: 'utf8' })
      .filter((f) => /\.(ts|js|mjs)$/.test(f))
      .map((f) => join(ROOT, d, f)),
  );
  const found = new Set<string>();
  for (const f of files) {
    const text = readFileSync(f, 'utf8');
    for (const m of text.matchAll(
      /(?:\bfrom\s+|\bimport\s*\(\s*|\bimport\s+|\brequire\(\s*|\.resolve\(\s*)'([^'./][^']*)'/g,
    )) {
      const spec = m[1]!;
      if (spec.startsWith('node:') || builtinModules.includes(spec)) continue;
      const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!;
      found.add(name);
      // The package's own exports (the playground serves kinu/client's files): shipped when "files" lists them.
      if (name === pkg.name) {
        assert.ok(pkg.files.includes(`${spec.slice(name.length + 1)}/`), `${spec} is not in "files"`);
        continue;
      }
      assert.ok(name in pkg.dependencies, `${f.slice(ROOT.length)} imports ${spec}, which is not in "dependencies"`);
    }
  }
  assert.ok(found.has('sharp') && !found.has('tsx'), `imports seen: ${[...found].join(', ')}`);
  for (const dev of ['tsx', 'typescript', 'esbuild'])
    assert.ok(!(dev in pkg.dependencies), `${dev} is a runtime dependency`);
});

/**
 * The Dockerfile's ENV, COPY sources, HEALTHCHECK and CMD, read as docker would (exec form only). `image` is the
 * final stage's files: a `COPY --from=build` one is the build's output (dist/), taken from this checkout.
 */
function readDockerfile() {
  const text = readFileSync(join(ROOT, 'Dockerfile'), 'utf8').replace(/\\\n/g, ' ');
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  const env: Record<string, string> = {};
  const copies: string[] = [];
  let image: string[] = [];
  let cmd: string[] | undefined;
  let healthcheck: string[] | undefined;
  let user: string | undefined;
  let from: string | undefined;
  for (const l of lines) {
    const [op, rest = ''] = [l.split(/\s+/)[0]!.toUpperCase(), l.replace(/^\S+\s*/, '')];
    if (op === 'FROM') {
      from = rest;
      image = [];
    }
    if (op === 'ENV') for (const m of rest.matchAll(/(\w+)=(\S+)/g)) env[m[1]!] = m[2]!;
    if (op === 'COPY') {
      const args = rest.split(/\s+/);
      if (args[0]!.startsWith('--from=')) image.push(args.at(-1)!.replace(/^\.\//, ''));
      else {
        copies.push(...args.slice(0, -1));
        image.push(...args.slice(0, -1));
      }
    }
    if (op === 'USER') user = rest;
    if (op === 'CMD') cmd = JSON.parse(rest) as string[];
    if (op === 'HEALTHCHECK') healthcheck = JSON.parse(rest.slice(rest.indexOf('CMD') + 3)) as string[];
  }
  return { text, from, env, copies, image, cmd: cmd!, healthcheck: healthcheck!, user };
}

test('Dockerfile: node:20-bookworm-slim, npm ci --omit=dev, non-root, port 8080; its files run kinu and its HEALTHCHECK tells up from down', {
  timeout: 60_000,
}, async () => {
  const d = readDockerfile();
  assert.equal(d.from, 'node:20-bookworm-slim');
  assert.match(d.text, /RUN npm ci --omit=dev\b/);
  assert.ok(d.user && d.user !== 'root' && d.user !== '0', `USER ${d.user}`);
  assert.match(d.text, /^EXPOSE 8080$/m);
  assert.equal(d.env.KINU_PORT, '8080');
  for (const c of d.copies) assert.ok(existsSync(join(ROOT, c)), `COPY ${c}: no such file in the repository`);
  const ignored = readFileSync(join(ROOT, '.dockerignore'), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  for (const c of d.copies) assert.ok(!ignored.includes(c), `${c} is copied but .dockerignore excludes it`);

  // The image's /opt/kinu, without docker: the COPYed files plus the installed node_modules.
  const app = mkdtempSync(join(tmpdir(), 'kinu-image-'));
  try {
    assert.ok(
      d.image.includes('dist') && !d.image.includes('src'),
      `the image runs the build, not the sources: ${d.image.join(' ')}`,
    );
    for (const c of d.image) cpSync(join(ROOT, c), join(app, c), { recursive: true });
    symlinkSync(join(ROOT, 'node_modules'), join(app, 'node_modules'));
    const port = String(await freePort());
    const env = { ...d.env, KINU_HOST: '127.0.0.1', KINU_PORT: port, KINU_LOG_LEVEL: 'warn' };
    assert.equal(d.cmd[0], 'node');
    assert.deepEqual(d.cmd.slice(1), ['bin/kinu.js', 'serve'], 'the stack test starts kinu the same way');
    const kinu = await startKinu('image', env, app);
    const health = () =>
      run(process.execPath, d.healthcheck.slice(1), { env: { ...process.env, ...env } }).then(
        () => 0,
        (e: { code?: number }) => e.code ?? 1,
      );
    try {
      assert.equal(d.healthcheck[0], 'node');
      const r = await fetch(`${kinu.url}/pigeons.jpg?w=40`);
      assert.equal(r.status, 200, 'the bundled sample images are the default source');
      assert.equal(await health(), 0);
    } finally {
      await stop(kinu.child);
    }
    assert.equal(await health(), 1, 'HEALTHCHECK fails once kinu is down');
  } finally {
    rmSync(app, { recursive: true, force: true });
  }
});

test('kinu.env.example holds settings kinu accepts', () => {
  const lines = readFileSync(join(ROOT, 'deploy/systemd/kinu.env.example'), 'utf8')
    .split('\n')
    .filter((l) => /^[A-Z_]+=/.test(l));
  const env = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
  assert.ok(Object.keys(env).filter((k) => k.startsWith('KINU_')).length >= 8);
  const config = loadConfig({ env });
  assert.equal(config.source.kind, 's3');
  assert.equal(config.source.statTtlMs, 0);
});

const analyze = '/usr/bin/systemd-analyze';
test('systemd unit passes systemd-analyze verify', {
  skip: !(existsSync(analyze) && existsSync('/usr/bin/node')) && 'needs systemd-analyze and /usr/bin/node',
}, () => {
  const r = spawnSync(analyze, ['verify', join(ROOT, 'deploy/systemd/kinu.service')], {
    encoding: 'utf8',
    cwd: tmpdir(),
  });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr.trim(), '', r.stderr);
});
