// thumbor's max_age(seconds) (thumbor/filters/max_age.py, handlers/__init__.py _write_results_to_client):
// Cache-Control `max-age=N,public` and an Expires for that one answer. It is per request, no part of the cache
// key, so a URL with it shares the variant (and ETag) of the URL without it, and the fast path leaves it to the route.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { testServer } from '../helpers.ts';
import { listen, raw } from './fakes.ts';

const { app } = testServer({ KINU_DIALECTS: 'thumbor=/th' });
after(() => app.close());
const IMAGE = 'photos/hato-pigeons.jpg';

test('tests/filters/test_max_age.py test_max_age_url: max_age(30) gives max-age=30,public and an Expires, on a memory hit too', async () => {
  const port = await listen(app);
  const plainUrl = `/th/unsafe/20x15/${IMAGE}`;
  const first = await raw(port, plainUrl);
  assert.equal(first.status, 200);
  const plain = await raw(port, plainUrl); // now a memory hit, which the fast path answers
  assert.equal(plain.headers['x-kinu-cache'], 'memory');
  const standard = plain.headers['cache-control'];
  assert.ok(standard && !String(standard).includes('max-age=30'), String(standard));

  const aged = await raw(port, `/th/unsafe/20x15/filters:max_age(30)/${IMAGE}`);
  assert.equal(aged.status, 200);
  assert.equal(aged.headers['cache-control'], 'max-age=30,public');
  assert.ok(aged.headers.expires, 'Expires is sent');
  // The same variant: the filter is not in the cache key.
  assert.equal(aged.headers['x-kinu-cache'], 'memory');
  assert.equal(aged.headers.etag, plain.headers.etag);
  assert.ok(aged.body.equals(plain.body));

  // A revalidation says the same lifetime.
  const revalidated = await raw(port, `/th/unsafe/20x15/filters:max_age(30)/${IMAGE}`, 'GET', {
    'if-none-match': String(plain.headers.etag),
  });
  assert.equal(revalidated.status, 304);
  assert.equal(revalidated.headers['cache-control'], 'max-age=30,public');

  // thumbor sends no Cache-Control for 0; kinu, which sends Last-Modified, says no-cache.
  const zero = await raw(port, `/th/unsafe/20x15/filters:max_age(0)/${IMAGE}`);
  assert.equal(zero.headers['cache-control'], 'no-cache');
  assert.equal(zero.headers.expires, undefined);

  // The URL without the filter is untouched by the others (the fast path's shared header block).
  const again = await raw(port, plainUrl);
  assert.equal(again.headers['cache-control'], standard);
  assert.equal(again.headers.expires, undefined);
});

test('max_age with a negative or non-integer number of seconds is a 400', async () => {
  for (const f of ['max_age(-1)', 'max_age(1.5)', 'max_age()']) {
    const res = await app.inject({ url: `/th/unsafe/filters:${f}/${IMAGE}` });
    assert.equal(res.statusCode, 400, f);
    assert.match(res.json().detail, /^filter max_age:/, f);
  }
});
