// Shared test helpers: corpus paths, a server built for inject(), decoding of responses.
import { existsSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { loadConfig, type Config } from '../src/config.ts';
import { buildServer, type KinuServer, type ServerDeps } from '../src/server.ts';

export const CORPUS = process.env.KINU_CORPUS ?? fileURLToPath(new URL('../../shared/corpus', import.meta.url));
if (!existsSync(CORPUS)) throw new Error(`test corpus not found at ${CORPUS}; set KINU_CORPUS`);

export const EXAMPLES = fileURLToPath(new URL('../examples/images', import.meta.url));

export function corpus(file: string): string {
  return join(CORPUS, file);
}

export function tempDir(prefix = 'kinu-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** A server over `root` (default: the corpus) with env-style settings, for app.inject(). */
export function testServer(env: Record<string, string> = {}, deps: ServerDeps = {}): { app: KinuServer; config: Config } {
  const config = loadConfig({ env: { KINU_SOURCE: CORPUS, ...env } });
  return { app: buildServer(config, { logger: false, ...deps }), config };
}

export async function decode(body: Buffer) {
  return sharp(body, { animated: true }).metadata();
}

/** Mean RGB of an image region, for colour and geometry checks. */
export async function meanColour(body: Buffer, region?: { left: number; top: number; width: number; height: number }): Promise<[number, number, number]> {
  let img = sharp(body).removeAlpha().toColourspace('srgb');
  if (region) img = img.extract(region);
  const { channels } = await img.stats();
  return [channels[0]!.mean, channels[1]!.mean, channels[2]!.mean];
}
