// imgix's sizes that depend on the source (Transform.imgix): `rect` in fractions or anchors, sides given as
// fractions, the side fit=crop derives from the source's ratio (or `ar`) held within min/max-w/h, `fp-z`'s
// zoomed crop around the focal point, and fillmax's canvas. The native plan then resizes as usual.
import type { ImgixGeometry, Position } from '../transform.ts';

export interface ImgixBox {
  /** rect (and fp-z's crop) in source pixels. */
  crop: { left: number; top: number; width: number; height: number } | undefined;
  width: number | undefined;
  height: number | undefined;
}

const side = (v: number, rel: boolean, of: number) => (v === 0 ? undefined : Math.max(1, Math.round(rel ? v * of : v)));
const bound = (v: number, lo: number, hi: number) => Math.max(lo || 1, hi ? Math.min(v, hi) : v);

function rectCrop(r: ImgixGeometry['rect'], sw: number, sh: number): ImgixBox['crop'] {
  if (!r) return undefined;
  const len = (v: number, of: number) => Math.max(1, Math.min(of, Math.round(v < 1 ? v * of : v)));
  const w = len(r[2], sw);
  const h = len(r[3], sh);
  const at = (v: number, of: number, size: number) =>
    v < 0 ? Math.round(((-v - 1) / 2) * (of - size)) : Math.round(v < 1 ? v * of : v);
  const left = Math.min(at(r[0], sw, w), sw - 1);
  const top = Math.min(at(r[1], sh, h), sh - 1);
  return { left, top, width: Math.min(w, sw - left), height: Math.min(h, sh - top) };
}

/** The box and crop for a source of sw×sh (after auto-orient and trim). */
export function imgixBox(sw: number, sh: number, g: ImgixGeometry, position: Position, cover: boolean): ImgixBox {
  const rect = rectCrop(g.rect, sw, sh);
  const cw = rect?.width ?? sw;
  const ch = rect?.height ?? sh;
  let width = side(g.width, g.relative[0], cw);
  let height = side(g.height, g.relative[1], ch);
  const [minW, maxW, minH, maxH] = g.bounds;
  if (g.canvas && (width === undefined) !== (height === undefined)) {
    // fillmax with one side: the canvas's other side follows the source's ratio (imgix: 300×200, w=400 → 400×267).
    if (height === undefined) height = Math.round((width! * ch) / cw);
    else width = Math.round((height * cw) / ch);
  } else if (cover) {
    // fit=crop: a missing side follows `ar`, else the source's ratio, held within min/max; ar alone is the
    // largest region of that ratio (cover without enlarging then keeps the source's scale).
    const ratio = g.ar || cw / ch;
    if (width === undefined && height === undefined && g.ar) {
      [width, height] = cw / ch > g.ar ? [Math.round(ch * g.ar), ch] : [cw, Math.round(cw / g.ar)];
    } else if (width !== undefined && height === undefined) height = Math.round(width / ratio);
    else if (height !== undefined && width === undefined) width = Math.round(height * ratio);
    if (width !== undefined) width = bound(width, minW, maxW);
    if (height !== undefined) height = bound(height, minH, maxH);
  }
  let crop = rect;
  if (cover && g.zoom > 1 && position.kind === 'focal' && width !== undefined && height !== undefined) {
    // fp-z: the region cover would keep, shrunk by the zoom around the focal point, clamped inside the image.
    const k = Math.min(cw / width, ch / height) / g.zoom;
    const zw = Math.max(1, Math.round(width * k));
    const zh = Math.max(1, Math.round(height * k));
    const left = Math.min(Math.max(0, Math.round(position.x * cw - zw / 2)), cw - zw);
    const top = Math.min(Math.max(0, Math.round(position.y * ch - zh / 2)), ch - zh);
    crop = { left: left + (rect?.left ?? 0), top: top + (rect?.top ?? 0), width: zw, height: zh };
  }
  return { crop, width, height };
}

/** fillmax: the padding that centres a w×h image on its canvas (the box, or each side capped at the source's). */
export function canvasPad(
  g: ImgixGeometry,
  box: { width: number | undefined; height: number | undefined },
  image: { width: number; height: number },
  source: { width: number; height: number },
): [number, number, number, number] | undefined {
  if (!g.canvas) return undefined;
  const cap = (b: number | undefined, img: number, src: number) =>
    Math.max(img, b === undefined ? img : g.canvas === 'source' ? Math.min(b, src) : b);
  const dx = cap(box.width, image.width, source.width) - image.width;
  const dy = cap(box.height, image.height, source.height) - image.height;
  if (dx === 0 && dy === 0) return undefined;
  return [Math.floor(dy / 2), dx - Math.floor(dx / 2), dy - Math.floor(dy / 2), Math.floor(dx / 2)];
}
