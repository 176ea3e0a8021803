// kinu/next: an image loader for Next.js's <Image>. It imports nothing from Next (a loader is a plain
// function), and it never signs: Next.js runs loaders in the browser, where a secret must never go.
import { kinuUrl, srcsetWidths, type SrcsetParams } from './index.js';

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
export function kinuLoader(options: KinuLoaderOptions): (props: ImageLoaderProps) => string {
  const { base, ratio, secret, ...defaults } = options;
  if (secret !== undefined)
    throw new TypeError(
      'kinu/next: a loader runs in the browser and must not hold a secret; sign on the server with kinu/client',
    );
  const prefix = base.replace(/\/+$/, '');
  return ({ src, width, quality }) => {
    let key = src;
    if (/^([a-z][a-z0-9+.-]*:)?\/\//i.test(src)) {
      if (!src.startsWith(`${prefix}/`))
        throw new TypeError(
          `kinu/next: src ${JSON.stringify(src)} is not under ${JSON.stringify(base)}; give the image's key, e.g. "/photos/a.jpg"`,
        );
      key = src.slice(prefix.length);
    }
    const w = srcsetWidths([width], ratio)[0]!;
    return kinuUrl(base, key, {
      ...defaults,
      w,
      h: ratio === undefined ? undefined : Math.round(w / ratio),
      q: quality ?? defaults.q,
    });
  };
}
