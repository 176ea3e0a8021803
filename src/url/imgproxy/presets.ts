// imgproxy presets: IMGPROXY_PRESETS's text parsed and checked at start, and a named preset applied where it stands.
import { KinuError } from '../../errors.ts';
import { applyOption, ArgError, initialState, shown, type Ctx, type ImgproxyOption, type State } from './options.ts';

export function applyPreset(s: State, ctx: Ctx, name: string, used: readonly string[]): void {
  const options = Object.hasOwn(ctx.presets, name) ? ctx.presets[name] : undefined;
  if (!options) {
    const known = Object.keys(ctx.presets);
    throw new ArgError(
      `unknown preset ${shown(name)}; known: ${known.join(', ') || '(none: set KINU_IMGPROXY_PRESETS)'}`,
    );
  }
  // imgproxy skips a preset that is already being applied, so presets cannot recurse.
  if (used.includes(name)) return;
  for (const opt of options) {
    try {
      applyOption(s, ctx, opt, [...used, name]);
    } catch (e) {
      if (e instanceof KinuError && e.code === 'invalid_param') throw new ArgError(`preset ${name}: ${e.detail}`);
      throw e;
    }
  }
}

/**
 * Presets as imgproxy's IMGPROXY_PRESETS writes them: `name=option/option`, separated by commas or newlines
 * (`#` starts a comment line). Every option is checked here, so a bad preset stops the server at start.
 */
export function parseImgproxyPresets(text: string): Record<string, ImgproxyOption[]> {
  const out: Record<string, ImgproxyOption[]> = {};
  for (const line of text.split(/[,\n]/)) {
    const entry = line.trim();
    if (entry === '' || entry.startsWith('#')) continue;
    const eq = entry.indexOf('=');
    const name = entry.slice(0, Math.max(eq, 0)).trim();
    if (eq < 0 || !/^[A-Za-z0-9_.-]{1,64}$/.test(name))
      throw new Error(`${shown(entry)}: expected name=option/option, the name of letters, digits, ., - or _`);
    if (Object.hasOwn(out, name)) throw new Error(`preset ${name} is defined twice`);
    const options = entry
      .slice(eq + 1)
      .trim()
      .split('/')
      .filter(Boolean)
      .map((seg): ImgproxyOption => {
        if (!seg.includes(':')) throw new Error(`preset ${name}: ${shown(seg)} is not an option (name:argument…)`);
        const [n = '', ...args] = seg.split(':');
        return { name: n, args };
      });
    if (options.length === 0) throw new Error(`preset ${name}: no options`);
    // Defined, not assigned: a preset named __proto__ must stay a preset, not become the object's prototype.
    Object.defineProperty(out, name, { value: options, enumerable: true, writable: true, configurable: true });
  }
  const ctx: Ctx = { presets: out, now: () => 0, applyPreset };
  for (const name of Object.keys(out)) {
    try {
      applyPreset(initialState(), ctx, name, []);
    } catch (e) {
      throw new Error(e instanceof KinuError ? e.detail : (e as Error).message);
    }
  }
  return out;
}
