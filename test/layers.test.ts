// Imports point one way (DESIGN §2): http → url, deliver; deliver → source, pipeline; nothing reaches back.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const SRC = fileURLToPath(new URL('../src', import.meta.url));

function imports(dir: string): { file: string; spec: string }[] {
  return readdirSync(join(SRC, dir), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts'))
    .flatMap((f) => [...readFileSync(join(SRC, dir, f), 'utf8').matchAll(/^import[^'"]*['"]([^'"]+)['"]/gm)].map((m) => ({ file: `${dir}/${f}`, spec: m[1]! })));
}

const RULES: { dir: string; banned: RegExp; why: string }[] = [
  { dir: 'pipeline', banned: /fastify|\/http\/|\/url\/|\/source\/|config|deliver|server/, why: 'the pipeline knows nothing of HTTP, URLs, sources or config' },
  { dir: 'http', banned: /^sharp$|\/pipeline\/(?!limiter)|\/source\/|config/, why: 'http/ never touches sharp, sources or config' },
  { dir: 'url', banned: /fastify|sharp|\/http\/|\/pipeline\/|\/source\/|deliver|config/, why: 'dialects only parse into a Transform' },
  { dir: 'source', banned: /fastify|sharp|\/http\/|\/pipeline\/|\/url\/|deliver|config/, why: 'sources only fetch bytes' },
  { dir: 'client', banned: /^(?!\.\/)/, why: 'kinu/client ships alone (browsers too): no dependencies, no Node built-ins, no server code' },
];

for (const rule of RULES) {
  test(`imports in src/${rule.dir}/ point downstream only`, () => {
    const bad = imports(rule.dir).filter((i) => rule.banned.test(i.spec));
    assert.deepEqual(bad, [], rule.why);
  });
}
