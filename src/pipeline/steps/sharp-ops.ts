import { materialise, type Step } from './step.ts';

// ipx's gamma, median, threshold, normalize, tint and negate: one sharp call each, as ipx makes them, on the
// pipeline that resized and padded. sharp runs each at its own place (pipeline.cc: 1/γ before the resize and γ
// after it; median, threshold, blur, sharpen after the padding; normalise, tint, negate last), so neither the
// URL's order nor ipx's sort by name changes the result. kinu's rotation runs on its own first, so ipx's gamma
// is refused with it.
export const sharpOps: Step = {
  name: 'sharp-ops',
  applies: (plan) => plan.transform.sharpOps !== undefined,
  apply(img, plan, ctx) {
    const o = plan.transform.sharpOps!;
    let out = img;
    if (o.gamma) out = out.gamma(o.gamma[0], o.gamma[1]);
    if (o.median !== undefined) out = out.median(o.median);
    if (o.threshold !== undefined) out = out.threshold(o.threshold);
    if (o.normalise) out = out.normalise();
    if (o.tint) out = out.tint({ r: o.tint[0], g: o.tint[1], b: o.tint[2] });
    if (o.negate) out = out.negate();
    // Into a format without alpha, libvips flattens when it writes, after all of these (negate turns the alpha
    // too); sharp would flatten first, so run them before the flatten step.
    const atSave = plan.flatten !== undefined && !plan.transform.flattenAlways && plan.source.hasAlpha;
    return atSave ? materialise(out, ctx) : out;
  },
};
