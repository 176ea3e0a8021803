// The door of an in-memory memo: a value is worth keeping from its second sighting on. Most misses are asked
// once (the CDN keeps the answer), and keeping what each one computed held 0.5–2 KB of long-lived objects per
// miss until evicted, which every full GC marked. The door is a fixed table of 32-bit hashes (256 KB), so it costs
// no objects: a collision lets a value in at its first sighting, an overwritten slot at its third.
const SLOTS = 1 << 16;

function hash32(s: string): number {
  let h = 0x811c9dc5; // FNV-1a
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** Returns whether `s` was seen before (and remembers it if not). */
export function createDoor(): (s: string) => boolean {
  const slots = new Uint32Array(SLOTS);
  return (s) => {
    const h = hash32(s);
    const slot = h & (SLOTS - 1);
    if (slots[slot] === h) return true;
    slots[slot] = h;
    return false;
  };
}
