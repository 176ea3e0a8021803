// Imports point one way (ARCHITECTURE.md "Rules"): each folder and each root file of src/ may import only what
// sits below it. Static imports, `export … from` and dynamic import() are all read.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const SRC = fileURLToPath(new URL('../src', import.meta.url));

interface Import {
  file: string;
  spec: string;
  typeOnly: boolean;
  dynamic: boolean;
}

// `import x from`, `import type {…} from`, `import 'x'`, `export {…} from`, `export * as n from`, `import('x')`.
const STATIC = /^(import|export)\s+(type\s+)?([^'";]*?)\s*(?:from\s*)?['"]([^'"]+)['"]/gm;
const DYNAMIC = /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g;

function importsOf(file: string): Import[] {
  const text = readFileSync(join(SRC, file), 'utf8');
  const out: Import[] = [];
  for (const m of text.matchAll(STATIC)) {
    const [, kind, type, names = '', spec] = m;
    // `export const x = '…'` is not a re-export: only `export {…}` and `export *` name a module.
    if (kind === 'export' && !/^(\{[\s\S]*\}|\*(\s+as\s+\w+)?)$/.test(names)) continue;
    // `import { type A, type B } from` is erased as well as `import type`.
    const braces = /^\{([\s\S]*)\}$/.exec(names);
    const allTypes =
      braces !== null &&
      braces[1]!
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
        .every((s) => s.startsWith('type '));
    out.push({ file, spec: spec!, typeOnly: type !== undefined || allTypes, dynamic: false });
  }
  for (const m of text.matchAll(DYNAMIC)) out.push({ file, spec: m[1]!, typeOnly: false, dynamic: true });
  return out;
}

const tsFiles = (dir: string): string[] =>
  readdirSync(join(SRC, dir), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts'))
    .map((f) => join(dir, f));
const ROOT_FILES = readdirSync(SRC).filter((f) => f.endsWith('.ts') && statSync(join(SRC, f)).isFile());

/** A relative import as a path under src/ (`pipeline/plan.ts`); a package name as it is (`sharp`, `node:fs`). */
const target = (i: Import) => (i.spec.startsWith('.') ? relative(SRC, join(SRC, dirname(i.file), i.spec)) : i.spec);

// Everything is matched against the import's target under src/ (or the package name).
const HTTP = /^http\//,
  URL_ = /^url\//,
  SOURCE = /^source\//,
  PIPELINE = /^pipeline\//,
  CACHE = /^cache\//;
const FOLDERS = /^(http|url|source|pipeline|cache|client)\//;
const COMPOSITION = /^(server|cli|worker|supervisor)\.ts$/;
const USE_CASES = /^(deliver|objects)\.ts$/;
const any =
  (...res: RegExp[]) =>
  (t: string) =>
    res.some((r) => r.test(t));

const RULES: { files: string[]; banned: (t: string) => boolean; why: string }[] = [
  {
    files: tsFiles('client'),
    banned: (t) => !t.startsWith('client/'),
    why: 'kinu/client ships alone (browsers too): no dependencies, no Node built-ins, no server code',
  },
  {
    files: tsFiles('url'),
    banned: any(
      /^fastify$/,
      /^sharp$/,
      HTTP,
      SOURCE,
      PIPELINE,
      CACHE,
      USE_CASES,
      COMPOSITION,
      /^(config|metrics)\.ts$/,
    ),
    why: 'dialects only parse a URL into { key, Transform }',
  },
  {
    files: tsFiles('source'),
    banned: any(
      /^fastify$/,
      /^sharp$/,
      HTTP,
      URL_,
      PIPELINE,
      CACHE,
      USE_CASES,
      COMPOSITION,
      /^(config|metrics|transform)\.ts$/,
    ),
    why: 'sources only fetch and store bytes; they never see a Transform',
  },
  {
    files: tsFiles('pipeline'),
    banned: any(/^fastify$/, HTTP, URL_, SOURCE, CACHE, USE_CASES, COMPOSITION, /^(config|metrics)\.ts$/),
    why: 'the pipeline turns bytes into bytes and knows nothing of HTTP, URLs, sources, caches or config',
  },
  {
    // The S3 client is shared with the S3 source (one place imports the AWS SDK); nothing else of source/.
    files: tsFiles('cache'),
    banned: (t) =>
      any(/^fastify$/, /^sharp$/, HTTP, URL_, PIPELINE, USE_CASES, COMPOSITION, /^(config|metrics)\.ts$/)(t) ||
      (SOURCE.test(t) && !/^source\/s3-(client|url)\.ts$/.test(t)),
    why: 'a cache stores encoded entries by key; it knows nothing of requests, transforms or sources',
  },
  {
    files: tsFiles('http'),
    banned: any(/^sharp$/, /^@aws-sdk\//, SOURCE, PIPELINE, CACHE, COMPOSITION, /^config\.ts$/),
    why: 'http/ speaks HTTP to the use cases (deliver, objects) and dialects; it never touches sharp, sources, caches or config',
  },
  {
    files: ['errors.ts', 'formats.ts', 'transform.ts', 'breaker.ts', 'door.ts'],
    banned: (t) => FOLDERS.test(t) || (/^[\w-]+\.ts$/.test(t) && !/^(errors|formats|transform)\.ts$/.test(t)),
    why: 'the shared vocabulary (errors, formats, Transform, the circuit breaker source/ and cache/ share, the door of the memos) imports nothing else of kinu',
  },
  {
    files: ['deliver.ts'],
    banned: any(/^fastify$/, HTTP, URL_, COMPOSITION, /^(config|metrics|objects)\.ts$/),
    why: 'deliver is the use case, free of HTTP and of URL dialects: it gets a key and a Transform',
  },
  {
    files: ['objects.ts'],
    banned: (t) =>
      any(/^fastify$/, HTTP, COMPOSITION, /^(config|metrics)\.ts$/)(t) || (URL_.test(t) && t !== 'url/key.ts'),
    why: 'the management use case is free of HTTP; of url/ it shares only the key rules',
  },
  {
    files: ['metrics.ts'],
    banned: any(/^fastify$/, /^sharp$/, HTTP, URL_, CACHE, USE_CASES, COMPOSITION, /^config\.ts$/),
    why: 'metrics read counters through callbacks; they import only the types they read',
  },
  {
    files: ['config.ts'],
    banned: any(/^fastify$/, /^sharp$/, PIPELINE, CACHE, USE_CASES, COMPOSITION, /^metrics\.ts$/),
    why: "config validates settings (with the dialects' own parsers) and builds nothing",
  },
  {
    files: ['supervisor.ts'],
    banned: (t) => !/^(node:|pino$)/.test(t),
    why: 'the supervisor loads nothing of kinu, so a native crash in a worker cannot take it down and it stays small',
  },
  {
    files: ['worker.ts'],
    banned: (t) => /^(cli|config)\.ts$/.test(t),
    why: 'a worker is driven by cli.ts, not the reverse',
  },
];

for (const rule of RULES) {
  const label =
    rule.files.length > 1 && rule.files[0]!.includes('/')
      ? `src/${rule.files[0]!.split('/')[0]}/`
      : rule.files.map((f) => `src/${f}`).join(', ');
  test(`imports in ${label} point downstream only`, () => {
    const bad = rule.files
      .flatMap(importsOf)
      .filter((i) => rule.banned(target(i)))
      .map((i) => `${i.file} → ${i.spec}`);
    assert.deepEqual(bad, [], rule.why);
  });
}

test('only cli.ts and server.ts read config.ts; only cli.ts (dynamically) and worker.ts (types) name server.ts', () => {
  const all = [...ROOT_FILES, ...['http', 'url', 'source', 'pipeline', 'cache', 'client'].flatMap(tsFiles)].flatMap(
    importsOf,
  );
  const bad = all
    .filter((i) => {
      const t = target(i);
      if (t === 'config.ts') return !['cli.ts', 'server.ts'].includes(i.file);
      if (t === 'server.ts') return !((i.file === 'cli.ts' && i.dynamic) || (i.file === 'worker.ts' && i.typeOnly));
      return false;
    })
    .map((i) => `${i.file} → ${i.spec}`);
  assert.deepEqual(bad, [], 'the composition root builds the adapters; everything below gets only its own options');
});

test('the supervisor process (cli.ts before it forks) loads no serving code', () => {
  // What `kinu serve` loads before deciding to supervise: cli.ts's static, non-type imports, followed through.
  const seen = new Set<string>();
  const reached: string[] = [];
  const walk = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const i of importsOf(file)) {
      if (i.typeOnly || i.dynamic) continue;
      const t = target(i);
      if (t.endsWith('.ts')) walk(t);
      else reached.push(`${file} → ${t}`);
    }
  };
  walk('cli.ts');
  const serving = [...seen]
    .filter((f) => /^(server|deliver|objects)\.ts$|^(http|pipeline|cache)\//.test(f))
    .map((f) => `src/${f}`);
  const heavy = reached.filter((r) => /→ (sharp|fastify|@fastify\/|@aws-sdk\/)/.test(r));
  assert.deepEqual(
    [...serving, ...heavy],
    [],
    'server.ts is imported dynamically by cli.ts, only in a process that serves',
  );
});

test('the import reader sees export … from, import type and import()', () => {
  const steps = importsOf('pipeline/steps/index.ts');
  assert.ok(
    steps.some((i) => i.spec === './step.ts' && i.typeOnly && !i.dynamic),
    'export type { … } from',
  );
  assert.ok(
    importsOf('cli.ts').some((i) => i.spec === './server.ts' && i.dynamic),
    'await import()',
  );
  assert.ok(
    importsOf('worker.ts').some((i) => i.spec === './server.ts' && i.typeOnly),
    'import type',
  );
  assert.ok(
    !importsOf('source/file.ts').some((i) => !i.spec.startsWith('.') && !i.spec.startsWith('node:')),
    'string constants are not imports',
  );
  assert.ok(
    importsOf('cache/store.ts').some((i) => i.spec === '../source/s3-url.ts' && !i.typeOnly),
    'export { … } from',
  );
});
