// imgproxy's geometry as its processing/ code computes it, from the source size: the crop before the resize
// (prepare.go CalcCropSize, crop.go), the per-side scales and the dpr it may use (calcScale), the target and
// result-crop sizes (calcSizes), then cropToResult, extend, extend_aspect_ratio and padding, each placed by
// calc_position.go. Pure numbers; plan.ts turns them into a crop, a resize, a window and padding.
// With rot/fl imgproxy plans in the turned orientation (crop.go turns the crop's gravity back instead), while
// kinu crops and resizes before it turns: every box but the padding is given back in the source's orientation.
import type { ImgproxyGeometry, ImgproxyGravity } from '../transform.ts';

type Rect = { left: number; top: number; width: number; height: number };

/** rot (clockwise), then fl, as imgproxy's rotate_and_flip.go and kinu's rotate-flip step apply them. */
export interface Turn {
  readonly rotate: 0 | 90 | 180 | 270;
  readonly flipH: boolean;
  readonly flipV: boolean;
}

export interface ImgproxyPlan {
  /** Cut from the source before the resize, in its pixels; `smart`: libvips attention places a box of this size. */
  readonly crop: (Rect & { smart: boolean }) | undefined;
  /** Resize to exactly this (per-side scales). */
  readonly resize: { width: number; height: number } | undefined;
  /** The result crop after the resize, in resized pixels; `smart`: libvips attention picks it instead. */
  readonly window: (Rect & { smart: boolean }) | undefined;
  /** The image's size after resize and window, before padding. */
  readonly width: number;
  readonly height: number;
  /** extend, extend_aspect_ratio and padding together, in the output's orientation: top, right, bottom, left. */
  readonly pad: [number, number, number, number] | undefined;
  /** The dpr imgproxy ends up using (its DprScale), which also scales watermark offsets. */
  readonly dpr: number;
}

// imgproxy's imath: Go's math.Round (half away from zero) and math.RoundToEven.
const round = (v: number) => Math.sign(v) * Math.round(Math.abs(v));
export const roundToEven = (v: number) => {
  const r = round(v);
  return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - Math.sign(v) : r;
};
export const scale = (a: number, s: number) => (a === 0 ? 0 : round(a * s));
export const scaleToEven = (a: number, s: number) => (a === 0 ? 0 : roundToEven(a * s));
const shrinkToEven = (a: number, s: number) => (a === 0 ? 0 : roundToEven(a / s));
const minNonZero = (a: number, b: number) => (a === 0 ? b : b === 0 ? a : Math.min(a, b));

/** calc_position.go: where an inner box sits in an outer one; with allowOverflow (a watermark) it may stick out. */
export function calcPosition(
  w: number,
  h: number,
  iw: number,
  ih: number,
  [type, x, y]: ImgproxyGravity,
  dpr: number,
  allowOverflow = false,
): [number, number] {
  let left: number;
  let top: number;
  if (type === 'fp') {
    left = scaleToEven(w, x) - Math.trunc(iw / 2);
    top = scaleToEven(h, y) - Math.trunc(ih / 2);
  } else {
    const offX = Math.abs(x) >= 1 ? roundToEven(x * dpr) : scaleToEven(w, x);
    const offY = Math.abs(y) >= 1 ? roundToEven(y * dpr) : scaleToEven(h, y);
    left = shrinkToEven(w - iw + 1, 2) + offX;
    top = shrinkToEven(h - ih + 1, 2) + offY;
    if (type === 'no' || type === 'noea' || type === 'nowe') top = offY;
    if (type === 'ea' || type === 'noea' || type === 'soea') left = w - iw - offX;
    if (type === 'so' || type === 'soea' || type === 'sowe') top = h - ih - offY;
    if (type === 'we' || type === 'nowe' || type === 'sowe') left = offX;
  }
  if (allowOverflow) return [Math.max(1 - iw, Math.min(left, w - 1)), Math.max(1 - ih, Math.min(top, h - 1))];
  return [Math.max(0, Math.min(left, w - iw)), Math.max(0, Math.min(top, h - ih))];
}

