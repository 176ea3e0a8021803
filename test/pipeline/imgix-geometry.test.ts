// imgix's sizes that depend on the original, planned from parsed imgix URLs and checked against the tables and
// examples of imgix's documentation (each cited), output sizes as imgix states them.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { makePlan, type SourceInfo } from '../../src/pipeline/plan.ts';
import { parseImgix } from '../../src/url/imgix/index.ts';

const NONE = { jxl: false, avif: false, webp: false };
const size = (query: string, width: number, height: number): [number, number] => {
  const src: SourceInfo = { format: 'png', width, height, frames: 1, hasAlpha: false };
  const p = makePlan(src, parseImgix(`/ix/a.png?${query}`, { prefix: '/ix' }).transform!, NONE, {
    maxPixels: 1e9,
    maxFrames: 1,
  });
  return [p.width, p.height];
};

describe('imgix geometry, by imgix docs', () => {
  test('fit: clip 300×200 into 100×100 is 100×67 (docs.imgix.com/apis/url/size/fit)', () => {
    assert.deepEqual(size('fit=clip&w=100&h=100', 300, 200), [100, 67]);
    assert.deepEqual(size('fit=crop&w=300&h=100', 300, 200), [300, 100]);
    assert.deepEqual(size('fit=crop&w=200&h=200', 300, 200), [200, 200]);
  });

  test('fillmax canvases, with and without fill-max=source (docs.imgix.com/apis/rendering/fill/fill-max table)', () => {
    const rows: [string, number, number, [number, number], [number, number]][] = [
      ['w=400&h=400', 300, 200, [400, 400], [300, 200]],
      ['w=400&h=150', 300, 200, [400, 150], [300, 150]],
      ['w=400', 300, 200, [400, 267], [300, 200]],
      ['w=800&h=800', 532, 800, [800, 800], [532, 800]],
      ['w=400&h=400', 4200, 2800, [400, 400], [400, 400]],
    ];
    for (const [q, w, h, box, source] of rows) {
      assert.deepEqual(size(`fit=fillmax&${q}`, w, h), box, q);
      assert.deepEqual(size(`fit=fillmax&fill-max=source&${q}`, w, h), source, `${q} fill-max=source`);
    }
  });

  test('max-h / max-w with fit=crop (docs.imgix.com/apis/url/size/max-h and …/max-w examples)', () => {
    // A tall original: w=300 keeps its ratio under max-h=1200, and is cut to 300×300 under max-h=300.
    assert.deepEqual(size('fit=crop&w=300&max-h=1200', 1000, 3000), [300, 900]);
    assert.deepEqual(size('fit=crop&w=300&max-h=300', 1000, 3000), [300, 300]);
    assert.deepEqual(size('fit=crop&h=200&max-w=200', 3000, 1000), [200, 200]);
    assert.deepEqual(size('fit=crop&h=200&min-w=800', 1000, 1000), [800, 200]);
  });

  test('fractions, ar, dpr and rect resolve against the original', () => {
    assert.deepEqual(size('w=600', 300, 200), [600, 400]);
    assert.deepEqual(size('w=600&fit=max', 300, 200), [300, 200]);
    assert.deepEqual(size('w=0.5', 300, 200), [150, 100]);
    assert.deepEqual(size('w=1', 300, 200), [300, 200]);
    assert.deepEqual(size('w=0.5&h=0.25&fit=crop', 400, 400), [200, 100]);
    assert.deepEqual(size('fit=crop&ar=1:1', 300, 200), [200, 200]);
    assert.deepEqual(size('fit=crop&ar=16:9&w=320', 3000, 3000), [320, 180]);
    assert.deepEqual(size('w=100&dpr=2', 3000, 3000), [200, 200]);
    assert.deepEqual(size('rect=center,middle,0.5,0.5', 400, 200), [200, 100]);
  });
});
