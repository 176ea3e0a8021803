// What a kinu child says of the work it did, from its /_kinu/metrics: proof that a load generator that checks
// no bodies (wrk) got the answers the workload means, and the pipeline's stage times.
import type { HttpClient } from './client.ts';

async function scrape(client: HttpClient): Promise<string> {
  const r = await client.get('/_kinu/metrics');
  if (r.status !== 200) throw new Error(`GET /_kinu/metrics: ${r.status}`);
  return r.body.toString('utf8');
}

/** kinu_cache_lookups_total by tier, and `notModified`: the image 304s answered. Which tier (or the ETag alone)
 *  answered wrk's requests. */
export async function lookups(client: HttpClient): Promise<Record<string, number>> {
  return lookupsOf(await scrape(client));
}

function lookupsOf(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of text.matchAll(/^kinu_cache_lookups_total\{result="(\w+)"\} (\d+)/gm)) out[m[1]!] = Number(m[2]);
  out.notModified = 0;
  for (const m of text.matchAll(/^kinu_http_requests_total\{([^}]*)\} (\d+)/gm))
    if (m[1]!.includes('route="image"') && m[1]!.includes('status="304"')) out.notModified += Number(m[2]);
  return out;
}

export interface StageTotals {
  /** Seconds summed over the runs, by stage (fetch, process, encode). */
  readonly sum: Readonly<Record<string, number>>;
  readonly count: Readonly<Record<string, number>>;
}

/** kinu_pipeline_stage_duration_seconds' sums and counts, by stage. */
function stageTotalsOf(text: string): StageTotals {
  const sum: Record<string, number> = {};
  const count: Record<string, number> = {};
  for (const m of text.matchAll(/^kinu_pipeline_stage_duration_seconds_(sum|count)\{stage="(\w+)"\} ([\d.e+-]+)/gm))
    (m[1] === 'sum' ? sum : count)[m[2]!] = Number(m[3]);
  return { sum, count };
}

/** Mean milliseconds per stage between two readings. */
export function stageMeansMs(before: StageTotals, after: StageTotals): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of Object.keys(after.count)) {
    const n = after.count[k]! - (before.count[k] ?? 0);
    if (n > 0) out[k] = ((after.sum[k]! - (before.sum[k] ?? 0)) * 1000) / n;
  }
  return out;
}

/** Full garbage collections (V8 mark-compacts) so far: prom-client's nodejs_gc_duration_seconds{kind="major"}. */
function majorGcsOf(text: string): number {
  const m = /^nodejs_gc_duration_seconds_count\{kind="major"\} (\d+)/m.exec(text);
  return m ? Number(m[1]) : 0;
}

export interface Reading {
  readonly lookups: Record<string, number>;
  readonly stages: StageTotals;
  readonly majorGcs: number;
}

/** All of the above from one scrape, as a miss phase reads them before and after. */
export async function reading(client: HttpClient): Promise<Reading> {
  const text = await scrape(client);
  return { lookups: lookupsOf(text), stages: stageTotalsOf(text), majorGcs: majorGcsOf(text) };
}

/** V8's heap as the process reports it (prom-client's defaults), MB: what the collector holds (`total`, its
 *  spaces' size, live or not yet collected) and `external` (Buffers' memory outside the heap). */
export async function heapMb(client: HttpClient): Promise<{ total: number; external: number }> {
  const text = await scrape(client);
  const mb = (name: string) => {
    const m = new RegExp(`^${name} ([\\d.e+-]+)`, 'm').exec(text);
    return m ? Number(m[1]) / 2 ** 20 : Number.NaN;
  };
  return {
    total: mb('nodejs_heap_size_total_bytes'),
    external: mb('nodejs_external_memory_bytes'),
  };
}
