// imgproxy's geometry as its processing/ code computes it, from the source size: the crop before the resize
// (prepare.go CalcCropSize, crop.go), the per-side scales and the dpr it may use (calcScale), the target and
// result-crop sizes (calcSizes), then cropToResult, extend, extend_aspect_ratio and padding, each placed by
// calc_position.go. Pure numbers; plan.ts turns them into a crop, a resize, a window and padding.
import type { ImgproxyGeometry, ImgproxyGravity } from '../transform.ts';

type Rect = { left: number; top: number; width: number; height: number };

export interface ImgproxyPlan {
  /** Cut from the source before the resize, in its pixels. */
  readonly crop: Rect | undefined;
  /** Resize to exactly this (per-side scales). */
  readonly resize: { width: number; height: number } | undefined;
  /** The result crop after the resize, in resized pixels; `smart`: libvips attention picks it instead. */
  readonly window: (Rect & { smart: boolean }) | undefined;
  /** The image's size after resize and window, before padding. */
  readonly width: number;
  readonly height: number;
  /** extend, extend_aspect_ratio and padding together: top, right, bottom, left. */
  readonly pad: [number, number, number, number] | undefined;
}

// imgproxy's imath: Go's math.Round (half away from zero) and math.RoundToEven.
const round = (v: number) => Math.sign(v) * Math.round(Math.abs(v));
const roundToEven = (v: number) => {
  const r = round(v);
  return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - Math.sign(v) : r;
};
const scale = (a: number, s: number) => (a === 0 ? 0 : round(a * s));
const scaleToEven = (a: number, s: number) => (a === 0 ? 0 : roundToEven(a * s));
const shrinkToEven = (a: number, s: number) => (a === 0 ? 0 : roundToEven(a / s));
const minNonZero = (a: number, b: number) => (a === 0 ? b : b === 0 ? a : Math.min(a, b));

/** calc_position.go: where an inner box sits in an outer one (allowOverflow false). */
export function calcPosition(
  w: number,
  h: number,
  iw: number,
  ih: number,
  [type, x, y]: ImgproxyGravity,
  dpr: number,
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
  return [Math.max(0, Math.min(left, w - iw)), Math.max(0, Math.min(top, h - ih))];
}

/** prepare.go CalcCropSize: 0 = none, ≥ 1 pixels, below 1 a fraction of the side (at least 1 pixel). */
const cropSize = (side: number, c: number) => (c === 0 ? 0 : c >= 1 ? Math.trunc(c) : Math.max(1, scale(side, c)));

export function planImgproxy(sw: number, sh: number, g: ImgproxyGeometry): ImgproxyPlan {
  // crop (before the resize, offsets in source pixels)
  let crop: Rect | undefined;
  let w0 = sw;
  let h0 = sh;
  if (g.crop) {
    const [cw, ch] = [cropSize(sw, g.crop[0]), cropSize(sh, g.crop[1])];
    const [iw, ih] = [minNonZero(cw, sw), minNonZero(ch, sh)];
    if ((cw !== 0 || ch !== 0) && !(iw >= sw && ih >= sh)) {
      const [left, top] = calcPosition(sw, sh, iw, ih, g.crop[2], 1);
      crop = { left, top, width: iw, height: ih };
      [w0, h0] = [iw, ih];
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

  // cropToResult
  let [w, h] = [scaledW, scaledH];
  let window: ImgproxyPlan['window'];
  if (cropW !== 0 || cropH !== 0) {
    const [iw, ih] = [minNonZero(cropW, scaledW), minNonZero(cropH, scaledH)];
    if (!(iw >= scaledW && ih >= scaledH)) {
      const smart = g.gravity[0] === 'sm';
      const [left, top] = smart ? [0, 0] : calcPosition(scaledW, scaledH, iw, ih, g.gravity, dpr);
      window = { left, top, width: iw, height: ih, smart };
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
  return {
    crop,
    resize: resized || window ? { width: scaledW, height: scaledH } : undefined,
    window,
    width: window?.width ?? scaledW,
    height: window?.height ?? scaledH,
    pad: pad.some((v) => v > 0) ? pad : undefined,
  };
}
