// Progressive JPEG where a peer's URL asks for it: imgix `fm=pjpg` (docs.imgix.com/apis/rendering/format/fm:
// "pjpg: progressive JPEG") and Cloudflare's `format=jpeg` (developers.cloudflare.com/images/transform-images/
// transform-via-url/#format: "jpeg: generate images in progressive JPEG format", `baseline-jpeg` the other). The
// pixels are the baseline's; the file is read as a progressive scan (sharp's isProgressive, from libjpeg).
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import sharp from 'sharp';
import { encodeToFit } from '../../src/pipeline/max-bytes.ts';
import { corpus, testServer } from '../helpers.ts';

const PHOTO = 'photos/hato-pigeons.jpg';

describe('progressive JPEG from the dialects that name it', () => {
  const { app } = testServer({ KINU_DIALECTS: 'native=/,imgix=/ix,cloudflare=/cdn-cgi/image' });
  after(() => app.close());
  const scan = async (url: string) => {
    const res = await app.inject({ url });
    assert.equal(res.statusCode, 200, `${url}: ${res.body}`);
    const m = await sharp(res.rawPayload).metadata();
    assert.equal(m.format, 'jpeg', url);
    assert.equal(m.width, 200, url);
    return { progressive: m.isProgressive, body: res.rawPayload, etag: res.headers.etag };
  };

  test('imgix fm=pjpg is progressive, fm=jpg baseline; the same picture', async () => {
    const p = await scan(`/ix/${PHOTO}?w=200&fm=pjpg`);
    const b = await scan(`/ix/${PHOTO}?w=200&fm=jpg`);
    assert.equal(p.progressive, true);
    assert.equal(b.progressive, false);
    assert.notEqual(p.etag, b.etag, 'two variants, two cache entries');
    const [x, y] = await Promise.all([p.body, b.body].map((j) => sharp(j).raw().toBuffer()));
    let diff = 0;
    for (let i = 0; i < x!.length; i++) diff += Math.abs(x![i]! - y![i]!);
    assert.ok(diff / x!.length < 1, `mean difference ${diff / x!.length}`);
  });

  test("Cloudflare's format=jpeg is progressive, baseline-jpeg is not; native JPEG stays baseline", async () => {
    assert.equal((await scan(`/cdn-cgi/image/width=200,format=jpeg/${PHOTO}`)).progressive, true);
    assert.equal((await scan(`/cdn-cgi/image/width=200,format=baseline-jpeg/${PHOTO}`)).progressive, false);
    assert.equal((await scan(`/${PHOTO}?w=200`)).progressive, false);
  });

  test('a byte budget (encodeToFit) keeps the option through its quality steps', async () => {
    const img = sharp(corpus(PHOTO)).resize(200);
    const out = await encodeToFit(img, 'jpeg', 90, 4000, undefined, () => {}, { progressive: true });
    assert.ok(out.quality < 90, `stepped down to q${out.quality}`);
    assert.equal((await sharp(out.data).metadata()).isProgressive, true);
  });
});
