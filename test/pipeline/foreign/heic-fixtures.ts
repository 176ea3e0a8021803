// HEIC files made from the corpus for tests: a header that lies about its size.
import assert from 'node:assert/strict';

/** The file with every `ispe` (image spatial extents) of w0×h0 rewritten to w×h: a header that lies. */
export function withIspe(b: Buffer, from: [number, number], to: [number, number]): Buffer {
  const out = Buffer.from(b);
  let n = 0;
  for (let at = out.indexOf('ispe'); at >= 0; at = out.indexOf('ispe', at + 4)) {
    if (out.readUInt32BE(at + 8) === from[0] && out.readUInt32BE(at + 12) === from[1]) {
      out.writeUInt32BE(to[0], at + 8);
      out.writeUInt32BE(to[1], at + 12);
      n++;
    }
  }
  assert.ok(n > 0, 'no ispe box of that size');
  return out;
}
