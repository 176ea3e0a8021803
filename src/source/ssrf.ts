// The HTTP source's guard against server-side request forgery: an origin (or a redirect, or a DNS answer)
// must not make kinu reach loopback, private, link-local, metadata or otherwise internal addresses unless the
// operator allowed them in KINU_HTTP_ALLOW_NETS. The check runs on the address actually connected to: inside
// the socket's DNS lookup, and for IP-literal hosts (which are never looked up) before connecting.
import type { LookupAddress, LookupAllOptions, lookup as dnsLookup } from 'node:dns';
import { BlockList, isIP } from 'node:net';

type Family = 'ipv4' | 'ipv6';

/** Refused ranges by class, checked in order (the first match names the class). */
const CLASSES: readonly { name: string; nets: readonly [string, number, Family][] }[] = [
  {
    name: 'unspecified',
    nets: [
      ['0.0.0.0', 8, 'ipv4'],
      ['::', 128, 'ipv6'],
    ],
  },
  {
    name: 'loopback',
    nets: [
      ['127.0.0.0', 8, 'ipv4'],
      ['::1', 128, 'ipv6'],
    ],
  },
  {
    name: 'cloud metadata',
    nets: [
      ['169.254.169.254', 32, 'ipv4'],
      ['fd00:ec2::254', 128, 'ipv6'],
    ],
  },
  {
    name: 'link-local',
    nets: [
      ['169.254.0.0', 16, 'ipv4'],
      ['fe80::', 10, 'ipv6'],
    ],
  },
  {
    name: 'private',
    nets: [
      ['10.0.0.0', 8, 'ipv4'],
      ['172.16.0.0', 12, 'ipv4'],
      ['192.168.0.0', 16, 'ipv4'],
      ['fc00::', 7, 'ipv6'], // unique local
      ['fec0::', 10, 'ipv6'], // deprecated site-local
      ['64:ff9b:1::', 48, 'ipv6'], // local-use NAT64: what it reaches is site-defined
    ],
  },
  { name: 'shared (CGNAT)', nets: [['100.64.0.0', 10, 'ipv4']] },
  {
    name: 'multicast',
    nets: [
      ['224.0.0.0', 4, 'ipv4'],
      ['ff00::', 8, 'ipv6'],
    ],
  },
  {
    name: 'reserved',
    nets: [
      ['240.0.0.0', 4, 'ipv4'], // incl. 255.255.255.255
      ['192.0.0.0', 24, 'ipv4'],
      ['192.0.2.0', 24, 'ipv4'],
      ['198.18.0.0', 15, 'ipv4'],
      ['198.51.100.0', 24, 'ipv4'],
      ['203.0.113.0', 24, 'ipv4'],
      ['::', 96, 'ipv6'], // deprecated IPv4-compatible
      ['100::', 64, 'ipv6'],
      ['2001:db8::', 32, 'ipv6'],
    ],
  },
];

const LISTS = CLASSES.map(({ name, nets }) => {
  const list = new BlockList();
  for (const [net, bits, family] of nets) list.addSubnet(net, bits, family);
  return { name, list };
});

export interface AddressGuard {
  /**
   * The class of address this is and why it is refused ("loopback", "private (IPv4-mapped)"), or undefined when
   * allowed. `port` is the port about to be connected to; entries of allowNets that name a port allow that one only.
   */
  refusal(address: string, port?: number): string | undefined;
}

/**
 * `allowNets`: addresses or CIDR blocks let through although their class is refused, each on every port
 * (`127.0.0.0/8`, `::1/128`) or on one (`10.0.0.5:8080`, `[::1]:9000`, `10.0.0.0/8:443`, `[fd00::/8]:443`).
 */
export function createAddressGuard(allowNets: readonly string[]): AddressGuard {
  const anyPort = new BlockList();
  const onPort = new Map<number, BlockList>();
  for (const n of allowNets) {
    const { net, port } = splitPort(n.trim());
    const [ip = '', bits, extra] = net.split('/');
    const v = isIP(ip);
    const max = v === 6 ? 128 : 32;
    if (
      v === 0 ||
      extra !== undefined ||
      (bits !== undefined && !(/^\d{1,3}$/.test(bits) && Number(bits) <= max)) ||
      port === null
    ) {
      throw new Error(
        `"${n}" is not an address or CIDR block, with or without a port (e.g. 10.0.0.0/8, ::1/128, 10.0.0.5:8080, [::1]:9000)`,
      );
    }
    let list = anyPort;
    if (port !== undefined) {
      list = onPort.get(port) ?? new BlockList();
      onPort.set(port, list);
    }
    list.addSubnet(ip, bits === undefined ? max : Number(bits), v === 6 ? 'ipv6' : 'ipv4');
  }
  const allowed = (address: string, family: Family, port: number | undefined) =>
    anyPort.check(address, family) || (port !== undefined && onPort.get(port)?.check(address, family) === true);

  const classify = (address: string, family: Family, port: number | undefined): string | undefined => {
    if (allowed(address, family, port)) return undefined;
    return LISTS.find(({ list }) => list.check(address, family))?.name;
  };

  return {
    refusal(raw, port) {
      const address = raw.replace(/^\[|\]$/g, '').replace(/%.*$/, ''); // brackets, IPv6 zone id
      const v = isIP(address);
      if (v === 4) return classify(address, 'ipv4', port);
      if (v !== 6) return 'not an IP address';
      // An IPv6 form that carries an IPv4 address is judged by that address (unless the IPv6 form itself is allowed).
      const embedded = embeddedIPv4(address);
      if (embedded) {
        if (allowed(address, 'ipv6', port)) return undefined;
        const why = classify(embedded.v4, 'ipv4', port);
        return why && `${why} (${embedded.form})`;
      }
      return classify(address, 'ipv6', port);
    },
  };
}

