// thumbor's equalize() (thumbor/ext/filters/_equalize.c) with its C arithmetic, on one frame of raw pixels:
// a histogram per colour channel, each value mapped to (cdf − cdfMin) / (area − cdfMin) × 255 in single
// precision, truncated. Alpha counts in the area but is left alone. The C quirks are kept, as they change pixels.

/** Equalise `data` (`ch` channels a pixel, R, G, B first) in place. */
export function equalize(data: Buffer, ch: number): void {
  const area = Math.trunc(data.length / ch);
  const hist = [new Int32Array(256), new Int32Array(256), new Int32Array(256)] as const;
  for (let i = 0; i + ch <= data.length; i += ch) {
    hist[0][data[i]!]!++;
    hist[1][data[i + 1]!]!++;
    hist[2][data[i + 2]!]!++;
  }
  // The cumulative count, kept only for the values that occur (0 elsewhere).
  const cum = hist.map((h) => {
    const c = new Int32Array(256);
    let sum = 0;
    for (let v = 0; v < 256; v++) {
      sum += h[v]!;
      if (h[v]! > 0) c[v] = sum;
    }
    return c;
  });
  // _equalize.c stops looking as soon as ANY channel has found its minimum: the others keep 0 unless they
  // occur at that same lowest value.
  const min = [0, 0, 0];
  for (let v = 0; v < 256 && min[0] === 0 && min[1] === 0 && min[2] === 0; v++)
    for (let c = 0; c < 3; c++) if (min[c] === 0 && cum[c]![v] !== 0) min[c] = cum[c]![v]!;
  const tables = [0, 1, 2].map((c) => {
    const t = new Uint8Array(256);
    // (float)cdf − cdfMin, / (area − cdfMin), × 255.0f: each int operand converted to float, each result a float.
    const f = Math.fround;
    const span = f(area - min[c]!);
    for (let v = 0; v < 256; v++) t[v] = toUchar(f(f(f(f(cum[c]![v]!) - f(min[c]!)) / span) * 255));
    return t;
  });
  for (let i = 0; i + ch <= data.length; i += ch) {
    data[i] = tables[0]![data[i]!]!;
    data[i + 1] = tables[1]![data[i + 1]!]!;
    data[i + 2] = tables[2]![data[i + 2]!]!;
  }
}

/**
 * C's float → unsigned char. A value below the channel's minimum comes out negative (a value that does not occur
 * has cdf 0); x86 converts through int, keeping the low byte. A channel of one value divides 0 by 0: NaN, which
 * the x86 conversion turns into INT_MIN, whose low byte is 0.
 */
function toUchar(f: number): number {
  if (Number.isNaN(f) || !Number.isFinite(f)) return 0;
  return Math.trunc(f) & 0xff;
}
