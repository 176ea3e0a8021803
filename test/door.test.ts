// door.ts: a string is "seen before" from its second sighting on, in a fixed table of 32-bit hashes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createDoor } from '../src/door.ts';

test('a string is let in at its second sighting, and stays in while its slot is not taken', () => {
  const seenBefore = createDoor();
  assert.equal(seenBefore('/a.jpg?w=400'), false);
  assert.equal(seenBefore('/a.jpg?w=400'), true);
  assert.equal(seenBefore('/a.jpg?w=400'), true);
  assert.equal(seenBefore('/a.jpg?w=401'), false, 'a different string is new');
  const other = createDoor();
  assert.equal(other('/a.jpg?w=400'), false, 'each door has its own table');
});

test('10,000 distinct strings are almost all new: the table answers "seen" only on a 32-bit hash collision', () => {
  const seenBefore = createDoor();
  let seen = 0;
  for (let i = 0; i < 10_000; i++) if (seenBefore(`photos/${i}.jpg\0v1\0w=${i % 997}`)) seen++;
  assert.ok(seen <= 1, `${seen} false sightings`);
  // Most are then seen; not those whose slot a later string took (64 Ki slots for 10,000: ~15 %, as the second
  // pass's own unseen ones take slots again).
  let again = 0;
  for (let i = 0; i < 10_000; i++) if (seenBefore(`photos/${i}.jpg\0v1\0w=${i % 997}`)) again++;
  assert.ok(again > 8_000 && again < 10_000, `${again} of 10,000 seen again`);
});
