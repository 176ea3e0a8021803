// The circuit breaker source/resilient.ts and cache/store.ts share, on an injected clock (no sleeps).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createBreaker } from '../src/breaker.ts';

function clocked(failures = 3, cooldownMs = 1000) {
  let t = 10_000;
  const breaker = createBreaker({ failures, cooldownMs, now: () => t });
  return {
    breaker,
    advance: (ms: number) => {
      t += ms;
    },
  };
}

test('breaker: stays closed below N failures in a row; a success restarts the count', () => {
  const { breaker } = clocked(3);
  breaker.failed();
  breaker.failed();
  assert.equal(breaker.state(), 'closed');
  assert.equal(breaker.failuresInARow(), 2);
  breaker.succeeded();
  assert.equal(breaker.failuresInARow(), 0);
  breaker.failed();
  breaker.failed();
  assert.equal(breaker.state(), 'closed');
  assert.ok(breaker.admit());
});

test('breaker: opens after N failures in a row and refuses calls for the cool-down', () => {
  const { breaker, advance } = clocked(3, 1000);
  for (let i = 0; i < 3; i++) {
    assert.ok(breaker.admit());
    breaker.failed();
  }
  assert.equal(breaker.state(), 'open');
  assert.equal(breaker.admit(), false);
  assert.equal(breaker.retryInMs(), 1000);
  advance(999);
  assert.equal(breaker.admit(), false);
  assert.equal(breaker.state(), 'open');
  assert.equal(breaker.retryInMs(), 1);
});

test('breaker: after the cool-down it reads half-open and lets exactly one probe through', () => {
  const { breaker, advance } = clocked(1, 500);
  breaker.failed();
  advance(500);
  assert.equal(breaker.state(), 'half_open', 'reported half-open before anyone asks');
  assert.equal(breaker.admit(), true, 'the probe');
  assert.equal(breaker.admit(), false, 'a second caller while the probe is out');
  assert.equal(breaker.admit(), false);
  assert.equal(breaker.state(), 'half_open');
});

test('breaker: a good probe closes it', () => {
  const { breaker, advance } = clocked(2, 500);
  breaker.failed();
  breaker.failed();
  advance(600);
  assert.ok(breaker.admit());
  breaker.succeeded();
  assert.equal(breaker.state(), 'closed');
  assert.equal(breaker.failuresInARow(), 0);
  assert.ok(breaker.admit() && breaker.admit(), 'everyone goes again');
});

test('breaker: a failed probe re-opens it for a whole new cool-down', () => {
  const { breaker, advance } = clocked(5, 500);
  for (let i = 0; i < 5; i++) breaker.failed();
  advance(500);
  assert.ok(breaker.admit());
  breaker.failed(); // one failure suffices while half-open, whatever N is
  assert.equal(breaker.state(), 'open');
  assert.equal(breaker.admit(), false);
  assert.equal(breaker.retryInMs(), 500);
  advance(499);
  assert.equal(breaker.admit(), false);
  advance(1);
  assert.ok(breaker.admit());
});

test('breaker: a neutral outcome frees the probe slot and changes nothing else', () => {
  const { breaker, advance } = clocked(1, 100);
  breaker.failed();
  advance(100);
  assert.ok(breaker.admit());
  breaker.neutral();
  assert.equal(breaker.state(), 'half_open');
  assert.ok(breaker.admit(), 'the next caller gets the probe');
  assert.equal(breaker.admit(), false);
  // While closed, neutral leaves the count as it was.
  const closed = clocked(3).breaker;
  closed.failed();
  closed.neutral();
  assert.equal(closed.failuresInARow(), 1);
  assert.equal(closed.state(), 'closed');
});
