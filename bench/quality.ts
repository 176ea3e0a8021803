// npx tsx bench/quality.ts [--widths 400,1200] [folder]  — fixed quality vs q=auto, per format (issue 17).
//
// Each photo of the folder (default test/corpus/photos) through kinu's own pipeline (runPipeline, one libvips
// thread, as the server runs it), at each width, as JPEG, WebP and AVIF at the default quality, q=auto and
// q=auto:high. Per row: median and p90 bytes, the output's SSIMULACRA 2 against kinu's lossless PNG of the same transform
// (outputs under 225 px a side are not scored: the metric needs six scales), the quality chosen, and CPU ms per
// miss (process.cpuUsage around the pipeline). Not a part of `npm run bench`: it needs no servers.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import sharp, { type Sharp } from 'sharp';
import { runPipeline } from '../src/pipeline/pipeline.ts';
import { type RgbImage, ssimulacra2 } from '../src/pipeline/quality/ssimulacra2.ts';
import { IDENTITY, type Transform } from '../src/transform.ts';

const { values, positionals } = parseArgs({ options: { widths: { type: 'string' } }, allowPositionals: true });
const widths = (values.widths ?? '400,1200').split(',').map(Number);
const folder = positionals[0] ?? fileURLToPath(new URL('../test/corpus/photos', import.meta.url));
const photos = readdirSync(folder).filter((f) => /\.(jpe?g|png|webp|avif)$/i.test(f));
const OPTS = {
  limits: { maxPixels: 200_000_000, maxFrames: 1 },
  timeoutMs: 600_000,
  accept: { jxl: false, avif: true, webp: true },
};
const FORMATS = ['jpeg', 'webp', 'avif'] as const;
const QUALITIES = [undefined, 'auto', 'auto:high'] as const;

async function rgb(img: Sharp): Promise<RgbImage> {
  const { data, info } = await img.removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: 3 };
}
const cpuMs = () => {
  const c = process.cpuUsage();
  return (c.user + c.system) / 1000;
};
const median = (v: number[]) => pct(v, 0.5);
function pct(v: number[], p: number): number {
  const s = [...v].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))] ?? Number.NaN;
}

interface Row {
  bytes: number[];
  scores: number[];
  cpu: number[];
  chosen: number[];
}
for (const w of widths) {
  const rows = new Map<string, Row>();
  for (const file of photos) {
    const input = readFileSync(join(folder, file));
    // The reference is kinu's own lossless render: the very pixels its encoder was given.
    const ref = await rgb(sharp((await runPipeline(input, { ...IDENTITY, width: w, format: 'png' }, OPTS)).data));
    // One warm-up so the first photo does not carry the JIT and libvips' start-up.
    await runPipeline(input, { ...IDENTITY, width: w, format: 'jpeg', quality: 'auto' }, OPTS);
    for (const format of FORMATS) {
      for (const quality of QUALITIES) {
        const t: Transform = { ...IDENTITY, width: w, format, quality };
        const c0 = cpuMs();
        const out = await runPipeline(input, t, OPTS);
        const cpu = cpuMs() - c0;
        const key = `${format} ${quality ?? 'default'}`;
        const row = rows.get(key) ?? { bytes: [], scores: [], cpu: [], chosen: [] };
        rows.set(key, row);
        row.bytes.push(out.data.length);
        row.cpu.push(cpu);
        if (out.quality !== undefined) row.chosen.push(out.quality);
        const d = await rgb(sharp(out.data));
        if (Math.min(ref.width, ref.height) >= 225 && d.width === ref.width && d.height === ref.height)
          row.scores.push(ssimulacra2(ref, d));
      }
    }
  }
  console.log(`\n${w} px wide, ${photos.length} photos from ${folder}`);
  console.log(
    '| format, q | median bytes | p90 bytes | SSIMULACRA 2 median (min) | q chosen (median, range) | CPU ms/miss median | × fixed |',
  );
  console.log('|---|---|---|---|---|---|---|');
  for (const format of FORMATS) {
    const fixed = median(rows.get(`${format} default`)!.cpu);
    for (const quality of QUALITIES) {
      const r = rows.get(`${format} ${quality ?? 'default'}`)!;
      const chosen = r.chosen.length ? `${median(r.chosen)} (${Math.min(...r.chosen)}–${Math.max(...r.chosen)})` : '—';
      console.log(
        `| ${format} ${quality ?? 'default'} | ${median(r.bytes)} | ${pct(r.bytes, 0.9)} | ${median(r.scores).toFixed(1)} (${Math.min(...r.scores).toFixed(1)}) | ${chosen} | ${median(r.cpu).toFixed(0)} | ${(median(r.cpu) / fixed).toFixed(2)} |`,
      );
    }
  }
}
