// The playground's controls and what they mean, both read from kinu/client's generated spec (PARAM_SPEC,
// PARAM_DOCS): which params exist, their kind, range, values and docs. No DOM and no imports, so a Node test
// runs it against the same spec; the page passes the spec in from the served kinu/client module.

/**
 * One control per param of the spec, in the spec's order (the URL order): `select` for enums and flags,
 * `range` for numbers, `text` (with suggestions) for the rest.
 */
export function controlsFor(spec, docs) {
  return Object.entries(spec).map(([name, s]) => ({ name, ...docs[name], control: controlOf(name, s) }));
}

function controlOf(name, s) {
  switch (s.kind) {
    case 'enum':
      return { kind: 'select', options: s.values.map(String) };
    case 'flag':
      return { kind: 'select', options: ['0', '1'] };
    case 'number': {
      const { min, max, places } = s.range;
      // Wide ranges (w 1–8192, blur 0.3–100) on a linear slider leave the useful end a few pixels wide;
      // fractions (wm_scale 0.0001–1) read better linear.
      return { kind: 'range', min, max, step: 1 / 10 ** places, log: min > 0 && max / min > 100 && max > 1 };
    }
    case 'position':
      return { kind: 'text', suggest: s.words, colour: false };
    case 'colour':
      return { kind: 'text', suggest: [], colour: true };
    // The source's images; the server's preset names (the spec knows only their pattern).
    case 'key':
      return { kind: 'text', suggest: 'keys', colour: false };
    case 'string':
      return { kind: 'text', suggest: name === 'preset' ? 'presets' : [], colour: false };
    default:
      return { kind: 'text', suggest: [], colour: false };
  }
}

/** A typed number, or NaN for an empty part (`Number('')` is 0), so kinu/client names the mistake. */
const num = (s) => (s.trim() === '' ? NaN : Number(s));

/**
 * The controls' strings as kinu/client params (`'1'` → true, `'90'` → 90, `'0.3,0.6'` → [0.3, 0.6]); empty
 * strings are left out. Values are not checked here: kinuUrl checks them and says what is wrong.
 */
export function paramsOf(spec, strings) {
  const params = {};
  for (const [name, s] of Object.entries(spec)) {
    const v = strings[name] ?? '';
    if (v !== '') params[name] = paramValue(s, v);
  }
  return params;
}

function paramValue(s, v) {
  switch (s.kind) {
    case 'number':
      return num(v);
    case 'enum':
      return s.values.find((x) => String(x) === v) ?? v;
    case 'flag':
      return v === '1' ? true : v === '0' ? false : v;
    case 'position':
      return s.words.includes(v) ? v : v.split(',').map(num);
    case 'list': {
      const items = v.split(',').map(num);
      return items.length === 1 && s.counts.includes(1) ? items[0] : items;
    }
    default:
      return v;
  }
}