/** gravity.go RotateAndFlip: the gravity that places in the unturned image what `g` places in the turned one. */
export function unturnGravity([type, x0, y0]: ImgproxyGravity, t: Turn): ImgproxyGravity {
  const FLIP_X: Record<string, string> = { ea: 'we', we: 'ea', nowe: 'noea', noea: 'nowe', sowe: 'soea', soea: 'sowe' };
  const FLIP_Y: Record<string, string> = { no: 'so', so: 'no', nowe: 'sowe', noea: 'soea', sowe: 'nowe', soea: 'noea' };
  const ROT: Record<number, Record<string, string>> = {
    90: { no: 'we', ea: 'no', so: 'ea', we: 'so', nowe: 'sowe', noea: 'nowe', sowe: 'soea', soea: 'noea' },
    180: { no: 'so', ea: 'we', so: 'no', we: 'ea', nowe: 'soea', noea: 'sowe', sowe: 'noea', soea: 'nowe' },
    270: { no: 'ea', ea: 'so', so: 'we', we: 'no', nowe: 'noea', noea: 'soea', sowe: 'nowe', soea: 'sowe' },
  };
  let [g, x, y] = [type, x0, y0];
  if (t.flipH) {
    g = FLIP_X[g] ?? g;
    if (g === 'ce' || g === 'no' || g === 'so') x = -x;
    else if (g === 'fp') x = 1 - x;
  }
  if (t.flipV) {
    g = FLIP_Y[g] ?? g;
    if (g === 'ce' || g === 'ea' || g === 'we') y = -y;
    else if (g === 'fp') y = 1 - y;
  }
  if (t.rotate !== 0) {
    g = ROT[t.rotate]![g] ?? g;
    if (t.rotate === 90) {
      if (g === 'ce' || g === 'ea' || g === 'we') [x, y] = [y, -x];
      else if (g === 'fp') [x, y] = [y, 1 - x];
      else [x, y] = [y, x];
    } else if (t.rotate === 180) {
      if (g === 'ce') [x, y] = [-x, -y];
      else if (g === 'no' || g === 'so') x = -x;
      else if (g === 'ea' || g === 'we') y = -y;
      else if (g === 'fp') [x, y] = [1 - x, 1 - y];
    } else if (g === 'ce' || g === 'no' || g === 'so') [x, y] = [-y, x];
    else if (g === 'fp') [x, y] = [1 - y, x];
    else [x, y] = [y, x];
  }
  return [g, x, y];
}

/** A box in the turned image (w×h) → the same pixels in the unturned one: undo the mirror, then the turn. */
export function unturnRect(r: Rect, w: number, h: number, t: Turn): Rect {
  let { left, top } = r;
  const { width, height } = r;
  if (t.flipH) left = w - left - width;
  if (t.flipV) top = h - top - height;
  switch (t.rotate) {
    case 90:
      return { left: top, top: w - left - width, width: height, height: width };
    case 180:
      return { left: w - left - width, top: h - top - height, width, height };
    case 270:
      return { left: h - top - height, top: left, width: height, height: width };
    default:
      return { left, top, width, height };
  }
}

/** prepare.go CalcCropSize: 0 = none, ≥ 1 pixels, below 1 a fraction of the side (at least 1 pixel). */
const cropSize = (side: number, c: number) => (c === 0 ? 0 : c >= 1 ? Math.trunc(c) : Math.max(1, scale(side, c)));

const NO_TURN: Turn = { rotate: 0, flipH: false, flipV: false };

