// The V8 flags a serving process sets for itself: only those its command line did not already name.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SERVE_V8_FLAGS, setServeV8Flags } from '../src/v8-flags.ts';

test('an operator who named a flag either way keeps their choice; the rest are set', () => {
  assert.ok(SERVE_V8_FLAGS.includes('--no-incremental-marking-task'));
  for (const given of [
    ['--incremental-marking-task'],
    ['--no-incremental-marking-task'],
    ['--incremental_marking_task'],
    ['--max-old-space-size=512', '--incremental-marking-task=true'],
  ])
    assert.ok(!setServeV8Flags(given).includes('--no-incremental-marking-task'), given.join(' '));
  assert.deepEqual(setServeV8Flags(['--max-old-space-size=512', '--enable-source-maps']), SERVE_V8_FLAGS);
  assert.deepEqual(setServeV8Flags([]), SERVE_V8_FLAGS);
});
