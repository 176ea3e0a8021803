import assert from 'node:assert/strict';
import type { LookupAddress, lookup as dnsLookup } from 'node:dns';
import { describe, test } from 'node:test';
import { createAddressGuard, embeddedIPv4, guardedLookup } from '../../src/source/ssrf.ts';

const REFUSED: [string, string][] = [
  ['127.0.0.1', 'loopback'],
  ['127.255.1.2', 'loopback'],
  ['::1', 'loopback'],
  ['0.0.0.0', 'unspecified'],
  ['0.1.2.3', 'unspecified'],
  ['::', 'unspecified'],
  ['10.1.2.3', 'private'],
  ['172.16.0.1', 'private'],
  ['172.31.255.255', 'private'],
  ['192.168.1.1', 'private'],
  ['fc00::1', 'private'],
  ['fd12:3456::1', 'private'],
  ['169.254.169.254', 'cloud metadata'],
  ['fd00:ec2::254', 'cloud metadata'],
  ['169.254.1.1', 'link-local'],
  ['fe80::1', 'link-local'],
  ['fe80::1%eth0', 'link-local'],
  ['100.64.0.1', 'shared (CGNAT)'],
  ['100.127.255.254', 'shared (CGNAT)'],
  ['224.0.0.1', 'multicast'],
  ['239.255.255.250', 'multicast'],
  ['ff02::1', 'multicast'],
  ['240.0.0.1', 'reserved'],
  ['255.255.255.255', 'reserved'],
  ['::7f00:1', 'reserved'],
  ['::ffff:127.0.0.1', 'loopback (IPv4-mapped)'],
  ['::ffff:7f00:1', 'loopback (IPv4-mapped)'],
  ['0:0:0:0:0:ffff:a9fe:a9fe', 'cloud metadata (IPv4-mapped)'],
  ['::ffff:10.0.0.1', 'private (IPv4-mapped)'],
  ['::ffff:0:127.0.0.1', 'loopback (IPv4-translated)'],
  ['64:ff9b::127.0.0.1', 'loopback (NAT64)'],
  ['64:ff9b::a9fe:a9fe', 'cloud metadata (NAT64)'],
  ['64:ff9b::c0a8:101', 'private (NAT64)'],
  ['64:ff9b:1::1', 'private'],
  ['2002:7f00:1::1', 'loopback (6to4)'],
  ['[::1]', 'loopback'],
  ['localhost', 'not an IP address'],
];

const ALLOWED = [
  '8.8.8.8',
  '1.1.1.1',
  '172.32.0.1',
  '100.128.0.1',
  '169.255.0.1',
  '2606:4700:4700::1111',
  '::ffff:8.8.8.8',
  '64:ff9b::808:808',
  '2002:808:808::1',
];

describe('SSRF address guard', () => {
  const guard = createAddressGuard([]);

  for (const [address, why] of REFUSED) {
    test(`refuses ${address} as ${why}`, () => {
      assert.equal(guard.refusal(address), why);
    });
  }

  test('lets public addresses through, also in their IPv4-mapped, NAT64 and 6to4 forms', () => {
    for (const a of ALLOWED) assert.equal(guard.refusal(a), undefined, a);
  });

  test('allowNets lets exactly the listed blocks through, IPv4-mapped forms included', () => {
    const g = createAddressGuard(['127.0.0.0/8', '::1/128', '10.0.0.5']);
    assert.equal(g.refusal('127.0.0.1'), undefined);
    assert.equal(g.refusal('127.9.9.9'), undefined);
    assert.equal(g.refusal('::1'), undefined);
    assert.equal(g.refusal('::ffff:127.0.0.1'), undefined);
    assert.equal(g.refusal('10.0.0.5'), undefined);
    assert.equal(g.refusal('10.0.0.6'), 'private');
    assert.equal(g.refusal('169.254.169.254'), 'cloud metadata');
    assert.equal(g.refusal('fe80::1'), 'link-local');
  });

  test('a malformed allowNets entry is refused at start', () => {
    assert.throws(() => createAddressGuard(['10.0.0.0/33']), /not an address or CIDR/);
    assert.throws(() => createAddressGuard(['example.com']), /not an address or CIDR/);
  });

  test('embeddedIPv4 reads the IPv4 address inside the IPv6 forms that carry one', () => {
    assert.deepEqual(embeddedIPv4('::ffff:1.2.3.4'), { v4: '1.2.3.4', form: 'IPv4-mapped' });
    assert.deepEqual(embeddedIPv4('64:ff9b::102:304'), { v4: '1.2.3.4', form: 'NAT64' });
    assert.deepEqual(embeddedIPv4('2002:102:304::'), { v4: '1.2.3.4', form: '6to4' });
    assert.equal(embeddedIPv4('2001:db8::1'), undefined);
    assert.equal(embeddedIPv4('1.2.3.4'), undefined);
  });
});

describe('guarded lookup', () => {
  const fake = (answers: LookupAddress[]) => {
    const calls: unknown[] = [];
    const fn = (_host: string, options: unknown, cb: (err: Error | null, addresses: LookupAddress[]) => void) => {
      calls.push(options);
      setImmediate(() => cb(null, answers));
    };
    return { calls, fn: fn as unknown as typeof dnsLookup };
  };
  const refuse = (address: string, why: string) => new Error(`refused ${address} ${why}`);
  const call = (lookup: typeof dnsLookup, options: object) =>
    new Promise<{ err: Error | null; address: unknown; family: unknown }>((resolve) => {
      (lookup as unknown as (h: string, o: object, cb: (e: Error | null, a: unknown, f?: unknown) => void) => void)(
        'img.example',
        options,
        (err, address, family) => resolve({ err, address, family }),
      );
    });

  test('answers { all: true } with every checked address, and a plain call with the first', async () => {
    const dns = fake([
      { address: '93.184.216.34', family: 4 },
      { address: '2606:2800:220:1::1', family: 6 },
    ]);
    const lookup = guardedLookup(createAddressGuard([]), dns.fn, refuse);
    const all = await call(lookup, { all: true, hints: 32 });
    assert.equal(all.err, null);
    assert.deepEqual(all.address, [
      { address: '93.184.216.34', family: 4 },
      { address: '2606:2800:220:1::1', family: 6 },
    ]);
    const one = await call(lookup, { family: 0 });
    assert.deepEqual([one.err, one.address, one.family], [null, '93.184.216.34', 4]);
    // The resolver is always asked for every address, so none escapes the check.
    assert.ok(dns.calls.every((o) => (o as { all?: boolean }).all === true));
  });

  test('refuses the whole answer when any address in it is refused', async () => {
    const dns = fake([
      { address: '93.184.216.34', family: 4 },
      { address: '127.0.0.1', family: 4 },
    ]);
    const lookup = guardedLookup(createAddressGuard([]), dns.fn, refuse);
    for (const options of [{ all: true }, {}]) {
      const r = await call(lookup, options);
      assert.match(String(r.err), /refused 127\.0\.0\.1 loopback/);
    }
  });

  test('passes resolver errors through', async () => {
    const failing = ((_h: string, _o: unknown, cb: (e: Error) => void) =>
      cb(Object.assign(new Error('nope'), { code: 'ENOTFOUND' }))) as unknown as typeof dnsLookup;
    const r = await call(guardedLookup(createAddressGuard([]), failing, refuse), { all: true });
    assert.equal((r.err as NodeJS.ErrnoException).code, 'ENOTFOUND');
  });
});
