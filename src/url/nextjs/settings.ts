// Next.js's image settings kinu mirrors (next.config.js `images`), with Next 16.5's defaults from
// packages/next/src/shared/lib/image-config.ts. One home for the defaults and for how the settings are read.
import { z } from 'zod';
import type { NegotiatedFormat } from '../../formats.ts';

/** `images.deviceSizes` then `images.imageSizes` (Next 16 dropped 16 from imageSizes): the widths Next answers. */
export const NEXT_DEVICE_SIZES = [640, 750, 828, 1080, 1200, 1920, 2048, 3840] as const;
export const NEXT_IMAGE_SIZES = [32, 48, 64, 96, 128, 256, 384] as const;
/** `images.qualities`: Next 16 answers only q=75 unless configured. */
export const NEXT_QUALITIES = [75] as const;
/** `images.formats`: the mime types Next picks from Accept, first match in this order wins. */
export const NEXT_FORMATS = ['image/webp'] as const;

const MIMES: Readonly<Record<string, NegotiatedFormat>> = { 'image/avif': 'avif', 'image/webp': 'webp' };

const list = (s: string) =>
  s
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);

const ints = (min: number, max: number, what: string) =>
  z.string().transform((s, ctx) => {
    const out = list(s).map(Number);
    if (out.length === 0 || out.some((n) => !Number.isInteger(n) || n < min || n > max)) {
      ctx.addIssue({ code: 'custom', message: `expected ${what}, integers ${min}–${max}, comma-separated` });
      return z.NEVER;
    }
    return [...new Set(out)];
  });

/** Widths in pixels (Next's config schema allows 1–10000 for deviceSizes). */
export const nextjsWidths = ints(1, 10000, 'widths');
export const nextjsQualities = ints(1, 100, 'qualities');

/** `image/avif`, `image/webp` (the only values Next's config accepts), in preference order; empty: none negotiated. */
export const nextjsFormats = z.string().transform((s, ctx) => {
  const out: NegotiatedFormat[] = [];
  for (const m of list(s)) {
    const f = MIMES[m.toLowerCase()];
    if (f === undefined) {
      ctx.addIssue({ code: 'custom', message: `expected image/avif or image/webp, got "${m}"` });
      return z.NEVER;
    }
    if (!out.includes(f)) out.push(f);
  }
  return out;
});
