// Compiled from src/client/ by `npm run build:client` (scripts/build-client.ts) — do not edit; edit src/client/ and rebuild.
import { MAX_SIDE, PARAM_SPEC, type KinuParamName, type KinuParams } from './params.generated.js';
import type { ParamSpec, Range } from './spec.js';
export type { KinuParamName, KinuParams, ParamSpec, Range };
export { MAX_SIDE, PARAM_SPEC };
export interface SignOptions {
    /**
     * The server's `KINU_SECRET` (the first of a comma-separated list, as `kinu sign` takes it). Never put a
     * secret in code that reaches a browser: sign on the server.
     */
    secret?: string;
}
/** Params for `srcset`: the width comes from each candidate, and the height from `ratio`. */
export type SrcsetParams = Omit<KinuParams, 'w' | 'h' | 'dpr'>;
export interface SrcsetOptions extends SignOptions {
    /** Width ÷ height: each candidate gets `h = round(w / ratio)` (with the default `fit=cover`, a crop). */
    ratio?: number;
}
/** The sizes the server takes: `w` and `h` ranges (CSS pixels) and the largest output side (device pixels). */
export declare const LIMITS: {
    readonly width: Range;
    readonly height: Range;
    readonly maxSide: 16384;
};
/** The canonical query for these params (no `?`, no `sig`). Unknown params and bad values throw. */
export declare function kinuQuery(params?: KinuParams): string;
/**
 * A native kinu URL: `<base>/<key>?<params>`, signed when `secret` is given (with Node's crypto; elsewhere
 * use `kinuUrlAsync`). `base` is the server's origin, with a path prefix if kinu is mounted under one, or ''
 * for a root-relative URL. `key` is the original's key in the source, unencoded (`recipes/my curry.jpg`).
 */
export declare function kinuUrl(base: string, key: string, params?: KinuParams, options?: SignOptions): string;
/** `kinuUrl`, signed with Web Crypto: browsers (but keep secrets out of them), Deno, Bun, workers, Node. */
export declare function kinuUrlAsync(base: string, key: string, params?: KinuParams, options?: SignOptions): Promise<string>;
/**
 * The candidate widths: rounded, clamped to what the server takes (`w` 1–8192 and the largest output side;
 * with `ratio`, so that the height fits too), then sorted and made unique.
 */
export declare function srcsetWidths(widths: readonly number[], ratio?: number): number[];
/** A `srcset` with one `<url> <w>w` candidate per width; pair it with `sizes`. */
export declare function srcset(base: string, key: string, widths: readonly number[], params?: SrcsetParams, options?: SrcsetOptions): string;
/** `srcset`, signed with Web Crypto. */
export declare function srcsetAsync(base: string, key: string, widths: readonly number[], params?: SrcsetParams, options?: SrcsetOptions): Promise<string>;
/**
 * A `sizes` attribute: `{ '(min-width: 1024px)': '33vw', '(min-width: 640px)': 480 }` and a fallback
 * (default `100vw`); numbers are CSS pixels. The first matching media condition wins, as in HTML.
 */
export declare function sizes(rules?: Readonly<Record<string, string | number>>, fallback?: string | number): string;
