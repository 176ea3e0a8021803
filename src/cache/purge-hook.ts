// Caches in front of kinu (Varnish, a CDN) keep variants kinu no longer has. After an original is deleted or
// replaced, one `BAN` request tells them to drop every variant of it: images carry `X-Kinu-Key`, and the
// shipped VCL bans objects whose X-Kinu-Key equals the one sent. A failed purge is reported, never fatal.
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';

export type PurgeHook = (tag: string) => Promise<{ ok: boolean; status?: number; error?: string }>;

/** One hook over several caches (every Varnish in front): ok only when all of them said so. */
export function createPurgeHooks(urls: readonly string[], opts: { timeoutMs?: number } = {}): PurgeHook {
  const hooks = urls.map((u) => createPurgeHook(u, opts));
  return async (tag) => {
    const results = await Promise.all(hooks.map((h) => h(tag)));
    if (results.length === 1) return results[0]!;
    const failed = results.map((r, i) => (r.ok ? undefined : `${urls[i]}: ${r.error ?? r.status}`)).filter(Boolean);
    return failed.length === 0 ? { ok: true, status: results[0]!.status } : { ok: false, error: failed.join('; ') };
  };
}

export function createPurgeHook(url: string, opts: { timeoutMs?: number } = {}): PurgeHook {
  const target = new URL(url);
  const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
  return (tag) =>
    new Promise((resolve) => {
      const req = send(
        target,
        { method: 'BAN', headers: { 'x-kinu-key': tag }, signal: AbortSignal.timeout(opts.timeoutMs ?? 2000) },
        (res) => {
          res.resume();
          res.on('end', () => resolve({ ok: (res.statusCode ?? 500) < 300, status: res.statusCode }));
          res.on('error', (err) => resolve({ ok: false, error: err.message }));
        },
      );
      req.on('error', (err) => resolve({ ok: false, error: err.message }));
      req.end();
    });
}
