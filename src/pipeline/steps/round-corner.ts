import { FORMATS } from '../../formats.ts';
import type { Step } from './step.ts';

// thumbor's round_corner (thumbor/ext/filters/_round_corner.c): in each corner, the pixels outside the ellipse
// of radii a×b (capped at half the side) take the colour, row by row as its loop walks them; `transparent` also
// clears their alpha where the output keeps alpha (a JPEG shows the colour, as thumbor's does). thumbor's
// anti-aliasing of the one-pixel rim is not reproduced.
export const roundCorner: Step = {
  name: 'round-corner',
  applies: (plan) => plan.transform.roundCorner !== undefined,
  async apply(img, plan, ctx) {
    const rc = plan.transform.roundCorner!;
    const clear = rc.transparent && FORMATS[plan.format].alpha;
    let base = img.toColourspace('srgb');
    if (clear) base = base.ensureAlpha();
    const { data, info } = await base.raw().toBuffer({ resolveWithObject: true });
    const { width, channels } = info;
    const pageHeight = info.pageHeight !== undefined && info.pageHeight < info.height ? info.pageHeight : info.height;
    const a = Math.min(rc.a, Math.trunc(width / 2));
    const b = Math.min(rc.b, Math.trunc(pageHeight / 2));
    const paint = (x: number, y: number, frame: number) => {
      if (x < 0 || x >= width) return;
      const i = ((frame * pageHeight + y) * width + x) * channels;
      [data[i], data[i + 1], data[i + 2]] = rc.colour;
      if (clear) data[i + channels - 1] = 0;
    };
    for (let f = 0; f < info.height / pageHeight; f++) {
      for (let y = 0; y <= b; y++) {
        const x = -(a * Math.sqrt(b * b - y * y)) / b;
        const top = b - y;
        const bottom = pageHeight - b + y - 1;
        const end = Math.trunc(x + a);
        for (let cx = 0; cx < end; cx++) {
          paint(cx, top, f);
          paint(cx, bottom, f);
          if (cx > 0) {
            paint(width - cx, top, f);
            paint(width - cx, bottom, f);
          }
        }
      }
    }
    const frames = pageHeight < info.height ? pageHeight : undefined;
    return ctx.load(data, { width, height: info.height, channels, pageHeight: frames });
  },
};
