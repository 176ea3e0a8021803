import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { README, render } from '../scripts/docs.ts';

test('README tables of params, errors and settings match the code (run `npm run docs` to refresh)', () => {
  const readme = readFileSync(README, 'utf8');
  assert.equal(render(readme), readme);
});

test('README shows the two quick-start commands', () => {
  const readme = readFileSync(README, 'utf8');
  assert.match(readme, /npm ci && npm start/);
  assert.match(readme, /npm test/);
});
