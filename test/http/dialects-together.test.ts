// All dialects mounted at once at the prefixes issue 15 names (KINU_DIALECTS=native=/,imgix=/ix,
// cloudflare=/cdn-cgi/image,nextjs=/_next/image,ipx=/_ipx, plus imgproxy and thumbor): each takes the URL its
// real client builds for one photo at 400 px and answers the same picture, decoded — a site moving from any of
// them changes a host name. The longest prefix wins; a key under `/` that merely looks like a prefix stays native.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import imgixCore from '@imgix/js-core';
import { generate as unpicCloudflare } from 'unpic/providers/cloudflare';
import { generate as unpicIpx } from 'unpic/providers/ipx';
import { generate as unpicNextjs } from 'unpic/providers/nextjs';
import sharp from 'sharp';
import { decode, testServer } from '../helpers.ts';

// js-core is CommonJS: Node's ESM interop gives module.exports (the class) where its types say `.default`.
const ImgixClient = ((imgixCore as { default?: unknown }).default ?? imgixCore) as unknown as typeof imgixCore.default;
const PHOTO = 'photos/hato-pigeons.jpg'; // 3082×2048
const DIALECTS = 'native=/,imgproxy=/ip,thumbor=/th,imgix=/ix,cloudflare=/cdn-cgi/image,nextjs=/_next/image,ipx=/_ipx';

/** Mean absolute difference of two images' 32×21 greyscale thumbnails, 0–255. */
async function distance(a: Buffer, b: Buffer): Promise<number> {
  const small = (x: Buffer) => sharp(x).resize(32, 21, { fit: 'fill' }).greyscale().raw().toBuffer();
  const [p, q] = await Promise.all([small(a), small(b)]);
  let sum = 0;
  for (let i = 0; i < p.length; i++) sum += Math.abs(p[i]! - q[i]!);
  return sum / p.length;
}

describe('every dialect at once, each URL from its own client', () => {
  const { app } = testServer({ KINU_DIALECTS: DIALECTS });
  after(() => app.close());
  const get = (url: string, accept = 'image/jpeg,*/*') => app.inject({ url, headers: { accept } });
  const path = (u: string) => {
    const x = new URL(u, 'http://kinu.test');
    return x.pathname + x.search;
  };
  const imgix = new ImgixClient({ domain: 'kinu.test', includeLibraryParam: false });
  const urls: [string, string][] = [
    ['native', `/${PHOTO}?w=400`],
    ['imgproxy', `/ip/insecure/rs:fit:400:0/plain/local:///${PHOTO}`],
    ['thumbor', `/th/unsafe/400x0/${PHOTO}`],
    ['imgix (@imgix/js-core buildURL)', path(imgix.buildURL(PHOTO, { w: 400 }))],
    ['cloudflare (unpic)', path(unpicCloudflare(PHOTO, { width: 400 }, {}).toString())],
    ['nextjs (unpic)', path(unpicNextjs(`/${PHOTO}`, { width: 384 }, {}).toString())],
    ['ipx (unpic)', path(unpicIpx(`/${PHOTO}`, { width: 400 }, {}).toString())],
  ];

  test('the same photo at the asked width from every dialect', async () => {
    const native = (await get(urls[0]![1])).rawPayload;
    for (const [name, url] of urls) {
      const res = await get(url);
      assert.equal(res.statusCode, 200, `${name} ${url}: ${res.body.slice(0, 200)}`);
      const m = await decode(res.rawPayload);
      const want = name.startsWith('nextjs') ? 384 : 400;
      assert.equal(m.width, want, `${name} ${url}`);
      assert.equal(m.height, Math.round((2048 * want) / 3082), `${name} ${url}`);
      assert.ok((await distance(res.rawPayload, native)) < 4, `${name}: the same picture`);
    }
  });

  test('a native key that starts like a prefix is not taken by that dialect', async () => {
    // `/ix` and `/_ipx` own `/ix/…`, `/_ipx/…` (and Next.js its bare path); `/ixx/…` is a native key.
    const res = await get('/ixx/a.jpg?w=10');
    assert.equal(res.statusCode, 404, res.body);
    assert.match(JSON.parse(res.body).detail ?? '', /ixx\/a\.jpg|not found/i);
  });
});
