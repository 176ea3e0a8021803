// The stat cache's refresh-ahead: a key asked for in the last fifth of its lifetime is looked up again in the background,
// so a hot key never expires (its hits never leave the fast path), and what that lookup finds is kept only
// while it is still the answer to keep.
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { KinuError } from '../../src/errors.ts';
import type { Source, SourceStat } from '../../src/source/source.ts';
import { withStatCache } from '../../src/source/stat-cache.ts';

const TTL = 1000;
/** Into the last fifth of an entry's lifetime, where a peek starts a refresh. */
const LATE = TTL * 0.8 + 50;

/** A source whose one object's version and availability the test changes; counts stat calls, can hold them. */
function source() {
  const state = {
    version: 'v1',
    fail: undefined as unknown,
    calls: 0,
    hold: undefined as Promise<void> | undefined,
  };
  const s: Source = {
    name: 'fake',
    async stat(key): Promise<SourceStat> {
      state.calls++;
      const version = state.version;
      const fail = state.fail;
      if (state.hold) await state.hold;
      if (fail) throw fail;
      if (key !== 'a.jpg') throw new KinuError('not_found', `no object with key ${key}`);
      return { version, size: 10, lastModified: new Date(1_700_000_000_000) };
    },
    get: () => Promise.reject(new Error('unused')),
    read: () => Promise.reject(new Error('unused')),
    ready: async () => true,
  };
  return { s, state };
}

/** Waits until the background lookups started so far have settled. */
const settle = () => sleep(5);

test('a key peeked late in its lifetime is refreshed once in the background and never expires while asked for', async () => {
  const { s, state } = source();
  const c = withStatCache(s, { ttlMs: TTL });
  const first = await c.stat('a.jpg', {});
  assert.equal(state.calls, 1);
  assert.equal(c.peek('a.jpg'), first, 'fresh: no lookup');
  await sleep(TTL / 2);
  assert.equal(c.peek('a.jpg'), first, 'half its life: no lookup yet');
  assert.equal(state.calls, 1);
  await sleep(LATE - TTL / 2);
  assert.equal(c.peek('a.jpg'), first, 'late in its life it is still served');
  c.peek('a.jpg');
  assert.equal(state.calls, 2, 'one background lookup, not one per peek');
  await settle();
  // Well past the first answer's lifetime, kept alive by peeks: never undefined, and the same object
  // (unchanged at the source), so what is keyed on it stays valid.
  for (let i = 0; i < 4; i++) {
    await sleep(LATE);
    assert.equal(c.peek('a.jpg'), first);
    await settle();
  }
  assert.ok(state.calls >= 5 && state.calls <= 7, `about one lookup per 0.8 lifetime, got ${state.calls}`);
});

test('a refresh that finds a new version replaces the stat', async () => {
  const { s, state } = source();
  const c = withStatCache(s, { ttlMs: TTL });
  await c.stat('a.jpg', {});
  state.version = 'v2';
  await sleep(LATE);
  assert.equal(c.peek('a.jpg')?.version, 'v1', 'the lookup runs in the background');
  await settle();
  assert.equal(c.peek('a.jpg')?.version, 'v2');
});

test('a key that disappears is forgotten by its refresh and answered 404 from memory', async () => {
  const { s, state } = source();
  const c = withStatCache(s, { ttlMs: TTL });
  await c.stat('a.jpg', {});
  state.fail = new KinuError('not_found', 'no object with key a.jpg');
  await sleep(LATE);
  c.peek('a.jpg');
  await settle();
  assert.equal(c.peek('a.jpg'), undefined);
  const calls = state.calls;
  await assert.rejects(c.stat('a.jpg', {}), (e: KinuError) => e.code === 'not_found');
  assert.equal(state.calls, calls, 'the 404 is remembered: no lookup');
});

test('a failed refresh leaves the entry to expire at its time, without retrying on every peek', async () => {
  const { s, state } = source();
  const c = withStatCache(s, { ttlMs: TTL });
  const first = await c.stat('a.jpg', {});
  state.fail = new KinuError('source_failed', 'storage is down');
  await sleep(LATE);
  assert.equal(c.peek('a.jpg'), first);
  await settle();
  assert.equal(c.peek('a.jpg'), first, 'still fresh');
  assert.equal(state.calls, 2, 'no second refresh');
  await sleep(TTL / 5);
  assert.equal(c.peek('a.jpg'), undefined, 'expired: the request takes the whole path');
});

test('a forget() while a refresh is in flight wins: the older answer is not put back', async () => {
  const { s, state } = source();
  const c = withStatCache(s, { ttlMs: TTL });
  await c.stat('a.jpg', {});
  let release!: () => void;
  state.hold = new Promise((r) => {
    release = r;
  });
  await sleep(LATE);
  c.peek('a.jpg'); // starts the refresh, which now waits (and read version v1)
  c.forget('a.jpg'); // an upload replaced the object
  state.hold = undefined;
  release();
  await settle();
  assert.equal(c.peek('a.jpg'), undefined, 'nothing remembered until the next real lookup');
  state.version = 'v2';
  assert.equal((await c.stat('a.jpg', {})).version, 'v2');
});
