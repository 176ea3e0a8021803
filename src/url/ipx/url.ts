// ipx's path, as its server.ts splits it (createIPXH3Handler): /<modifiers>/<id>. Modifiers are separated by
// `&` or `,`, a name from its value by the first `:`, `=` or `_` (the value's own parts then joined by `_`);
// `_` alone means none. The id is the rest of the path, percent-decoded once: a key or an absolute URL.
import { KinuError } from '../../errors.ts';

const MODIFIER_SEP = /[&,]/;
const VALUE_SEP = /[:=_]/;

export interface IpxPath {
  /** Name → raw value ('' for a bare name), in ipx's object order: first appearance, last value. */
  readonly modifiers: ReadonlyMap<string, string>;
  /** The decoded id: a key (leading slashes kept) or an absolute URL. */
  readonly id: string;
}

/** `path` is the part after the mount prefix and its slash. */
export function splitIpxPath(path: string): IpxPath {
  const slash = path.indexOf('/');
  const modifiersString = slash < 0 ? path : path.slice(0, slash);
  const id = decode(slash < 0 ? '' : path.slice(slash + 1));
  if (modifiersString === '')
    throw new KinuError('invalid_param', 'modifiers: missing; write /<modifiers>/<id>, `_` for none');
  if (id === '' || id === '/') throw new KinuError('invalid_key', 'id: missing; write /<modifiers>/<id>');
  const modifiers = new Map<string, string>();
  if (modifiersString !== '_') {
    for (const part of modifiersString.split(MODIFIER_SEP)) {
      const [name = '', ...values] = part.split(VALUE_SEP);
      modifiers.set(name, values.map(decode).join('_'));
    }
  }
  return { modifiers, id };
}

// ufo's decode: percent-decoding that leaves malformed input as it is, as ipx does.
function decode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