/** sw×sh: the source in its own orientation; everything is planned as imgproxy does, in the turned one. */
export function planImgproxy(sw: number, sh: number, g: ImgproxyGeometry, turn: Turn = NO_TURN): ImgproxyPlan {
  const quarter = turn.rotate === 90 || turn.rotate === 270;
  // crop (before the resize, offsets in source pixels): sized in the turned image, placed in the unturned one
  // with the gravity turned back (crop.go), as imgproxy crops before it turns
  let crop: ImgproxyPlan['crop'];
  let [w0, h0] = quarter ? [sh, sw] : [sw, sh];
  if (g.crop) {
    const [cw, ch] = [cropSize(w0, g.crop[0]), cropSize(h0, g.crop[1])];
    const [uw, uh] = quarter ? [ch, cw] : [cw, ch];
    const [iw, ih] = [minNonZero(uw, sw), minNonZero(uh, sh)];
    if ((cw !== 0 || ch !== 0) && !(iw >= sw && ih >= sh)) {
      const gravity = unturnGravity(g.crop[2], turn);
      const smart = gravity[0] === 'sm';
      // Centred where libvips cannot look (an animation keeps kinu's centre, as for g:sm)
      const [left, top] = calcPosition(sw, sh, iw, ih, smart ? ['ce', 0, 0] : gravity, 1);
      crop = { left, top, width: iw, height: ih, smart };
      [w0, h0] = quarter ? [ih, iw] : [iw, ih];
    }
  }

  // calcScale
  let wshrink = 1;
  let hshrink = 1;
  const dstW = g.width || w0;
  const dstH = g.height || h0;
  if (dstW !== w0) wshrink = w0 / dstW;
  if (dstH !== h0) hshrink = h0 / dstH;
  if (wshrink !== 1 || hshrink !== 1) {
    let rt = g.rt;
    if (rt === 'auto') rt = w0 - h0 >= 0 === dstW - dstH >= 0 ? 'fill' : 'fit';
    if (g.width === 0 && rt !== 'force') wshrink = hshrink;
    else if (g.height === 0 && rt !== 'force') hshrink = wshrink;
    else if (rt === 'fit') wshrink = hshrink = Math.max(wshrink, hshrink);
    else if (rt === 'fill' || rt === 'fill-down') wshrink = hshrink = Math.min(wshrink, hshrink);
  }
  wshrink /= g.zoom[0];
  hshrink /= g.zoom[1];
  let dpr = g.dpr;
  if (!g.enlarge) {
    const least = Math.min(wshrink, hshrink);
    if (least < 1) {
      wshrink /= least;
      hshrink /= least;
      // Short of the target already: a dpr below 1 is raised so the image is not made smaller still.
      if (!g.extend) dpr /= least;
    }
    dpr = Math.min(dpr, Math.min(wshrink, hshrink));
  }
  if (g.minWidth > 0 && w0 / g.minWidth < wshrink) {
    hshrink /= wshrink / (w0 / g.minWidth);
    wshrink = w0 / g.minWidth;
  }
  if (g.minHeight > 0 && h0 / g.minHeight < hshrink) {
    wshrink /= hshrink / (h0 / g.minHeight);
    hshrink = h0 / g.minHeight;
  }
  wshrink = Math.min(wshrink / dpr, w0);
  hshrink = Math.min(hshrink / dpr, h0);

  // calcSizes
  const targetW = scale(g.width, dpr * g.zoom[0]);
  const targetH = scale(g.height, dpr * g.zoom[1]);
  const scaledW = scale(w0, 1 / wshrink);
  const scaledH = scale(h0, 1 / hshrink);
  let cropW = targetW;
  let cropH = targetH;
  if (g.rt === 'fill-down' && !g.enlarge) {
    const diffW = targetW / scaledW;
    const diffH = targetH / scaledH;
    if (diffW > diffH && diffW > 1) [cropW, cropH] = [scaledW, scale(scaledW, targetH / targetW)];
    else if (diffH > diffW && diffH > 1) [cropW, cropH] = [scale(scaledH, targetW / targetH), scaledH];
  }

  // cropToResult, after the turn: placed in the turned image, given back in the unturned one
  let [w, h] = [scaledW, scaledH];
  let window: ImgproxyPlan['window'];
  if (cropW !== 0 || cropH !== 0) {
    const [iw, ih] = [minNonZero(cropW, scaledW), minNonZero(cropH, scaledH)];
    if (!(iw >= scaledW && ih >= scaledH)) {
      const smart = g.gravity[0] === 'sm';
      const [left, top] = smart ? [0, 0] : calcPosition(scaledW, scaledH, iw, ih, g.gravity, dpr);
      const r = unturnRect({ left, top, width: iw, height: ih }, scaledW, scaledH, turn);
      window = { ...r, smart };
      [w, h] = [iw, ih];
    }
  }

  // extend, extend_aspect_ratio, padding: each embeds the image so far in a larger canvas
  const pad: [number, number, number, number] = [0, 0, 0, 0];
  const embed = (bw: number, bh: number, gravity: ImgproxyGravity) => {
    if (bw <= w && bh <= h) return;
    const [ow, oh] = [Math.max(bw > 0 ? bw : w, w), Math.max(bh > 0 ? bh : h, h)];
    const [left, top] = calcPosition(ow, oh, w, h, gravity, dpr);
    pad[0] += top;
    pad[1] += ow - w - left;
    pad[2] += oh - h - top;
    pad[3] += left;
    [w, h] = [ow, oh];
  };
  if (g.extend) embed(targetW, targetH, g.extend);
  if (g.extendAr && targetW > 0 && targetH > 0) {
    const outW = minNonZero(scaledW, cropW);
    const outH = minNonZero(scaledH, cropH);
    const diffW = targetW / outW;
    const diffH = targetH / outH;
    if (diffH > diffW) embed(outW, scale(outW, targetH / targetW), g.extendAr);
    else if (diffW > diffH) embed(scale(outH, targetW / targetH), outH, g.extendAr);
  }
  if (g.padding) {
    const [t, r, b, l] = g.padding.map((v) => scaleToEven(v, dpr));
    pad[0] += t!;
    pad[1] += r!;
    pad[2] += b!;
    pad[3] += l!;
  }
  const resized = scaledW !== w0 || scaledH !== h0;
  const [rw, rh] = quarter ? [scaledH, scaledW] : [scaledW, scaledH];
  return {
    crop,
    resize: resized || window ? { width: rw, height: rh } : undefined,
    window,
    width: window?.width ?? rw,
    height: window?.height ?? rh,
    pad: pad.some((v) => v > 0) ? pad : undefined,
    dpr,
  };
}
