// Builds kinu/client and kinu/next: `npm run build:client`.
//
// 1. Generates src/client/params.generated.ts from the server's PARAMS table (src/url/params.ts): the param
//    names and docs, enum values and string patterns read from the zod schemas, and every numeric range and
//    decimal precision probed from the validators themselves (safeParse at the edges), so refinements such as
//    "above 0" are included. Only the *shape* of each param on the client side (boolean, tuple, …) is declared
//    here, and `satisfies Record<ParamName, Shape>` makes a new server param without one a compile error.
// 2. Compiles src/client/*.ts with tsc into client/ (ESM + .d.ts, committed), which package.json exports as
//    `kinu/client` and `kinu/next`. test/client/build.test.ts fails when either output is stale.
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import type { z } from 'zod';
import { MAX_SIDE } from '../src/pipeline/plan.ts';
import { PARAMS, type ParamName } from '../src/url/params.ts';

export const SRC_DIR = fileURLToPath(new URL('../src/client/', import.meta.url));
export const OUT_DIR = fileURLToPath(new URL('../client/', import.meta.url));
export const GENERATED = join(SRC_DIR, 'params.generated.ts');
const ENTRIES = ['index.ts', 'next.ts'];

type Shape =
  | { kind: 'number' | 'enum' | 'flag' | 'colour' | 'string' | 'key' }
  | { kind: 'position'; labels: [string, string] }
  | { kind: 'list'; labels: string[]; single: boolean }
  /** Not a client param (the signature is added by signing). */
  | { kind: 'server' };

const number = { kind: 'number' } as const;
const enumeration = { kind: 'enum' } as const;
const flag = { kind: 'flag' } as const;

const SHAPES = {
  w: number,
  h: number,
  dpr: number,
  fit: enumeration,
  pos: { kind: 'position', labels: ['x', 'y'] },
  enlarge: flag,
  crop: { kind: 'list', labels: ['x', 'y', 'width', 'height'], single: false },
  fmt: enumeration,
  q: number,
  bg: { kind: 'colour' },
  blur: number,
  sharpen: number,
  rot: enumeration,
  flip: enumeration,
  anim: flag,
  trim: number,
  pad: { kind: 'list', labels: ['top', 'right', 'bottom', 'left'], single: true },
  wm: { kind: 'key' },
  wm_pos: enumeration,
  wm_opacity: number,
  wm_scale: number,
  gray: flag,
  pixelate: number,
  preset: { kind: 'string' },
  sig: { kind: 'server' },
} satisfies Record<ParamName, Shape>;

interface Range {
  min: number;
  max: number;
  places: number;
}

// ---- reading the server's validators ----

type AnySchema = z.ZodType<unknown, string>;
// zod 4: `def` is public; pipes have `in`/`out`, enums `options`, string checks carry their regex.
interface Def {
  type: string;
  in?: AnySchema;
  checks?: { _zod: { def: { pattern?: RegExp } } }[];
}
const defOf = (s: AnySchema) => (s as unknown as { def: Def }).def;

function enumOptions(name: string, s: AnySchema): string[] {
  const def = defOf(s);
  if (def.type === 'enum') return [...(s as unknown as { options: string[] }).options];
  if (def.type === 'pipe' && def.in) return enumOptions(name, def.in);
  throw new Error(`${name}: expected an enum schema (zod enum, possibly piped), found ${def.type}`);
}

function pattern(name: string, s: AnySchema): string {
  const def = defOf(s);
  if (def.type === 'pipe' && def.in) return pattern(name, def.in);
  const found =
    def.type === 'string' ? def.checks?.map((c) => c._zod.def.pattern).find((p) => p instanceof RegExp) : undefined;
  if (!found) throw new Error(`${name}: expected a string schema with a regex, found ${def.type}`);
  return found.source;
}

/** The example's raw value of `name` (`w=400&dpr=2` → dpr: "2"): a value the server is known to accept. */
function exampleValue(name: ParamName): string {
  for (const part of PARAMS[name].example.split('&')) {
    const eq = part.indexOf('=');
    if (part.slice(0, eq) === name) return part.slice(eq + 1);
  }
  throw new Error(`${name}: its example "${PARAMS[name].example}" does not show it`);
}

/**
 * The numbers `accepts(raw)` takes, found at the edges: decimal places, then the lowest and highest accepted
 * value by bisection from a known-good seed. Assumes (and the round-trip tests check) one contiguous range.
 */
