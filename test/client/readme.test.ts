// The README's "In your pages" examples run as they are, in plain Node, and give the URLs the README shows.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

function section(): string {
  const readme = readFileSync(new URL('README.md', `file://${ROOT}`), 'utf8');
  const start = readme.indexOf('\n## In your pages\n');
  assert.ok(start >= 0, 'README has an "In your pages" section');
  const end = readme.indexOf('\n## ', start + 1);
  return readme.slice(start, end < 0 ? undefined : end);
}

test('README "In your pages": the js examples run and make the URLs shown', () => {
  const text = section();
  const blocks = [...text.matchAll(/```js\n([\s\S]*?)```/g)].map((m) => m[1]!);
  assert.equal(blocks.length, 3, 'three js examples');
  const script = `${blocks.join('\n')}
console.log(kinuUrl(base, 'recipes/curry.jpg', { w: 400, fmt: 'auto' }));
console.log(html);
console.log(picture);`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, KINU_SECRET: 'a-secret-of-at-least-16-characters' },
  });
  assert.equal(r.status, 0, r.stderr);
  const shown = [
    'https://img.example.com/recipes/curry.jpg?w=400&fmt=auto\n',
    'srcset="https://img.example.com/recipes/curry.jpg?w=400&fmt=auto 400w, ',
    '?w=800&fmt=auto 800w, ',
    '?w=1600&fmt=auto 1600w"',
    'sizes="(min-width: 1000px) 50vw, 100vw"',
    '?w=400&h=400&pos=attention&fmt=auto 400w, ',
    '?w=800&h=450&fmt=auto 800w, ',
  ];
  for (const s of shown) {
    assert.ok(text.includes(s), `the README shows ${JSON.stringify(s)}`);
    assert.ok(r.stdout.includes(s), `the examples make ${JSON.stringify(s)}:\n${r.stdout}`);
  }
});
