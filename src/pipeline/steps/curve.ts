// thumbor's curve(a,r,g,b) (thumbor/ext/filters/_curve.c): each curve's points become a 256-entry table by
// _curve.c's natural cubic spline, in double precision as the C computes it (same operations, same order), rounded
// half away from zero and clamped. A channel goes through its own table, then through the `a` table.

/** The value table _curve.c's cubic_spline_interpolation builds from flat points [x0, y0, x1, y1, …] (bytes). */
export function curveTable(points: readonly number[]): Uint8Array {
  const n = points.length / 2;
  const sd = secondDerivative(points, n);
  const items = new Uint8Array(256).fill(points[1]!);
  for (let i = 0; i < n - 1; i++) {
    const cx = points[i * 2]!;
    const cy = points[i * 2 + 1]!;
    const nx = points[i * 2 + 2]!;
    const ny = points[i * 2 + 3]!;
    for (let x = cx; x < nx; x++) {
      const t = (x - cx) / (nx - cx);
      const a = 1 - t;
      const b = t;
      const h = nx - cx;
      const y = a * cy + b * ny + ((h * h) / 6) * ((a * a * a - a) * sd[i]! + (b * b * b - b) * sd[i + 1]!);
      items[x] = toByte(y);
    }
  }
  for (let x = points[n * 2 - 2]!; x < 256; x++) items[x] = points[n * 2 - 1]!;
  return items;
}

/** calculate_second_derivative: the tridiagonal system of a natural spline, solved as _curve.c solves it. */
function secondDerivative(p: readonly number[], n: number): Float64Array {
  const m = new Float64Array(n * 3);
  const result = new Float64Array(n);
  m[1] = 1;
  for (let i = 1; i < n - 1; i++) {
    const j = i * 2;
    const k = i * 3;
    m[k] = (p[j]! - p[j - 2]!) / 6;
    m[k + 1] = (p[j + 2]! - p[j - 2]!) / 3;
    m[k + 2] = (p[j + 2]! - p[j]!) / 6;
    result[i] = (p[j + 3]! - p[j + 1]!) / (p[j + 2]! - p[j]!) - (p[j + 1]! - p[j - 1]!) / (p[j]! - p[j - 2]!);
  }
  m[(n - 1) * 3 + 1] = 1;
  for (let i = 1; i < n; i++) {
    const j = i * 3;
    const k = m[j]! / m[j - 2]!;
    m[j + 1]! -= k * m[j - 1]!;
    m[j] = 0;
    result[i]! -= k * result[i - 1]!;
  }
  for (let i = n - 2; i >= 0; i--) {
    const j = i * 3;
    const k = m[j + 2]! / m[j + 4]!;
    m[j + 1]! -= k * m[j + 3]!;
    m[j + 2] = 0;
    result[i]! -= k * result[i + 1]!;
  }
  return result.map((r, i) => r / m[i * 3 + 1]!);
}

/**
 * (unsigned char)MINMAX(round(y), 0, 255): C's round goes half away from zero. Points with equal x divide by zero;
 * a NaN passes MINMAX and x86 converts it through int to INT_MIN, whose low byte is 0.
 */
function toByte(y: number): number {
  if (Number.isNaN(y)) return 0;
  const r = y < 0 ? -Math.round(-y) : Math.round(y);
  return Math.min(255, Math.max(0, r));
}
