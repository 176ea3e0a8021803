// thumbor's geometry as its transformer.py and filters compute it, from the source size (after a manual crop):
// target sides (engines/pil.py rounds a proportional side half-to-even), auto_crop around the centre of mass of
// the focal points (else the alignment), fit_in_resize (adaptive, full), no_upscale, proportion and fill's canvas.
// Pure numbers; plan.ts turns them into a crop, a resize and padding.
import type { ThumborGeometry } from '../transform.ts';

export interface ThumborPlan {
  /** Cut from the (manually cropped) source, in its pixels. */
  readonly crop: { left: number; top: number; width: number; height: number } | undefined;
  /** Resize to exactly this; `smart`: libvips' attention cuts the box instead of `crop`. */
  readonly resize: { width: number; height: number; smart: boolean } | undefined;
  /** The image's size after crop and resize. */
  readonly width: number;
  readonly height: number;
  /** fill()'s canvas around it: top, right, bottom, left. */
  readonly pad: [number, number, number, number] | undefined;
}

/** Python's round(): halves go to the even neighbour. */
export function roundHalfEven(v: number): number {
  const f = Math.floor(v);
  const d = v - f;
  if (Math.abs(d - 0.5) > 1e-9) return Math.round(v);
  return f % 2 === 0 ? f : f + 1;
}

export function planThumbor(
  sw: number,
  sh: number,
  given: ThumborGeometry,
  manualCrop?: { left: number; top: number },
): ThumborPlan {
  // adjust_focal_points: points outside the manual crop are dropped, the others move with it.
  const g = manualCrop ? { ...given, points: inside(given.points, manualCrop, sw, sh) } : given;
  // no_upscale (an after-load filter) lowers each requested side to the source's.
  let reqW = g.width;
  let reqH = g.height;
  if (g.noUpscale) {
    if (reqW !== 'orig') reqW = Math.min(reqW, sw);
    if (reqH !== 'orig') reqH = Math.min(reqH, sh);
  }
  // _calculate_target_dimensions
  let tw: number;
  let th: number;
  if (!reqW && !reqH) {
    tw = sw;
    th = sh;
  } else {
    tw = reqW === 'orig' ? sw : reqW ? reqW : roundHalfEven(((reqH === 'orig' ? sh : reqH) * sw) / sh);
    th = reqH === 'orig' ? sh : reqH ? reqH : roundHalfEven(((reqW === 'orig' ? sw : reqW) * sh) / sw);
  }

  let crop: ThumborPlan['crop'];
  let w = sw;
  let h = sh;
  let canvasW = reqW === 'orig' ? sw : reqW;
  let canvasH = reqH === 'orig' ? sh : reqH;

  if (g.mode === 'fit-in' || g.mode === 'full-fit-in') {
    // fit_in_resize: adaptive turns the box to the source's orientation; full covers it instead of fitting.
    if (g.adaptive && ((sw < sh && tw > th) || (sw > sh && tw < th))) {
      [tw, th] = [th, tw];
      [canvasW, canvasH] = [canvasH, canvasW];
    }
    const full = g.mode === 'full-fit-in';
    if (full || !(tw >= sw && th >= sh)) {
      const sign = full ? -1 : 1;
      let rw: number;
      let rh: number;
      if ((sw / tw) * sign >= (sh / th) * sign) {
        rw = tw;
        rh = Math.round((sh * tw) / sw + 1e-5);
      } else {
        rh = th;
        rw = Math.round((sw * th) / sh + 1e-5);
      }
      canvasW = Math.max(canvasW, rw);
      canvasH = Math.max(canvasH, rh);
      [w, h] = [Math.max(1, rw), Math.max(1, rh)];
    }
    // upscale() (a later filter) enlarges what is smaller than the box on both sides, truncating.
    if (g.upscale && canvasW > 0 && canvasH > 0 && w < canvasW && h < canvasH) {
      if (w / canvasW >= h / canvasH) [w, h] = [canvasW, Math.max(1, Math.trunc((h * canvasW) / w))];
      else [w, h] = [Math.max(1, Math.trunc((w * canvasH) / h)), canvasH];
    }
  } else if (g.mode === 'stretch') {
    [w, h] = [Math.max(1, Math.trunc(tw)), Math.max(1, Math.trunc(th))];
  } else if (g.smart && g.points.length === 0) {
    [w, h] = [Math.max(1, Math.trunc(tw)), Math.max(1, Math.trunc(th))];
    if (w !== sw || h !== sh) return finish(undefined, { width: w, height: h, smart: true }, w, h, g, canvasW, canvasH);
    return finish(undefined, undefined, w, h, g, canvasW, canvasH);
  } else {
    crop = autoCrop(sw, sh, tw, th, g);
    [w, h] = [Math.max(1, Math.trunc(tw || 1)), Math.max(1, Math.trunc(th || 1))];
  }
  const cw = crop?.width ?? sw;
  const ch = crop?.height ?? sh;
  const resize = w === cw && h === ch ? undefined : { width: w, height: h, smart: false };
  return finish(crop, resize, w, h, g, canvasW, canvasH);
}

