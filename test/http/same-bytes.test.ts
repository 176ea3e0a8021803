// A URL's bytes are the same whatever else the server is doing: the ETag names them, caches refill them, and
// several instances must agree. libaom writes other AVIF bytes with other libvips thread counts, so this pins
// that the thread count does not follow the load (it did once, for a lone miss's latency; see ARCHITECTURE.md).
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { decode, testServer } from '../helpers.ts';

const { app } = testServer({ KINU_MEMORY_CACHE_MB: '0', KINU_CONCURRENCY: '8' });
after(() => app.close());

test("a variant's bytes alone and among other misses are the same, in every output format", async () => {
  const get = (url: string) => app.inject({ url });
  for (const fmt of ['avif', 'webp', 'jpeg', 'png', 'gif']) {
    const url = `/photos/hato-pigeons.jpg?w=320&fmt=${fmt}`;
    const alone = await get(url);
    assert.equal(alone.statusCode, 200, alone.body);
    assert.equal((await decode(alone.rawPayload)).width, 320);
    // The same URL again (no cache keeps it), now among six other misses.
    const busy = await Promise.all([
      get(url),
      ...[300, 310, 330, 340, 350, 360].map((w) => get(`/photos/lunch-food.jpg?w=${w}&fmt=${fmt}`)),
    ]);
    assert.equal(busy[0]!.headers['x-kinu-cache'], 'miss', 'made again, not cached');
    assert.ok(busy[0]!.rawPayload.equals(alone.rawPayload), `${fmt}: the same bytes under load`);
  }
});