/** `[v6]:port`, `v4:port` (CIDR blocks too) or a plain entry; port null when one is given but is not 1–65535. */
function splitPort(entry: string): { net: string; port?: number | null } {
  const bracketed = /^\[([^\]]*)\](?::(.*))?$/.exec(entry);
  const [net, port] = bracketed
    ? [bracketed[1]!, bracketed[2]]
    : entry.split(':').length === 2
      ? (entry.split(':') as [string, string])
      : [entry, undefined];
  if (port === undefined) return { net };
  return { net, port: /^\d{1,5}$/.test(port) && Number(port) >= 1 && Number(port) <= 65535 ? Number(port) : null };
}

/** The IPv4 address inside IPv4-mapped, IPv4-translated, NAT64 (64:ff9b::/96) and 6to4 (2002::/16) addresses. */
export function embeddedIPv4(address: string): { v4: string; form: string } | undefined {
  const g = ipv6Groups(address);
  if (!g) return undefined;
  const v4 = (hi: number, lo: number) => `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
  const zero = (from: number, to: number) => g.slice(from, to).every((x) => x === 0);
  if (zero(0, 5) && g[5] === 0xffff) return { v4: v4(g[6]!, g[7]!), form: 'IPv4-mapped' };
  if (zero(0, 4) && g[4] === 0xffff && g[5] === 0) return { v4: v4(g[6]!, g[7]!), form: 'IPv4-translated' };
  if (g[0] === 0x64 && g[1] === 0xff9b && zero(2, 6)) return { v4: v4(g[6]!, g[7]!), form: 'NAT64' };
  if (g[0] === 0x2002) return { v4: v4(g[1]!, g[2]!), form: '6to4' };
  return undefined;
}

/** The eight 16-bit groups of a valid IPv6 address (`::`, trailing dotted quads). */
function ipv6Groups(address: string): number[] | undefined {
  if (isIP(address) !== 6) return undefined;
  let s = address;
  const quad = /^(.*:)(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(s);
  if (quad) {
    const [a, b, c, d] = quad.slice(2).map(Number) as [number, number, number, number];
    s = `${quad[1]}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const halves = s.split('::');
  const part = (p: string | undefined) => (p ? p.split(':') : []);
  const head = part(halves[0]);
  const tail = part(halves[1]);
  const groups =
    halves.length === 2 ? [...head, ...Array<string>(8 - head.length - tail.length).fill('0'), ...tail] : head;
  return groups.length === 8 ? groups.map((x) => parseInt(x, 16)) : undefined;
}

type LookupFn = typeof dnsLookup;
type Callback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/**
 * A `lookup` for http.request / net.connect that resolves through `resolve` and fails with `refuse(address,
 * class)` when any resolved address is refused: the addresses handed to the socket are exactly the ones checked.
 * `port`: the port the socket will connect to (a lookup is not told). Answers in both shapes net asks for: one address, or all of them (`{ all: true }`, as Node 20's
 * autoSelectFamily does). A mixed answer (one public, one private address) is refused as a whole.
 */
export function guardedLookup(
  guard: AddressGuard,
  resolve: LookupFn,
  refuse: (address: string, why: string) => Error,
  port?: number,
): LookupFn {
  const fn = (hostname: string, options: unknown, callback?: unknown) => {
    const cb = (typeof options === 'function' ? options : callback) as Callback;
    const opts: { all?: boolean } =
      typeof options === 'number' ? { family: options } : typeof options === 'object' && options ? options : {};
    const wantsAll = opts.all === true;
    resolve(hostname, { ...opts, all: true } as LookupAllOptions, (err, addresses) => {
      if (err) return cb(err, wantsAll ? [] : '');
      if (addresses.length === 0)
        return cb(
          Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND', hostname }),
          wantsAll ? [] : '',
        );
      for (const a of addresses) {
        const why = guard.refusal(a.address, port);
        if (why) return cb(refuse(a.address, why), wantsAll ? [] : '');
      }
      if (wantsAll) cb(null, addresses);
      else cb(null, addresses[0]!.address, addresses[0]!.family);
    });
  };
  return fn as unknown as LookupFn;
}