/** proportion (a post-transform resize, PIL truncating) and fill's canvas (the image centred, floor). */
function finish(
  crop: ThumborPlan['crop'],
  resize: ThumborPlan['resize'],
  width: number,
  height: number,
  g: ThumborGeometry,
  canvasW: number,
  canvasH: number,
): ThumborPlan {
  let w = width;
  let h = height;
  const p = g.proportion;
  if (p !== undefined && p > 0 && p <= 1 && w * p >= 1 && h * p >= 1) {
    w = Math.trunc(w * p);
    h = Math.trunc(h * p);
    resize = { width: w, height: h, smart: resize?.smart ?? false };
  }
  let pad: ThumborPlan['pad'];
  if (g.canvas !== undefined) {
    const cw = Math.max(canvasW || w, w);
    const ch = Math.max(canvasH || h, h);
    const left = Math.floor((cw - w) / 2);
    const top = Math.floor((ch - h) / 2);
    if (cw > w || ch > h) pad = [top, cw - w - left, ch - h - top, left];
  }
  return { crop, resize, width: w, height: h, pad };
}

/** transformer.py auto_crop: the target's aspect ratio, around the centre of mass, clamped inside the source. */
function autoCrop(sw: number, sh: number, tw: number, th: number, g: ThumborGeometry): ThumborPlan['crop'] {
  const twx = tw || 1;
  const thx = th || 1;
  if (roundTo2(sw / sh) === roundTo2(twx / thx)) return undefined;
  const [fx, fy] = centreOfMass(sw, sh, g);
  let cw: number;
  let ch: number;
  if (tw / sw > th / sh) {
    cw = sw;
    ch = roundHalfEven((sw * th) / twx);
  } else {
    cw = roundHalfEven(Math.ceil((tw * sh) / thx));
    ch = sh;
  }
  const left = roundHalfEven(Math.min(Math.max(fx - cw / 2, 0), sw - cw));
  const top = roundHalfEven(Math.min(Math.max(fy - ch / 2, 0), sh - ch));
  const width = Math.min(left + cw, sw) - left;
  const height = Math.min(top + ch, sh) - top;
  if (width < 1 || height < 1) return undefined;
  return { left, top, width, height };
}

const roundTo2 = (v: number) => roundHalfEven(v * 100) / 100;

function centreOfMass(sw: number, sh: number, g: ThumborGeometry): [number, number] {
  const points = g.points.length > 0 ? g.points : [[Math.trunc(sw * g.align[0]), Math.trunc(sh * g.align[1]), 1]];
  let tw = 0;
  let tx = 0;
  let ty = 0;
  for (const [x, y, weight] of points) {
    tw += weight!;
    tx += x! * weight!;
    ty += y! * weight!;
  }
  return [Math.floor(tx / tw), Math.floor(ty / tw)];
}

function inside(
  points: ThumborGeometry['points'],
  c: { left: number; top: number },
  w: number,
  h: number,
): ThumborGeometry['points'] {
  return points
    .filter(([x, y]) => x >= c.left && x <= c.left + w && y >= c.top && y <= c.top + h)
    .map(([x, y, weight]) => [x - c.left, y - c.top, weight]);
}