function probeRange(label: string, accepts: (raw: string) => boolean, seed: number): Range {
  let places = 0;
  for (let p = 1; p <= 8; p++) {
    const d = 10 ** -p;
    if (![seed + d, seed - d].some((v) => v >= 0 && accepts(v.toFixed(p)))) break;
    places = p;
  }
  const scale = 10 ** places;
  const fmt = (k: number) => (places ? (k / scale).toFixed(places) : String(k));
  const seedK = Math.round(seed * scale);
  if (!accepts(fmt(seedK))) throw new Error(`${label}: the example value ${fmt(seedK)} is refused`);
  if (accepts(`-${fmt(1)}`))
    throw new Error(`${label}: negative values are accepted; the client generator does not handle them`);
  let min = seedK;
  if (accepts(fmt(0))) min = 0;
  else {
    let lo = 0;
    while (min - lo > 1) {
      const mid = Math.floor((lo + min) / 2);
      if (accepts(fmt(mid))) min = mid;
      else lo = mid;
    }
  }
  let max = seedK;
  let hi = Math.max(1, seedK * 2);
  while (accepts(fmt(hi))) {
    max = hi;
    hi *= 2;
    if (hi > 1e15) throw new Error(`${label}: no upper bound found`);
  }
  while (hi - max > 1) {
    const mid = Math.floor((max + hi) / 2);
    if (accepts(fmt(mid))) max = mid;
    else hi = mid;
  }
  return { min: min / scale, max: max / scale, places };
}

const acceptor = (name: ParamName) => (raw: string) => PARAMS[name].schema.safeParse(raw).success;

function listRanges(name: ParamName, count: number): Range[] {
  const seeds = exampleValue(name).split(',').map(Number);
  if (seeds.length !== count || seeds.some((n) => !Number.isFinite(n)))
    throw new Error(`${name}: the example should hold ${count} numbers`);
  return seeds.map((seed, i) =>
    probeRange(
      `${name}[${i}]`,
      (raw) => acceptor(name)(seeds.map((s, j) => (j === i ? raw : String(s))).join(',')),
      seed,
    ),
  );
}

/** The list lengths the server takes, tried from 1 to two more than the declared length. */
function listCounts(name: ParamName, n: number): number[] {
  const seeds = exampleValue(name).split(',');
  const counts: number[] = [];
  for (let c = 1; c <= n + 2; c++)
    if (acceptor(name)(Array.from({ length: c }, (_, i) => seeds[i % seeds.length]).join(','))) counts.push(c);
  return counts;
}

// ---- the generated module ----

interface Generated {
  spec: string;
  type: string;
}

function generate(name: ParamName, shape: Shape): Generated | undefined {
  const schema = PARAMS[name].schema as AnySchema;
  const json = (v: unknown) => JSON.stringify(v).replaceAll('"', "'").replaceAll(',', ', ').replaceAll(':', ': ');
  const range = (r: Range) => `{ min: ${r.min}, max: ${r.max}, places: ${r.places} }`;
  switch (shape.kind) {
    case 'server':
      return undefined;
    case 'number': {
      // Words the server takes beside numbers (q=auto…), read from its values line and proven by its parser.
      const words = PARAMS[name].values.split(' · ').filter((w) => /^[a-z][a-z:]*$/.test(w) && acceptor(name)(w));
      const r = range(probeRange(name, acceptor(name), Number(exampleValue(name))));
      const quoted = words.map((w) => `'${w}'`);
      return words.length === 0
        ? { spec: `{ kind: 'number', range: ${r} }`, type: 'number' }
        : {
            spec: `{ kind: 'number', range: ${r}, words: [${quoted.join(', ')}] }`,
            type: `number | ${quoted.join(' | ')}`,
          };
    }
    case 'flag': {
      const options = enumOptions(name, schema);
      if (options.join() !== '0,1') throw new Error(`${name}: a flag should take 0 and 1, takes ${options.join(', ')}`);
      return { spec: `{ kind: 'flag' }`, type: 'boolean' };
    }
    case 'enum': {
      const options = enumOptions(name, schema);
      const values = options.every((o) => /^\d+$/.test(o)) ? options.map(Number) : options;
      return { spec: `{ kind: 'enum', values: ${json(values)} }`, type: values.map((v) => json(v)).join(' | ') };
    }
    case 'position': {
      const words = PARAMS[name].values.split(' · ').filter(acceptor(name));
      const items = listRanges(name, 2);
      return {
        spec: `{ kind: 'position', words: ${json(words)}, items: [${items.map(range).join(', ')}] }`,
        type: `${words.map((w) => json(w)).join(' | ')} | readonly [${shape.labels.map((l) => `${l}: number`).join(', ')}]`,
      };
    }
    case 'list': {
      const n = shape.labels.length;
      const counts = listCounts(name, n);
      const declared = shape.single ? [1, n] : [n];
      if (counts.join() !== declared.join())
        throw new Error(
          `${name}: the server takes ${counts.join(' or ')} numbers, the client shape declares ${declared.join(' or ')}`,
        );
      const items = listRanges(name, n);
      if (shape.single) {
        const one = probeRange(`${name} (one number)`, acceptor(name), Number(exampleValue(name).split(',')[0]));
        if (JSON.stringify(one) !== JSON.stringify(items[0]))
          throw new Error(`${name}: the one-number form takes ${range(one)}, the list ${range(items[0]!)}`);
      }
      const tuple = `readonly [${shape.labels.map((l) => `${l}: number`).join(', ')}]`;
      return {
        spec: `{ kind: 'list', counts: ${json(counts)}, items: [${items.map(range).join(', ')}] }`,
        type: shape.single ? `number | ${tuple}` : tuple,
      };
    }
    case 'colour':
      return { spec: `{ kind: 'colour', pattern: ${JSON.stringify(pattern(name, schema))} }`, type: 'string' };
    case 'string':
      return { spec: `{ kind: 'string', pattern: ${JSON.stringify(pattern(name, schema))} }`, type: 'string' };
    case 'key':
      return { spec: `{ kind: 'key' }`, type: 'string' };
  }
}

