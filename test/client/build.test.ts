// The committed client/ is what `npm run build:client` makes from today's src/url/params.ts and src/client/,
// it imports nothing but its own files, and plain Node (no tsx) loads it by the package's own name.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { compileClient, generateParams, GENERATED, OUT_DIR } from '../../scripts/build-client.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const STALE = 'stale: run `npm run build:client` and commit src/client/params.generated.ts and client/';

test("src/client/params.generated.ts is generated from the server's PARAMS as they are now", () => {
  assert.equal(readFileSync(GENERATED, 'utf8'), generateParams(), STALE);
});

test('client/ holds exactly what tsc makes of src/client/', () => {
  const built = compileClient();
  assert.deepEqual(readdirSync(OUT_DIR).sort(), [...built.keys()].sort(), STALE);
  for (const [file, text] of built)
    assert.equal(readFileSync(join(OUT_DIR, file), 'utf8'), text, `client/${file} is ${STALE}`);
});

test('every generated file says so on its first line, and how to regenerate it', () => {
  const files = [GENERATED, ...readdirSync(OUT_DIR).map((f) => join(OUT_DIR, f))];
  for (const f of files)
    assert.match(
      readFileSync(f, 'utf8').split('\n', 1)[0]!,
      /^\/\/ (Generated|Compiled) .*`npm run build:client`.*do not edit/,
      f,
    );
});

test('client/*.js import only each other: no dependencies, no Node built-ins, so a browser loads them as they are', () => {
  for (const file of readdirSync(OUT_DIR).filter((f) => f.endsWith('.js'))) {
    const js = readFileSync(join(OUT_DIR, file), 'utf8');
    const specs = [
      ...js.matchAll(/\b(?:import|export)\b[^'";]*?\bfrom\s*['"]([^'"]+)['"]|\bimport\s*\(\s*['"]([^'"]+)['"]/g),
    ].map((m) => m[1] ?? m[2]!);
    for (const spec of specs) assert.match(spec, /^\.\/[\w.-]+\.js$/, `client/${file} imports ${spec}`);
    for (const spec of specs) assert.ok(existsSync(join(OUT_DIR, spec)), `client/${file} imports missing ${spec}`);
    assert.doesNotMatch(js, /\brequire\s*\(/, `client/${file} uses require`);
  }
});

test('package.json exports kinu/client and kinu/next with their types, and plain Node imports them by name', () => {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
    name: string;
    exports: Record<string, { types: string; default: string }>;
  };
  assert.equal(pkg.name, 'kinu');
  for (const sub of ['./client', './next']) {
    for (const f of [pkg.exports[sub]!.types, pkg.exports[sub]!.default])
      assert.ok(existsSync(join(ROOT, f)), `${sub} → ${f}`);
  }
  const script = `
    import { kinuUrl, srcset } from 'kinu/client';
    import { kinuLoader } from 'kinu/next';
    console.log(kinuUrl('https://img.example.com', 'recipes/curry.jpg', { fmt: 'auto', w: 400 }));
    console.log(srcset('', 'a.jpg', [800, 400]));
    console.log(kinuLoader({ base: 'https://img.example.com' })({ src: '/a.jpg', width: 640 }));`;
  // No tsx loader here: this is what a user's plain ESM script gets.
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(r.stdout.trim().split('\n'), [
    'https://img.example.com/recipes/curry.jpg?w=400&fmt=auto',
    '/a.jpg?w=400 400w, /a.jpg?w=800 800w',
    'https://img.example.com/a.jpg?w=640',
  ]);
});
