// Compiled from src/client/ by `npm run build:client` (scripts/build-client.ts) — do not edit; edit src/client/ and rebuild.
import { type SrcsetParams } from './index.js';
export interface KinuLoaderOptions extends SrcsetParams {
    /** kinu's origin, with the path prefix it is mounted under if any: `https://img.example.com`. */
    base: string;
    /** Width ÷ height: each width gets `h = round(w / ratio)` (a crop, with the default `fit=cover`). */
    ratio?: number;
    /** Not accepted: loaders run in the browser. Serve unsigned, or sign URLs on the server with kinu/client. */
    secret?: never;
}
/** What Next.js passes to a loader (its `ImageLoaderProps`). */
export interface ImageLoaderProps {
    src: string;
    width: number;
    quality?: number;
}
/**
 * `kinuLoader({ base, ...defaults })` → a loader for `<Image loader={…}>` or `images.loaderFile`. `src` is the
 * original's key (a leading `/` is dropped; a full URL under `base` is accepted), `width` becomes `w` (clamped to
 * the server's range) and `quality` becomes `q`, over the default params given here.
 */
export declare function kinuLoader(options: KinuLoaderOptions): (props: ImageLoaderProps) => string;
