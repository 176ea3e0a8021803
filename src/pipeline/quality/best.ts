// `fmt=best`: the steps' output encoded in each candidate format the client accepts (plan.ts chose them, within
// the memory budget and the deadline), keeping the smallest that meets the perceptual target. Every score is
// read on the same proxy as `q=auto`'s (auto.ts), so the choice is a pure function of the pixels and params.
import type { OutputInfo, Sharp } from 'sharp';
import { FORMATS, type OutputFormat } from '../../formats.ts';
import type { AutoQuality } from '../../transform.ts';
import type { RawShape } from '../steps/step.ts';
import { AUTO_TARGETS, chooseQuality, ProxyScorer, proxyMargin, renderPixels, tooSmall } from './auto.ts';

export interface BestTrial {
  readonly format: OutputFormat;
  /** The quality encoded at: `q=auto`'s choice, the fixed `q`, or the format's default (undefined: lossless). */
  readonly quality: number | undefined;
  readonly bytes: number;
  /** SSIMULACRA 2 of the proxy's encode at that quality (NaN: too small to measure). */
  readonly score: number;
  readonly meets: boolean;
}

export interface BestResult {
  readonly data: Buffer;
  readonly info: OutputInfo;
  readonly format: OutputFormat;
  /** `q=auto`'s choice for the kept format; undefined when `q` was fixed or the default. */
  readonly quality: number | undefined;
  readonly trials: readonly BestTrial[];
}

/**
 * The rule: every candidate is encoded, at its own `q=auto…` quality when `q` is a preset, else at the fixed
 * or default quality; it meets the target when its proxy scores at least the preset's (`auto`'s for a number
 * or none) plus the proxy's margin for the output's size (auto.ts, proxyMargin). The smallest that meets it is
 * kept (the earlier, preferred one on a tie); when none does, the best scoring one.
 */
export async function encodeBest(
  img: Sharp,
  candidates: readonly OutputFormat[],
  fixed: (format: OutputFormat) => number | undefined,
  preset: AutoQuality | undefined,
  load: (data: Buffer, raw: RawShape) => Sharp,
  check: () => void,
): Promise<BestResult> {
  const pixels = await renderPixels(img);
  const small = tooSmall(pixels);
  const scorer = small ? undefined : new ProxyScorer(pixels);
  const gate = AUTO_TARGETS[preset ?? 'auto'] + proxyMargin(pixels) - 1e-6;
  const trials: BestTrial[] = [];
  let kept: { data: Buffer; info: OutputInfo; trial: BestTrial; auto: boolean } | undefined;
  for (const format of candidates) {
    let quality = fixed(format);
    let score = Number.NaN;
    const auto = preset !== undefined && FORMATS[format].auto !== undefined;
    if (auto) {
      const choice = await chooseQuality(pixels, format, preset, scorer);
      quality = choice.quality;
      score = choice.score;
    } else if (scorer) score = await scorer.score(format, quality);
    check();
    const { data, info } = await FORMATS[format]
      .encode(load(pixels.data, { width: pixels.width, height: pixels.height, channels: pixels.channels }), quality)
      .toBuffer({ resolveWithObject: true });
    check();
    const trial: BestTrial = { format, quality, bytes: data.length, score, meets: small || score >= gate };
    trials.push(trial);
    if (!kept || better(trial, kept.trial)) kept = { data, info, trial, auto };
  }
  if (!kept) throw new Error('fmt=best: no candidate format');
  return {
    data: kept.data,
    info: kept.info,
    format: kept.trial.format,
    quality: kept.auto ? kept.trial.quality : undefined,
    trials,
  };
}

/** Meeting the target first, then fewer bytes; among those missing it, the higher score. Ties keep the earlier. */
function better(a: BestTrial, b: BestTrial): boolean {
  if (a.meets !== b.meets) return a.meets;
  if (a.meets) return a.bytes < b.bytes;
  return a.score > b.score || (a.score === b.score && a.bytes < b.bytes);
}
