// imgix's parameters → kinu's Transform: the box, fit and anchors through the native params (toTransform), and
// what depends on the source in Transform.imgix. imgix's meanings and defaults (docs.imgix.com/apis/rendering,
// imgix-url-params' parameters.json); what kinu cannot render is refused by name. README "Migrating from imgix".
import { KinuError, quoted } from '../../errors.ts';
import type { Fit, Gravity, ImgixGeometry, Position, Rgba, Transform, WatermarkAt } from '../../transform.ts';
import { parseColour } from '../colours.ts';
import { toTransform } from '../native.ts';
import type { ParamValues } from '../params.ts';
import type { ImgixQuery } from './query.ts';

export const invalid = (name: string, detail: string) => new KinuError('invalid_param', `${name}: ${detail}`);
const bad = (name: string, raw: string, expected: string) => invalid(name, `expected ${expected}, got ${quoted(raw)}`);
const refused = (name: string, why: string) => invalid(name, `not supported by kinu's imgix dialect: ${why}`);

// Accepted with no effect: they change nothing kinu renders (kinu writes sRGB without metadata) or are hints.
const NO_EFFECT = new Set([
  'ixlib',
  'ch',
  'cs',
  'iptc',
  'dpi',
  'chromasub',
  'jpg-progressive',
  'fill-max',
  'fp-debug',
  // facearea's refinements: kinu approximates facearea with libvips' attention, which has no faces to pick.
  'facepad',
  'faceindex',
]);
// Read below; every other parameter imgix documents is refused by name.
const HANDLED = new Set(
  (
    'w h dpr fit crop ar max-w max-h min-w min-h fp-x fp-y fp-z rect q auto fm lossless blur sharp sat bg fill ' +
    'fill-color pad pad-top pad-right pad-bottom pad-left trim trim-color trim-tol trim-md mark mark-base ' +
    'mark-align mark-alpha mark-pad mark-scale mark-w mark-h mark-x mark-y mark-fit mark-tile rot orient flip px dl'
  ).split(' '),
);

const num = (name: string, raw: string, min: number, max: number, int = false): number => {
  const v = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(v) || v < min || v > max || (int && !Number.isInteger(v)))
    throw bad(name, raw, `${int ? 'an integer' : 'a number'} ${min}–${max}`);
  return v;
};

/** w/h/mark-w/mark-h: an integer 2–8192 (pixels) or 0–1 (a fraction of the source's side). */
function sideOf(name: string, raw: string): { v: number; rel: boolean } {
  const v = num(name, raw, 0, 8192);
  if (v <= 1 && v > 0) return { v, rel: true };
  if (!Number.isInteger(v) || v < 2) throw bad(name, raw, 'an integer 2–8192 or a fraction 0–1');
  return { v, rel: false };
}

