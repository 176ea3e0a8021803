// Transform.maxBytes (pipeline/max-bytes.ts): imgproxy's saveImageToFitBytes steps (processing/save_fit_bytes.go),
// and an animated output fitted frame for frame.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { nextFitQuality } from '../../src/pipeline/max-bytes.ts';
import { decode, testServer } from '../helpers.ts';

describe('max bytes', () => {
  test('the next quality follows imgproxy: × 0.25 over 3× the budget, × 0.5 over 1.5×, else × 0.75; always lower, ≥ 1', () => {
    assert.equal(nextFitQuality(80, 4.4e4, 1e4), 20);
    assert.equal(nextFitQuality(80, 3e4, 1e4), 40, 'exactly 3× is not over 3×');
    assert.equal(nextFitQuality(80, 1.5e4, 1e4), 60, 'exactly 1.5× is not over 1.5×');
    assert.equal(nextFitQuality(13, 1.2e4, 1e4), 10, 'round(9.75)');
    assert.equal(nextFitQuality(3, 1.1e4, 1e4), 2, 'round(2.25) = 2');
    assert.equal(nextFitQuality(2, 1.1e4, 1e4), 1, 'round(1.5) = 2 is not lower: q − 1');
    assert.equal(nextFitQuality(1, 9e4, 1e4), 1, 'never below 1');
  });

  const { app } = testServer({ KINU_DIALECTS: 'imgproxy=/ip' });
  after(() => app.close());

  test('an animated WebP keeps its frames and size under a budget', async () => {
    const url = (o: string) => `/ip/_/${o}/plain/local:///gif/rotating-earth-44-frames.gif@webp`;
    const plain = await app.inject({ url: url('rs:fit:200:200') });
    const budget = Math.floor(plain.rawPayload.length / 2);
    const res = await app.inject({ url: url(`rs:fit:200:200/mb:${budget}`) });
    assert.equal(res.statusCode, 200, res.body);
    const [a, b] = [await decode(plain.rawPayload), await decode(res.rawPayload)];
    assert.deepEqual([b.format, b.width, b.pageHeight, b.pages], [a.format, a.width, a.pageHeight, a.pages]);
    assert.ok(Number(res.headers['x-kinu-quality']) < 80);
    assert.ok(res.rawPayload.length <= budget || Number(res.headers['x-kinu-quality']) <= 10);
  });
});