export function generateParams(): string {
  const rows = (Object.keys(PARAMS) as ParamName[]).flatMap((name) => {
    const g = generate(name, SHAPES[name]);
    return g ? [{ name, ...g }] : [];
  });
  const doc = (name: ParamName) => {
    const p = PARAMS[name];
    return `${p.doc}. Values: ${p.values}. Example: \`?${p.example}\``.replaceAll('*/', '*\\/');
  };
  return `// Generated by \`npm run build:client\` (scripts/build-client.ts) from src/url/params.ts — do not edit.
import type { ParamSpec } from './spec.js';

/** The native params, typed from the server's table. Numbers are in the server's units (CSS pixels for \`w\`/\`h\`). */
export interface KinuParams {
${rows.map((r) => `  /** ${doc(r.name)}. */\n  ${r.name}?: ${r.type};`).join('\n')}
}

export type KinuParamName = keyof KinuParams;

/** Largest output side the server writes, in pixels (after \`dpr\`). */
export const MAX_SIDE = ${MAX_SIDE};

/** What each param accepts, read and probed from the server's validators; the key order is the URL order. */
export const PARAM_SPEC: Readonly<Record<KinuParamName, ParamSpec>> = {
${rows.map((r) => `  ${r.name}: ${r.spec},`).join('\n')}
};

/** Each param in words and a value it takes (the server table's prose), for pages that list them: the playground. */
export const PARAM_DOCS: Readonly<Record<KinuParamName, { readonly doc: string; readonly values: string; readonly example: string }>> = {
${rows.map((r) => `  ${r.name}: { doc: ${JSON.stringify(PARAMS[r.name].doc)}, values: ${JSON.stringify(PARAMS[r.name].values)}, example: ${JSON.stringify(exampleValue(r.name))} },`).join('\n')}
};
`;
}

// ---- compiling ----

export function compileOptions(): ts.CompilerOptions {
  return {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    lib: ['lib.es2022.d.ts'],
    types: [],
    strict: true,
    noUncheckedIndexedAccess: true,
    declaration: true,
    rootDir: SRC_DIR,
    outDir: OUT_DIR,
    newLine: ts.NewLineKind.LineFeed,
    noEmitOnError: true,
  };
}

/** Heads every file in client/, so no one edits compiled output by hand. */
export const BANNER =
  '// Compiled from src/client/ by `npm run build:client` (scripts/build-client.ts) — do not edit; edit src/client/ and rebuild.\n';

/** Compiles src/client/ (as it is on disk) and returns client/'s files by name, without writing them. */
export function compileClient(): Map<string, string> {
  const options = compileOptions();
  const host = ts.createCompilerHost(options);
  const out = new Map<string, string>();
  host.writeFile = (file, text) => {
    out.set(relative(OUT_DIR, file), BANNER + text);
  };
  const program = ts.createProgram(
    ENTRIES.map((e) => join(SRC_DIR, e)),
    options,
    host,
  );
  const diagnostics = ts.getPreEmitDiagnostics(program);
  if (diagnostics.length > 0)
    throw new Error(
      ts.formatDiagnostics(diagnostics, {
        getCanonicalFileName: (f) => f,
        getCurrentDirectory: () => process.cwd(),
        getNewLine: () => '\n',
      }),
    );
  const emitted = program.emit();
  if (emitted.emitSkipped) throw new Error('tsc skipped the emit');
  return out;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeFileSync(GENERATED, generateParams());
  const files = compileClient();
  mkdirSync(OUT_DIR, { recursive: true });
  for (const f of readdirSync(OUT_DIR)) if (!files.has(f)) rmSync(join(OUT_DIR, f));
  for (const [f, text] of files) writeFileSync(join(OUT_DIR, f), text);
  process.stdout.write(
    `wrote ${relative(process.cwd(), GENERATED)} and ${[...files.keys()].map((f) => `client/${f}`).join(', ')}\n`,
  );
}
