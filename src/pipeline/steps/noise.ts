// thumbor's noise(amount[,seed]) (thumbor/ext/filters/_noise.c): each pixel gets one offset,
// random() % amount − amount/2, added to R, G and B and clamped; alpha is left alone. thumbor calls srandom(seed)
// only for a seed > 0 and otherwise goes on with the process's random state; kinu always seeds (the dialect
// derives a seed from the URL when none is given), so one URL always gives the same bytes.

/** Add noise to `data` (`ch` channels a pixel) in place, as _noise.c does after srandom(seed). */
export function noise(data: Buffer, ch: number, amount: number, seed: number): void {
  if (amount <= 0) return;
  const rand = glibcRandom(seed);
  const half = amount >> 1;
  for (let i = 0; i + ch <= data.length; i += ch) {
    const d = (rand() % amount) - half;
    data[i] = clamp(data[i]! + d);
    data[i + 1] = clamp(data[i + 1]! + d);
    data[i + 2] = clamp(data[i + 2]! + d);
  }
}

const clamp = (c: number) => Math.min(255, Math.max(0, c));

/**
 * glibc's random() after srandom(seed): the default TYPE_3 additive feedback generator (31 words, separation 3,
 * state filled by 16807 × word mod 2³¹−1, 310 results discarded). Linux thumbor builds use it; the first values
 * for seed 1 are 1804289383, 846930886, 1681692777.
 */
export function glibcRandom(seed: number): () => number {
  const s = new Int32Array(31);
  let word = seed >>> 0 === 0 ? 1 : seed | 0;
  s[0] = word;
  for (let i = 1; i < 31; i++) {
    const hi = Math.trunc(word / 127773);
    const lo = word % 127773;
    word = 16807 * lo - 2836 * hi;
    if (word < 0) word += 2147483647;
    s[i] = word;
  }
  let f = 3;
  let r = 0;
  const next = () => {
    const v = (s[f]! + s[r]!) | 0;
    s[f] = v;
    if (++f >= 31) {
      f = 0;
      ++r;
    } else if (++r >= 31) r = 0;
    return v >>> 1;
  };
  for (let i = 0; i < 310; i++) next();
  return next;
}
