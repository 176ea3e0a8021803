// Whether Next.js's optimizer takes an original for an animation, which it then serves unoptimized: its
// ANIMATABLE_TYPES (GIF, PNG, WebP) tested as its bundled is-animated package tests them (Next 16.5,
// dist/compiled/is-animated). Only for Transform.nextjs; libvips reads an APNG's first frame only, so the
// PNG answer cannot come from the header.
import type { SourceInfo } from './plan.ts';

export function nextAnimated(input: Buffer, src: Pick<SourceInfo, 'format' | 'frames'>): boolean {
  switch (src.format) {
    case 'gif':
      return src.frames > 1; // is-animated: more than one image descriptor
    case 'webp':
      // A VP8X header with the animation flag, whatever the frame count.
      return input.length >= 30 && input.toString('latin1', 12, 16) === 'VP8X' && (input[20]! & 2) !== 0;
    case 'png':
      return apng(input);
    default:
      return false;
  }
}

/** acTL before the first IDAT, which a fcTL introduces, then an fdAT after a fcTL: is-animated's PNG test. */
function apng(png: Buffer): boolean {
  let actl = false;
  let idat = false;
  let previous = '';
  for (let at = 8; at + 8 <= png.length; ) {
    const length = png.readUInt32BE(at);
    const type = png.toString('latin1', at + 4, at + 8);
    if (type === 'acTL') actl = true;
    else if (type === 'IDAT') {
      if (!actl || (previous !== 'fcTL' && previous !== 'IDAT')) return false;
      idat = true;
    } else if (type === 'fdAT') return idat && (previous === 'fcTL' || previous === 'fdAT');
    previous = type;
    at += 12 + length;
  }
  return false;
}