/** imgix colours: CSS keywords, or hex of 3 (RGB), 4 (ARGB), 6 (RRGGBB) or 8 (AARRGGBB) digits. */
export function imgixColour(name: string, raw: string): Rgba {
  const s = raw.replace(/^#/, '').toLowerCase();
  if (/^[0-9a-f]{4}$/.test(s) || /^[0-9a-f]{8}$/.test(s)) {
    const hex = s.length === 4 ? [...s].map((c) => c + c).join('') : s;
    const byte = (i: number) => parseInt(hex.slice(i, i + 2), 16);
    return { r: byte(2), g: byte(4), b: byte(6), alpha: Math.round((byte(0) / 255) * 1000) / 1000 };
  }
  const c = /^[0-9a-f]{3}$|^[0-9a-f]{6}$|^[a-z]+$/.test(s) ? parseColour(s) : undefined;
  if (!c || s === 'transparent') throw bad(name, raw, 'a colour keyword or 3, 4, 6 or 8 hex digits (ARGB)');
  return c;
}

const FORMATS: Readonly<Record<string, ParamValues['fmt']>> = {
  jpg: 'jpeg',
  pjpg: 'jpeg',
  png: 'png',
  png8: 'png',
  png32: 'png',
  gif: 'gif',
  webp: 'webp',
  avif: 'avif',
  jxl: 'jxl',
  json: 'json',
};

// imgix fit → native fit and whether it may enlarge (imgix enlarges but for max, min and fillmax).
const FITS: Readonly<Record<string, [Fit, boolean]>> = {
  clip: ['inside', true],
  max: ['inside', false],
  crop: ['cover', true],
  min: ['cover', false],
  scale: ['fill', true],
  fill: ['contain', true],
  clamp: ['contain', true], // and Transform.clampEdges
  fillmax: ['inside', false],
  facearea: ['cover', true],
};

function cropPosition(q: ImgixQuery): Position {
  const modes = (q.get('crop') ?? '')
    .split(',')
    .map((m) => m.trim())
    .filter(Boolean);
  for (const m of modes)
    if (!['top', 'bottom', 'left', 'right', 'faces', 'focalpoint', 'edges', 'entropy'].includes(m))
      throw bad('crop', q.get('crop')!, 'a list of top, bottom, left, right, faces, focalpoint, edges, entropy');
  const unit = (n: string) => (q.has(n) ? num(n, q.get(n)!, 0, 1) : 0.5);
  if (modes.includes('focalpoint')) return { kind: 'focal', x: unit('fp-x'), y: unit('fp-y') };
  if (modes.includes('entropy')) return { kind: 'entropy' };
  // No face or edge detection in kinu: libvips' attention (skin tones, saturation, edges) is the nearest.
  if (modes.includes('faces') || modes.includes('edges')) return { kind: 'attention' };
  const v = modes.includes('top') ? 'top' : modes.includes('bottom') ? 'bottom' : '';
  const h = modes.includes('left') ? 'left' : modes.includes('right') ? 'right' : '';
  return { kind: 'gravity', gravity: ((v && h ? `${v}-${h}` : v || h) || 'center') as Gravity };
}

// orient (Exif 1–8, or 90/180/270 = 6/3/8) as kinu's rotate-then-mirror.
const ORIENT: Readonly<Record<string, [0 | 90 | 180 | 270, boolean, boolean]>> = {
  '0': [0, false, false],
  '1': [0, false, false],
  '2': [0, true, false],
  '3': [180, false, false],
  '4': [0, false, true],
  '5': [90, true, false],
  '6': [90, false, false],
  '7': [270, true, false],
  '8': [270, false, false],
  '90': [90, false, false],
  '180': [180, false, false],
  '270': [270, false, false],
};

export interface ApplyOptions {
  /** imgix's `mark` (a path under this source, or a URL) → a key in kinu's source. */
  readonly markKey: (value: string) => string;
}

export function toKinu(q: ImgixQuery, o: ApplyOptions): Transform {
  for (const name of q.keys())
    if (!HANDLED.has(name) && !NO_EFFECT.has(name) && !(name === 'upscale' && /^(0|false)$/.test(q.get(name)!)))
      throw refused(name, 'kinu has no such operation');
  const get = (n: string) => q.get(n);

  const dpr = q.has('dpr') ? num('dpr', get('dpr')!, 0, 5) || 1 : 1;
  const fitName = get('fit') ?? 'clip';
  const fitRow = FITS[fitName];
  if (!fitRow) throw bad('fit', fitName, Object.keys(FITS).join(', '));
  const [fit, enlarge] = fitRow;
  const crop = fitName === 'crop';
  const position: Position = crop
    ? cropPosition(q)
    : fitName === 'facearea'
      ? { kind: 'attention' }
      : { kind: 'gravity', gravity: 'center' };

  // Padding sits inside the requested box (docs.imgix.com/apis/rendering/border-and-padding/pad), in device pixels.
  const all = q.has('pad') ? num('pad', get('pad')!, 0, 4096, true) : 0;
  const padSide = (n: string) => Math.round((q.has(n) ? num(n, get(n)!, 0, 4096, true) : all) * dpr);
  const pad = [padSide('pad-top'), padSide('pad-right'), padSide('pad-bottom'), padSide('pad-left')] as [
    number,
    number,
    number,
    number,
  ];

  const w = q.has('w') ? sideOf('w', get('w')!) : undefined;
  const h = q.has('h') ? sideOf('h', get('h')!) : undefined;
  const px = (s: { v: number; rel: boolean } | undefined, inset: number) =>
    s && !s.rel ? Math.max(1, Math.min(8192, Math.round(s.v * dpr)) - inset) : undefined;
  const pw = px(w, pad[1] + pad[3]);
  const ph = px(h, pad[0] + pad[2]);

  let ar = 0;
  if (q.has('ar') && crop) {
    const m = /^(\d+(?:\.\d+)?):(\d+(?:\.\d+)?)$/.exec(get('ar')!);
    if (!m || Number(m[1]) <= 0 || Number(m[2]) <= 0) throw bad('ar', get('ar')!, 'W:H, e.g. 16:9');
    ar = Number(m[1]) / Number(m[2]);
  }
  const bounds = (['min-w', 'max-w', 'min-h', 'max-h'] as const).map((n) =>
    q.has(n) && crop ? Math.round(num(n, get(n)!, 1, 8192, true) * dpr) : 0,
  ) as [number, number, number, number];
  const zoom = crop && position.kind === 'focal' && q.has('fp-z') ? num('fp-z', get('fp-z')!, 1, 100) : 1;
  const rect = q.has('rect') ? rectOf(get('rect')!) : undefined;
  const relative = w?.rel || h?.rel;
  const canvas = fitName === 'fillmax' ? (get('fill-max')?.toLowerCase() === 'source' ? 'source' : 'box') : undefined;
  const needsGeometry =
    relative ||
    canvas !== undefined ||
    zoom > 1 ||
    bounds.some((b) => b > 0) ||
    (ar > 0 && (pw === undefined || ph === undefined)) ||
    rect?.some((v, i) => v < 0 || (v > 0 && v < 1) || (i >= 2 && v === 1));

  // Colours: fill-color pads fill/fillmax; bg pads and, opaque, fills transparent areas (imgix flattens onto it).
  const fillMode = get('fill') ?? 'solid';
  if ((fitName === 'fill' || fitName === 'fillmax') && fillMode !== 'solid')
    throw refused('fill', `${fillMode} fill (kinu pads with a solid colour only)`);
  const bg = q.has('bg') ? imgixColour('bg', get('bg')!) : undefined;
  const fillColour =
    q.has('fill-color') && (fitName === 'fill' || fitName === 'fillmax')
      ? imgixColour('fill-color', get('fill-color')!)
      : undefined;

  const p: ParamValues = {
    w: needsGeometry ? undefined : pw,
    h: needsGeometry ? undefined : ph,
    fit: pw !== undefined && ph !== undefined ? fit : undefined,
    pos: position,
    enlarge,
    crop: !needsGeometry && rect ? (rect as [number, number, number, number]) : undefined,
    bg: fillColour ?? bg,
    pad: pad.some((v) => v > 0) ? pad : undefined,
  };
  let t = toTransform(p);
  if (needsGeometry) {
    const g: ImgixGeometry = {
      width: w ? (w.rel ? w.v * dpr : (pw ?? 0)) : 0,
      height: h ? (h.rel ? h.v * dpr : (ph ?? 0)) : 0,
      relative: [w?.rel ?? false, h?.rel ?? false],
      bounds,
      ar,
      rect,
      zoom,
      canvas,
    };
    // The native box fields stay empty; fit/position/enlarge are what the plan applies to imgix's box.
    t = { ...t, fit, position, enlarge, imgix: g };
  }
  if (fitName === 'clamp') t = { ...t, clampEdges: true };
  return { ...t, ...encoding(q), ...effects(q, bg), ...orientation(q), ...watermark(q, o, dpr) };
}

function rectOf(raw: string): [number, number, number, number] {
  const parts = raw.split(',');
  const anchors = [
    { left: -1, center: -2, right: -3 },
    { top: -1, middle: -2, bottom: -3 },
  ] as const;
  if (parts.length !== 4) throw bad('rect', raw, 'x,y,w,h');
  return parts.map((s, i) => {
    const a = i < 2 ? (anchors[i] as Record<string, number>)[s] : undefined;
    if (a !== undefined) return a;
    const v = Number(s);
    if (s === '' || !Number.isFinite(v) || v < 0 || (i >= 2 && v === 0) || (v > 1 && !Number.isInteger(v)))
      throw bad('rect', raw, 'x,y,w,h in pixels or fractions 0–1 (x, y also left|center|right, top|middle|bottom)');
    return v;
  }) as [number, number, number, number];
}

function encoding(q: ImgixQuery): Partial<Transform> {
  const auto = new Set(
    (q.get('auto') ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  );
  for (const a of auto) {
    if (a === 'enhance' || a === 'redeye') throw refused('auto', `${a} (kinu has no automatic enhancement)`);
    if (a !== 'format' && a !== 'compress' && a !== 'true')
      throw bad('auto', q.get('auto')!, 'format, compress, enhance, redeye');
  }
  const out: Partial<Transform> = {};
  const fm = q.get('fm');
  if (fm !== undefined) {
    if (!(fm in FORMATS)) {
      throw ['mp4', 'webm', 'blurhash', 'jp2', 'jxr'].includes(fm)
        ? refused('fm', `${fm} is not an image format kinu writes`)
        : bad('fm', fm, Object.keys(FORMATS).join(', '));
    }
    out.format = FORMATS[fm];
    if (fm === 'pjpg') out.progressive = true;
  } else if (auto.has('format')) {
    // imgix: AVIF, else WebP; else the original's type, or with compress JPEG (PNG with alpha).
    out.format = 'auto';
    out.autoFormats = ['avif', 'webp'];
    out.autoFallback = auto.has('compress') ? undefined : 'source';
  }
  if (q.get('lossless') === '1' || q.get('lossless') === 'true')
    throw refused('lossless', 'kinu writes lossless only as PNG (fm=png)');
  // imgix's default quality is 75 for every lossy format; auto=compress lowers it to 45.
  out.quality = q.has('q') ? Math.max(1, num('q', q.get('q')!, 0, 100, true)) : auto.has('compress') ? 45 : 75;
  return out;
}

function effects(q: ImgixQuery, bg: Rgba | undefined): Partial<Transform> {
  const out: Partial<Transform> = {};
  // imgix's blur 0–2000 is a Gaussian sigma × 10 (docs.imgix.com fill-blur: "maps to a Gaussian sigma of ÷ 10").
  const blur = q.has('blur') ? num('blur', q.get('blur')!, 0, 2000, true) : 0;
  if (blur > 0) out.blur = Math.max(0.3, blur / 10);
  const sharp = q.has('sharp') ? num('sharp', q.get('sharp')!, 0, 100) : 0;
  if (sharp > 0) out.sharpen = Math.max(0.5, sharp / 10);
  const sat = q.has('sat') ? num('sat', q.get('sat')!, -100, 100, true) : 0;
  if (sat === -100) out.gray = true;
  else if (sat !== 0) out.adjust = [{ op: 'saturation', value: 1 + sat / 100 }];
  if (q.has('monochrome')) throw refused('monochrome', 'kinu has no tint (sat=-100 gives greyscale)');
  const px = q.has('px') ? num('px', q.get('px')!, 0, 100, true) : 0;
  if (px >= 2) out.pixelate = px;
  if (bg && bg.alpha === 1) out.flattenAlways = true;
  const trim = q.get('trim');
  if (trim === 'auto') out.trim = q.has('trim-md') ? Math.round(num('trim-md', q.get('trim-md')!, 0, 255)) : 11;
  else if (trim === 'color') {
    const c = q.has('trim-color') ? imgixColour('trim-color', q.get('trim-color')!) : undefined;
    out.trim = q.has('trim-tol') ? Math.round(num('trim-tol', q.get('trim-tol')!, 0, 255)) : 0;
    if (c) out.trimColour = [c.r, c.g, c.b];
  } else if (trim !== undefined) throw refused('trim', `${trim} (kinu trims auto and color)`);
  return out;
}

function orientation(q: ImgixQuery): Partial<Transform> {
  let [rotate, flipH, flipV] =
    ORIENT[q.get('orient') ?? '0'] ??
    (() => {
      throw bad('orient', q.get('orient')!, '0–8, 90, 180 or 270');
    })();
  const rot = q.has('rot') ? num('rot', q.get('rot')!, 0, 359) : 0;
  // imgix turns the image within its frame, zooming to cover it: only the half turn keeps the whole frame.
  if (rot === 180) rotate = ((rotate + 180) % 360) as 0 | 90 | 180 | 270;
  else if (rot !== 0)
    throw refused('rot', `${rot}° (imgix turns within the frame; kinu turns by 180 here, or 90s with orient)`);
  const flip = q.get('flip');
  if (flip !== undefined && !['h', 'v', 'hv', 'vh'].includes(flip)) throw bad('flip', flip, 'h, v, hv');
  if (flip?.includes('h')) flipH = !flipH;
  if (flip?.includes('v')) flipV = !flipV;
  return { rotate, flipH, flipV };
}

function watermark(q: ImgixQuery, o: ApplyOptions, dpr: number): Partial<Transform> {
  const mark = q.get('mark');
  if (mark === undefined || mark === '') return {};
  // mark-w/mark-h size the mark against its own size (docs.imgix.com …/watermark/mark-w); kinu's placement
  // sizes it against the image only (mark-scale).
  for (const n of ['mark-w', 'mark-h', 'mark-rot'] as const)
    if (q.has(n)) throw refused(n, 'kinu sizes a watermark only as a share of the image width (mark-scale)');
  if (q.has('mark-fit') && q.get('mark-fit') !== 'clip') throw refused('mark-fit', 'only clip');
  const key = o.markKey((q.get('mark-base') ?? '') + mark);
  const align = new Set((q.get('mark-align') ?? 'bottom,right').split(','));
  // mark-pad (default 5 px) is the gap to the edges it is aligned to, in output pixels (× dpr).
  const pad = Math.round((q.has('mark-pad') ? num('mark-pad', q.get('mark-pad')!, 0, 4096, true) : 5) * dpr);
  // thumbor's placement (steps/watermark-at.ts): N from the left/top, -N from the right/bottom, 100p flush.
  const axis = (lo: string, hi: string, given: string | undefined, name: string): string => {
    if (given !== undefined) return String(Math.round(num(name, given, 0, 8192, true) * dpr));
    if (align.has(lo)) return String(pad);
    if (align.has(hi)) return pad === 0 ? '100p' : `-${pad}`;
    return 'center';
  };
  const tile = q.get('mark-tile');
  if (tile !== undefined && tile !== 'grid') throw bad('mark-tile', tile, 'grid');
  // imgix's grid steps by the mark plus mark-pad; kinu's tiling (thumbor's repeat) spreads the copies instead.
  if (tile) throw refused('mark-tile', "kinu's tiling spreads the copies over the image, imgix's grid does not");
  const at: WatermarkAt = {
    x: axis('left', 'right', q.get('mark-x'), 'mark-x'),
    y: axis('top', 'bottom', q.get('mark-y'), 'mark-y'),
    alpha: 100 - (q.has('mark-alpha') ? num('mark-alpha', q.get('mark-alpha')!, 0, 100, true) : 100),
    wRatio: q.has('mark-scale') ? num('mark-scale', q.get('mark-scale')!, 0, 100) || undefined : undefined,
    hRatio: undefined,
  };
  return { watermark: { key, gravity: 'bottom-right', opacity: 1, scale: undefined }, watermarkAt: at };
}
