// The imgix dialect end to end: URLs built by imgix's own @imgix/js-core (buildURL, buildSrcSet fixed and fluid,
// signed) and by unpic's imgix provider, rendered and decoded: sizes by imgix's arithmetic
// (docs.imgix.com/apis/rendering/size/fit: clip fits, crop fills, max never enlarges), formats, pixels.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import imgixCore from '@imgix/js-core';
import { transform } from 'unpic/providers/imgix';
import sharp from 'sharp';
import { decode, testServer } from '../helpers.ts';

// js-core is CommonJS: Node's ESM interop gives module.exports (the class) where its types say `.default`.
const ImgixClient = ((imgixCore as { default?: unknown }).default ?? imgixCore) as unknown as typeof imgixCore.default;

const PHOTO = 'photos/hato-pigeons.jpg'; // 3082×2048
const raw = async (body: Buffer) => {
  const { data, info } = await sharp(body).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { at: (x: number, y: number) => [...data.subarray((y * info.width + x) * 3, (y * info.width + x) * 3 + 3)] };
};
const local = (url: string) => {
  const u = new URL(url);
  return `/ix${u.pathname}${u.search}`;
};

describe('imgix URLs from js-core and unpic, rendered', () => {
  const { app } = testServer({
    KINU_DIALECTS: 'native=/,imgix=/ix',
    KINU_IMGIX_TOKEN: 'tok3n',
    KINU_UNSIGNED_DIALECTS: 'native',
  });
  after(() => app.close());
  const client = new ImgixClient({ domain: 'example.imgix.net', secureURLToken: 'tok3n' });
  const get = async (url: string, accept = 'image/jpeg') => {
    const r = await app.inject({ url, headers: { accept } });
    assert.equal(r.statusCode, 200, `${url}: ${r.body.slice(0, 300)}`);
    return { r, m: await decode(r.rawPayload) };
  };

  test('buildURL w&h (clip fits, not crops); fit=crop fills; fit=max keeps the source size', async () => {
    const clip = await get(local(client.buildURL(PHOTO, { w: 300, h: 300 })));
    assert.deepEqual([clip.m.width, clip.m.height, clip.m.format], [300, 199, 'jpeg']);
    const crop = await get(local(client.buildURL(PHOTO, { w: 300, h: 300, fit: 'crop', crop: 'left' })));
    assert.deepEqual([crop.m.width, crop.m.height], [300, 300]);
    const max = await get(local(client.buildURL(PHOTO, { w: 4000, h: 4000, fit: 'max' })));
    assert.deepEqual([max.m.width, max.m.height], [3082, 2048]);
  });

  test('fractions, ar with fit=crop, fillmax canvas, pad inside the box', async () => {
    const half = await get(local(client.buildURL(PHOTO, { w: 0.1 })));
    assert.deepEqual([half.m.width, half.m.height], [308, 205]);
    const ar = await get(local(client.buildURL(PHOTO, { w: 200, ar: '1:2', fit: 'crop' })));
    assert.deepEqual([ar.m.width, ar.m.height], [200, 400]);
    const fm = await get(
      local(client.buildURL('png/rgba.png', { w: 200, h: 150, fit: 'fillmax', 'fill-color': 'f00', fm: 'png' })),
    );
    assert.deepEqual([fm.m.width, fm.m.height], [200, 150]);
    // The 128×128 original is not enlarged: centred on the 200×150 canvas of fill-color.
    const { data } = await sharp(fm.r.rawPayload).raw().toBuffer({ resolveWithObject: true });
    assert.deepEqual([...data.subarray((75 * 200 + 5) * 4, (75 * 200 + 5) * 4 + 4)], [255, 0, 0, 255]);
    assert.notDeepEqual([...data.subarray((75 * 200 + 100) * 4, (75 * 200 + 100) * 4 + 3)], [255, 0, 0]);
    // Padding sits inside the box: 280 px of image (186 high) plus 10 px each side, not kinu's 320 × 206.
    const pad = await get(local(client.buildURL(PHOTO, { w: 300, pad: 10 })));
    assert.deepEqual([pad.m.width, pad.m.height], [300, 206]);
  });

  test('clip enlarges; rect fractions and fp-z cut what the native crop cuts', async () => {
    const up = await get(local(client.buildURL('png/rgba.png', { w: 256 })));
    assert.deepEqual([up.m.width, up.m.height], [256, 256]);
    const same = async (imgix: Record<string, string | number>, native: string) => {
      const a = await get(local(client.buildURL(PHOTO, { ...imgix, fm: 'png' })));
      const b = await app.inject({ url: `/${PHOTO}?${native}&fmt=png` });
      assert.deepEqual(
        [a.m.width, a.m.height],
        [(await decode(b.rawPayload)).width, (await decode(b.rawPayload)).height],
      );
      const [x, y] = [await raw(a.r.rawPayload), await raw(b.rawPayload)];
      for (const [u, v] of [
        [0, 0],
        [0.5, 0.5],
        [0.9, 0.2],
        [0.2, 0.9],
        [0.99, 0.99],
      ] as const) {
        const [px, py] = [Math.floor(u * a.m.width!), Math.floor(v * a.m.height!)];
        assert.deepEqual(x.at(px, py), y.at(px, py), `pixel ${px},${py}`);
      }
    };
    await same({ rect: '0.5,0.5,0.5,0.5', w: 200 }, 'crop=1541,1024,1541,1024&w=200');
    // fp-z=2 at the top-left corner: half the 2048 px square cover would keep, from (0,0).
    await same(
      { w: 100, h: 100, fit: 'crop', crop: 'focalpoint', 'fp-x': 0, 'fp-y': 0, 'fp-z': 2 },
      'crop=0,0,1024,1024&w=100&h=100',
    );
  });

  test('mark: bottom-right with a 5 px gap; dl: attachment; fm=json; a URL outside the source is 404', async () => {
    const plain = await get(local(client.buildURL(PHOTO, { w: 300, fm: 'png' })));
    const marked = await get(
      local(client.buildURL(PHOTO, { w: 300, fm: 'png', mark: '/png/rgba.png', 'mark-scale': 20 })),
    );
    // rgba.png at 20% of 300 px is 60×60, 5 px from the right and bottom edges: only that square changes.
    const [p, m] = [await raw(plain.r.rawPayload), await raw(marked.r.rawPayload)];
    const differs = (x: number, y: number) => p.at(x, y).some((v, i) => Math.abs(v - m.at(x, y)[i]!) > 8);
    assert.ok(differs(300 - 5 - 30, 199 - 5 - 30), 'inside the mark');
    assert.ok(!differs(300 - 3, 199 - 3) && !differs(300 - 5 - 62, 199 - 5 - 30) && !differs(10, 10), 'outside it');
    const dl = await get(local(client.buildURL(PHOTO, { w: 50, dl: 'pigeons.jpg' })));
    assert.match(String(dl.r.headers['content-disposition']), /^attachment; filename="pigeons\.jpe?g"/);
    const json = await app.inject({ url: local(client.buildURL(PHOTO, { w: 50, fm: 'json' })) });
    assert.equal(json.statusCode, 200);
    assert.equal(JSON.parse(json.body).width, 50);
    const proxied = await app.inject({ url: local(client.buildURL('https://example.com/a.jpg', { w: 10 })) });
    assert.equal(proxied.statusCode, 404);
  });

  test('buildSrcSet fixed (dpr 1–5, variable q) and fluid: every URL renders at its width', async () => {
    const fixed = client.buildSrcSet(PHOTO, { w: 100, fm: 'webp' }).split(',\n');
    assert.equal(fixed.length, 5);
    for (const [i, entry] of fixed.entries()) {
      const { m } = await get(local(entry.split(' ')[0]!));
      assert.deepEqual([m.width, m.format], [100 * (i + 1), 'webp']);
    }
    const fluid = client.buildSrcSet(PHOTO, { auto: 'format' }, { minWidth: 300, maxWidth: 600 }).split(',\n');
    for (const entry of fluid) {
      const [url, w] = entry.split(' ');
      const { r, m } = await get(local(url!), 'image/avif,image/webp,*/*');
      assert.deepEqual([m.width, m.format], [Number.parseInt(w!, 10), 'heif']);
      assert.match(String(r.headers.vary), /Accept/);
    }
  });

  test('unpic imgix transformer URLs (fit=min, auto=format) render, unsigned server', async () => {
    const { app: open } = testServer({ KINU_DIALECTS: 'native=/,imgix=/ix' });
    try {
      const url = transform(`https://example.imgix.net/${PHOTO}`, { width: 400, height: 300 }) as string;
      const r = await open.inject({ url: local(url), headers: { accept: 'image/webp' } });
      assert.equal(r.statusCode, 200, r.body);
      const m = await decode(r.rawPayload);
      assert.deepEqual([m.width, m.height, m.format], [400, 300, 'webp']);
    } finally {
      await open.close();
    }
  });

  test('fit=clamp: fitted inside the box like fit=fill, the rest of the box its edge pixels repeated', async () => {
    // docs.imgix.com/apis/rendering/size/fit#fit-clamp: "fit within the width and height dimensions without cropping
    // or distorting the image, and the remaining space is filled with extended pixels from the edge of the image.
    // The resulting image will match the constraining dimensions."
    const rgb = async (params: Record<string, string | number>) => {
      const { r, m } = await get(local(client.buildURL('png/palette-photo.png', { ...params, fm: 'png' })));
      const { data, info } = await sharp(r.rawPayload).removeAlpha().raw().toBuffer({ resolveWithObject: true });
      const at = (x: number, y: number) => [...data.subarray((y * info.width + x) * 3, (y * info.width + x) * 3 + 3)];
      return { m, at };
    };
    // 290×442 into 200×100: 66×100 of image (as fit=fill), columns 67–132; into 100×200: 100×152, rows 24–175.
    for (const [w, h, horizontal] of [
      [200, 100, true],
      [100, 200, false],
    ] as const) {
      const clamp = await rgb({ w, h, fit: 'clamp' });
      const fill = await rgb({ w, h, fit: 'fill', 'fill-color': 'f0f' });
      assert.deepEqual([clamp.m.width, clamp.m.height], [w, h]);
      const magenta = [255, 0, 255];
      // The image's span: fit=fill's non-magenta pixels along the middle line.
      const line = horizontal ? w : h;
      const mid = (i: number) => (horizontal ? [i, h / 2] : [w / 2, i]) as [number, number];
      const inside = Array.from({ length: line }, (_, i) => i).filter(
        (i) => JSON.stringify(fill.at(...mid(i))) !== JSON.stringify(magenta),
      );
      const [first, last] = [inside[0]!, inside.at(-1)!];
      assert.ok(first > 0 && last < line - 1);
      const across = horizontal ? h : w;
      for (let j = 0; j < across; j += 7) {
        const xy = (i: number) => (horizontal ? [i, j] : [j, i]) as [number, number];
        // the same image where fit=fill puts it
        for (const i of [first, (first + last) >> 1, last]) assert.deepEqual(clamp.at(...xy(i)), fill.at(...xy(i)));
        // and its edge pixels repeated out to the box
        for (const i of [0, first - 1]) assert.deepEqual(clamp.at(...xy(i)), clamp.at(...xy(first)));
        for (const i of [last + 1, line - 1]) assert.deepEqual(clamp.at(...xy(i)), clamp.at(...xy(last)));
      }
    }
    // an animation: every frame fills the box by itself
    const gif = await get(local(client.buildURL('gif/animated-loop-3.gif', { w: 100, h: 200, fit: 'clamp' })));
    assert.deepEqual([gif.m.format, gif.m.width, gif.m.pageHeight, gif.m.pages], ['gif', 100, 200, 10]);
  });

  test('an unsigned URL is 403 while a token is set; blur=50 is mild (sigma 5), blur=500 is not', async () => {
    const r = await app.inject({ url: `/ix/${PHOTO}?w=100` });
    assert.equal(r.statusCode, 403);
    // Mild: a 300 px wide blur=50 keeps more of the sharp image's contrast than blur=500.
    const spread = async (blur: number) => {
      const { r: res } = await get(local(client.buildURL(PHOTO, { w: 300, blur, fm: 'png' })));
      const s = await sharp(res.rawPayload).greyscale().stats();
      return s.channels[0]!.stdev;
    };
    const [none, mild, heavy] = [await spread(0), await spread(50), await spread(500)];
    assert.ok(none > mild && mild > heavy, `${none} > ${mild} > ${heavy}`);
  });
});
