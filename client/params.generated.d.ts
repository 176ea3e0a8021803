// Compiled from src/client/ by `npm run build:client` (scripts/build-client.ts) — do not edit; edit src/client/ and rebuild.
import type { ParamSpec } from './spec.js';
/** The native params, typed from the server's table. Numbers are in the server's units (CSS pixels for `w`/`h`). */
export interface KinuParams {
    /** target width in CSS pixels. Values: integer 1–8192. Example: `?w=400`. */
    w?: number;
    /** target height in CSS pixels. Values: integer 1–8192. Example: `?h=300`. */
    h?: number;
    /** device pixel ratio: multiplies `w` and `h`. Values: 1–4, up to 2 decimals. Example: `?w=400&dpr=2`. */
    dpr?: number;
    /** how the image fills the `w`×`h` box, as CSS `object-fit` (default `cover`). Values: cover · contain · fill · inside · outside. Example: `?w=400&h=400&fit=contain`. */
    fit?: 'cover' | 'contain' | 'fill' | 'inside' | 'outside';
    /** what `cover` keeps, or where `contain` places the image (default `center`); `X,Y` is a focal point. Values: center · top · bottom · left · right · top-left · top-right · bottom-left · bottom-right · attention · entropy · X,Y (0–1 each). Example: `?w=400&h=400&pos=0.3,0.6`. */
    pos?: 'center' | 'top' | 'bottom' | 'left' | 'right' | 'top-left' | 'top-right' | 'bottom-left' | 'bottom-right' | 'attention' | 'entropy' | readonly [x: number, y: number];
    /** allow output larger than the source (default 0). Values: 0 · 1. Example: `?w=4000&enlarge=1`. */
    enlarge?: boolean;
    /** cut this region first, in source pixels after auto-orient. Values: X,Y,W,H integers (W,H ≥ 1). Example: `?crop=100,50,800,600`. */
    crop?: readonly [x: number, y: number, width: number, height: number];
    /** output format (default: the source's; JPEG or PNG for formats browsers cannot show); `auto` picks from `Accept`; `best` encodes each format `Accept` allows and keeps the smallest meeting `q=auto`'s target. Values: auto · best · jpeg · png · webp · avif · gif · jxl · json. Example: `?fmt=auto`. */
    fmt?: 'jpeg' | 'png' | 'webp' | 'avif' | 'gif' | 'jxl' | 'auto' | 'best' | 'json';
    /** quality (defaults: JPEG 80, WebP 80, AVIF 50, JPEG XL 75; ignored by PNG and GIF); `auto` picks per image the lowest meeting a SSIMULACRA 2 target (`X-Kinu-Quality` tells which). Values: integer 1–100 · auto · auto:high · auto:low. Example: `?q=70`. */
    q?: number | 'auto' | 'auto:high' | 'auto:low';
    /** padding colour for `contain`/`pad`, and what alpha is flattened onto for JPEG (default white). Values: RRGGBB · RRGGBBAA. Example: `?bg=ff8800`. */
    bg?: string;
    /** Gaussian blur sigma. Values: 0.3–100. Example: `?blur=5`. */
    blur?: number;
    /** sharpen sigma. Values: 0.5–10. Example: `?sharpen=1`. */
    sharpen?: number;
    /** rotate clockwise, after auto-orient; `w`/`h` apply to the rotated image. Values: 0 · 90 · 180 · 270. Example: `?rot=90`. */
    rot?: 0 | 90 | 180 | 270;
    /** mirror horizontally, vertically or both. Values: h · v · hv. Example: `?flip=h`. */
    flip?: 'h' | 'v' | 'hv';
    /** keep animation where the output format can animate (default 1); `0` keeps the first frame only. Values: 0 · 1. Example: `?anim=0`. */
    anim?: boolean;
    /** cut a uniform border first (colour distance); disables shrink-on-load. Values: integer 0–255. Example: `?trim=10`. */
    trim?: number;
    /** padding after resize in output pixels (CSS order), filled with `bg`. Values: T or T,R,B,L integers 0–4096. Example: `?pad=10,20,10,20`. */
    pad?: number | readonly [top: number, right: number, bottom: number, left: number];
    /** watermark image, composited after resize. Values: a key in the source. Example: `?wm=logo.png`. */
    wm?: string;
    /** where the watermark goes (default `bottom-right`). Values: center · top · bottom · left · right · top-left · top-right · bottom-left · bottom-right. Example: `?wm=logo.png&wm_pos=top-left`. */
    wm_pos?: 'center' | 'top' | 'bottom' | 'left' | 'right' | 'top-left' | 'top-right' | 'bottom-left' | 'bottom-right';
    /** watermark opacity (default 1). Values: 0–1. Example: `?wm=logo.png&wm_opacity=0.5`. */
    wm_opacity?: number;
    /** watermark width as a fraction of the output width (default: its own size). Values: 0–1 (above 0). Example: `?wm=logo.png&wm_scale=0.2`. */
    wm_scale?: number;
    /** greyscale. Values: 0 · 1. Example: `?gray=1`. */
    gray?: boolean;
    /** pixelate with blocks of this many output pixels. Values: integer 2–100. Example: `?pixelate=12`. */
    pixelate?: number;
    /** a named param set (`KINU_PRESETS`); params given beside it override its values. Values: a name from config. Example: `?preset=thumb`. */
    preset?: string;
}
export type KinuParamName = keyof KinuParams;
/** Largest output side the server writes, in pixels (after `dpr`). */
export declare const MAX_SIDE = 16384;
/** What each param accepts, read and probed from the server's validators; the key order is the URL order. */
export declare const PARAM_SPEC: Readonly<Record<KinuParamName, ParamSpec>>;
/** Each param in words and a value it takes (the server table's prose), for pages that list them: the playground. */
export declare const PARAM_DOCS: Readonly<Record<KinuParamName, {
    readonly doc: string;
    readonly values: string;
    readonly example: string;
}>>;
