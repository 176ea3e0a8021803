// Typos are compile errors: the shipped .d.ts (client/*.d.ts, through the package's exports) types every param
// from the server's table. Checked twice: the @ts-expect-error lines below fail `npm run typecheck` if they
// ever compile, and the test compiles snippets against the same .d.ts and expects each error by name.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { kinuUrl, srcset, type KinuParams } from 'kinu/client';
import { kinuLoader } from 'kinu/next';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

// Never run; only typechecked.
export function typos(): unknown[] {
  return [
    // @ts-expect-error a misspelt param name
    kinuUrl('', 'a.jpg', { wdth: 400 }),
    // @ts-expect-error not a fit
    kinuUrl('', 'a.jpg', { fit: 'stretch' }),
    // @ts-expect-error rot is 0, 90, 180 or 270
    kinuUrl('', 'a.jpg', { rot: 45 }),
    // @ts-expect-error sig is made by signing, not passed
    kinuUrl('', 'a.jpg', { sig: 'x' }),
    // @ts-expect-error srcset takes its widths from the list
    srcset('', 'a.jpg', [400], { w: 400 }),
    // @ts-expect-error a loader runs in the browser: no secret
    kinuLoader({ base: '', secret: 'a-secret-of-sixteen-chars' }),
  ];
}

const CASES: { code: string; error?: RegExp }[] = [
  {
    code: `kinuUrl('', 'a.jpg', { w: 400, h: 300, dpr: 2, fit: 'contain', pos: [0.5, 0.25], enlarge: true, crop: [0, 0, 10, 10], fmt: 'auto', q: 80, bg: 'fff', rot: 90, flip: 'hv', anim: false, trim: 1, pad: [1, 2, 3, 4], wm: 'l.png', wm_pos: 'top', wm_opacity: 1, wm_scale: 0.5, gray: true, pixelate: 2, preset: 'p' }, { secret: 's' });`,
  },
  {
    code: `kinuUrl('', 'a.jpg', { pos: 'attention', pad: 4 }); srcset('', 'a.jpg', [1], { fmt: 'webp' }, { ratio: 2 }); kinuLoader({ base: '', fmt: 'auto', ratio: 1 })({ src: '/a', width: 1 });`,
  },
  { code: `kinuUrl('', 'a.jpg', { wdth: 400 });`, error: /'wdth'/ },
  { code: `kinuUrl('', 'a.jpg', { fit: 'stretch' });`, error: /"stretch"/ },
  { code: `kinuUrl('', 'a.jpg', { fmt: 'jpg' });`, error: /"jpg"/ },
  { code: `kinuUrl('', 'a.jpg', { pos: 'middle' });`, error: /"middle"/ },
  { code: `kinuUrl('', 'a.jpg', { rot: 45 });`, error: /45/ },
  { code: `kinuUrl('', 'a.jpg', { enlarge: 1 });`, error: /number.*boolean/ },
  { code: `kinuUrl('', 'a.jpg', { crop: [1, 2, 3] });`, error: /\[number, number, number\]/ },
  { code: `kinuUrl('', 'a.jpg', { w: '400' });`, error: /string.*number/ },
  { code: `kinuUrl('', 'a.jpg', { sig: 'x' });`, error: /'sig'/ },
  { code: `srcset('', 'a.jpg', [400], { w: 400 });`, error: /'w'/ },
  { code: `srcset('', 'a.jpg', [400], { dpr: 2 });`, error: /'dpr'/ },
  { code: `kinuLoader({ base: '', secret: 's' });`, error: /'string' is not assignable to type 'undefined'/ },
];

test('the .d.ts makes typos and wrong values compile errors, and takes every real param', () => {
  const config = ts.readConfigFile(join(ROOT, 'tsconfig.json'), ts.sys.readFile);
  const { options } = ts.parseJsonConfigFileContent(config.config, ts.sys, ROOT);
  const files = new Map(
    CASES.map((c, i) => [
      join(ROOT, 'test/client', `__snippet${i}.ts`),
      `import { kinuUrl, srcset } from 'kinu/client';\nimport { kinuLoader } from 'kinu/next';\n${c.code}\n`,
    ]),
  );
  const host = ts.createCompilerHost(options);
  const { fileExists, readFile, getSourceFile } = host;
  host.fileExists = (f) => files.has(f) || fileExists.call(host, f);
  host.readFile = (f) => files.get(f) ?? readFile.call(host, f);
  host.getSourceFile = (f, lang, ...rest) =>
    files.has(f) ? ts.createSourceFile(f, files.get(f)!, lang) : getSourceFile.call(host, f, lang, ...rest);
  const program = ts.createProgram([...files.keys()], { ...options, noEmit: true }, host);
  // The snippets must see the shipped declarations, not the sources.
  const resolved = program.getSourceFiles().map((s) => s.fileName);
  assert.ok(resolved.includes(join(ROOT, 'client/index.d.ts')), 'kinu/client resolves to client/index.d.ts');
  [...files.keys()].forEach((file, i) => {
    const c = CASES[i]!;
    const messages = ts
      .getPreEmitDiagnostics(program, program.getSourceFile(file))
      .map((d) => ts.flattenDiagnosticMessageText(d.messageText, ' '));
    if (!c.error) assert.deepEqual(messages, [], c.code);
    else {
      assert.equal(messages.length, 1, `${c.code}: ${messages.join(' | ')}`);
      assert.match(messages[0]!, c.error, c.code);
    }
  });
});

test('KinuParams is the same object kinuUrl takes at run time', () => {
  const p: KinuParams = { w: 400, fmt: 'auto' };
  assert.equal(kinuUrl('', 'a.jpg', p), '/a.jpg?w=400&fmt=auto');
});
