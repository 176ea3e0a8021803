// imgix's query string as its renderer reads it: names through imgix's aliases, `<name>64` values in base64url,
// `auto` combined across repeats, the last of any other repeat. Names imgix does not know are ignored, as imgix
// ignores them; names it knows that kinu cannot honour are refused by name (apply.ts).
import { clip, KinuError } from '../../errors.ts';

// imgix-url-params dist/parameters.json (v11.35.0): every parameter imgix documents, and its aliases.
const KNOWN = new Set(
  (
    'ar auto bg bg-remove bg-remove-fallback bg-remove-fg-type bg-remove-semi-transparency ' +
    'bg-remove-transparency-threshold bg-replace bg-replace-fallback bg-replace-neg-prompt blend blend-align ' +
    'blend-alpha blend-color blend-crop blend-fit blend-h blend-mode blend-pad blend-size blend-w blend-x blend-y blur ' +
    'border border-bottom border-left border-radius border-radius-inner border-right border-stroke-color ' +
    'border-stroke-size border-top bri ch chromasub colorquant colors con corner-radius crop cs dl dpi dpr duotone ' +
    'duotone-alpha exp expires face-blur face-pixel faceindex facepad faces fill fill-color fill-max fill-gen-fallback ' +
    'fill-gen-neg-prompt fill-gen-pos fill-gen-prompt fill-gen-seed fill-gradient-cs fill-gradient-linear ' +
    'fill-gradient-linear-direction fill-gradient-radial fill-gradient-radial-radius fill-gradient-radial-x ' +
    'fill-gradient-radial-y fill-gradient-type fit flip fm fp-debug fp-x fp-y fp-z fps frame gam grid-colors grid-size ' +
    'h high htn hue interval invert iptc jpg-progressive loop lossless lp-blur mark mark-align mark-alpha mark-base ' +
    'mark-fit mark-h mark-if-min-height mark-if-min-width mark-pad mark-rot mark-scale mark-tile mark-w mark-x mark-y ' +
    'mask mask-bg max-h max-w min-h min-w monochrome nr nrs object-removal-negative-prompt object-removal-prompt ' +
    'object-removal-rect object-removal-seed orient pad pad-bottom pad-left pad-right pad-top page palette ' +
    'pdf-annotation prefix px q rasterize-bypass rect reverse rot rot-type sat sepia shad sharp skip svg-sanitize ' +
    'transparency trim trim-alpha trim-color trim-md trim-pad trim-sd trim-tol txt txt-align txt-clip txt-color txt-fit ' +
    'txt-font txt-lead txt-line txt-line-color txt-pad txt-shad txt-size txt-track txt-width txt-x txt-y upscale ' +
    'upscale-fallback usm usmrad vib video-bitrate video-clip-end video-clip-start video-codec video-thumbnail w'
  ).split(' '),
);

const ALIASES: Readonly<Record<string, string>> = {
  f: 'fit',
  width: 'w',
  height: 'h',
  'max-height': 'max-h',
  'max-width': 'max-w',
  'min-height': 'min-h',
  'min-width': 'min-w',
  fillcolor: 'fill-color',
  mono: 'monochrome',
  or: 'orient',
  inv: 'invert',
  'jpeg-progressive': 'jpg-progressive',
  m: 'mark',
  ma: 'mark-align',
  markalign: 'mark-align',
  markalpha: 'mark-alpha',
  malph: 'mark-alpha',
  mb: 'mark-base',
  markbase: 'mark-base',
  mf: 'mark-fit',
  markfit: 'mark-fit',
  mh: 'mark-h',
  markh: 'mark-h',
  mp: 'mark-pad',
  markpad: 'mark-pad',
  ms: 'mark-scale',
  markscale: 'mark-scale',
  mtile: 'mark-tile',
  marktile: 'mark-tile',
  mw: 'mark-w',
  markw: 'mark-w',
  mx: 'mark-x',
  markx: 'mark-x',
  my: 'mark-y',
  marky: 'mark-y',
  trimcolor: 'trim-color',
  trimmd: 'trim-md',
  trimpad: 'trim-pad',
  trimsd: 'trim-sd',
  trimtol: 'trim-tol',
  rottype: 'rot-type',
  rott: 'rot-type',
  b: 'blend',
  'face-pixelate': 'face-pixel',
  'license-plate-blur': 'lp-blur',
};

/** imgix's parameters of one URL, by canonical name; `s` (the signature) is left out. */
export type ImgixQuery = ReadonlyMap<string, string>;

export function parseQuery(segments: readonly string[]): ImgixQuery {
  const out = new Map<string, string>();
  for (const seg of segments) {
    if (seg === '') continue;
    const eq = seg.indexOf('=');
    let name: string;
    let value: string;
    try {
      name = decodeURIComponent(eq < 0 ? seg : seg.slice(0, eq)).toLowerCase();
      value = decodeURIComponent((eq < 0 ? '' : seg.slice(eq + 1)).replaceAll('+', ' '));
    } catch {
      throw new KinuError('invalid_param', `${clip(seg, 32)}: malformed percent-encoding`);
    }
    if (name === 's') continue;
    // Any string parameter may be sent as <name>64 with a base64url value (js-core's Base64.encodeURI).
    if (name.endsWith('64') && known(name.slice(0, -2))) {
      name = name.slice(0, -2);
      value = Buffer.from(value, 'base64url').toString('utf8');
    }
    name = ALIASES[name] ?? name;
    if (!KNOWN.has(name)) continue;
    const prev = out.get(name);
    out.set(name, name === 'auto' && prev !== undefined ? `${prev},${value}` : value);
  }
  return out;
}

const known = (name: string) => KNOWN.has(ALIASES[name] ?? name);
