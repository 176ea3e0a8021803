import type { Step } from './step.ts';

// imgix's fit=clamp: the image fitted inside the box (the resize step's `inside` instead of `contain`), then
// centred on it as sharp's contain centres (left = ⌊(W − w) / 2⌋), the margins repeating its edge pixels
// (libvips embed with VIPS_EXTEND_COPY, sharp's extendWith 'copy'). Its size is known only once resized.
export const clampEdges: Step = {
  name: 'clamp-edges',
  applies: (plan) => plan.transform.clampEdges === true && plan.resize?.fit === 'contain',
  async apply(img, plan, ctx) {
    const { width, height } = plan.resize!;
    const { data, info } = await img.toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
    const { channels } = info;
    // sharp extends raw input as one image: each frame of an animation is extended by itself.
    const fh = info.pageHeight !== undefined && info.pageHeight < info.height ? info.pageHeight : info.height;
    const left = Math.floor((width - info.width) / 2);
    const top = Math.floor((height - fh) / 2);
    const margins = { top, bottom: height - fh - top, left, right: width - info.width - left };
    const bytes = info.width * fh * channels;
    const frames = await Promise.all(
      Array.from({ length: info.height / fh }, (_, i) =>
        ctx
          .load(data.subarray(i * bytes, (i + 1) * bytes), { width: info.width, height: fh, channels })
          .extend({ ...margins, extendWith: 'copy' })
          .raw()
          .toBuffer(),
      ),
    );
    const pageHeight = frames.length > 1 ? height : undefined;
    return ctx.load(Buffer.concat(frames), { width, height: height * frames.length, channels, pageHeight });
  },
};
