// README tables generated from the code (PARAMS, ERRORS, SETTINGS), so docs and code cannot drift.
// `npm run docs` rewrites them in place; test/docs.test.ts fails when they are stale.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { SETTINGS } from '../src/config.ts';
import { ERRORS } from '../src/errors.ts';
import { PARAMS } from '../src/url/params.ts';

const cell = (s: string) => s.replaceAll('|', '\\|');

export function paramTable(): string {
  const rows = Object.entries(PARAMS).map(
    ([name, p]) => `| \`${name}\` | ${cell(p.values)} | ${cell(p.doc)} | \`?${cell(p.example)}\` |`,
  );
  return ['| param | values | meaning | example |', '|---|---|---|---|', ...rows].join('\n');
}

export function errorTable(): string {
  const rows = Object.entries(ERRORS).map(([code, e]) => `| ${e.status} | \`${code}\` | ${cell(e.when)} |`);
  return ['| status | code | when |', '|---|---|---|', ...rows].join('\n');
}

export function configTable(): string {
  const rows = Object.entries(SETTINGS).map(
    ([name, s]) =>
      `| \`${s.env}\` | \`--${s.flag}\` | \`${name}\` | ${s.default === undefined ? 'none' : `\`${cell(s.default)}\``} | ${cell(s.doc)} |`,
  );
  return ['| env | flag | config file key | default | meaning |', '|---|---|---|---|---|', ...rows].join('\n');
}

export const SECTIONS: Record<string, () => string> = { params: paramTable, errors: errorTable, config: configTable };

export const README = fileURLToPath(new URL('../README.md', import.meta.url));

export function render(readme: string): string {
  let out = readme;
  for (const [name, make] of Object.entries(SECTIONS)) {
    const re = new RegExp(`(<!-- ${name}:start -->\\n)[\\s\\S]*?(\\n<!-- ${name}:end -->)`);
    if (!re.test(out)) throw new Error(`README.md has no <!-- ${name}:start --> … <!-- ${name}:end --> block`);
    out = out.replace(re, (_m, a: string, b: string) => `${a}${make()}${b}`);
  }
  return out;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeFileSync(README, render(readFileSync(README, 'utf8')));
}
