// The URL dialects kinu speaks. Each parses a raw URL (prefix included) into { key, transform } or throws a
// typed error, checking its own signature; nothing below url/ learns which dialect a request came in.
import type { ParsedRequest } from './native.ts';

export const DIALECT_NAMES = ['native', 'imgproxy', 'thumbor', 'tofu', 'imgix', 'cloudflare', 'nextjs', 'ipx'] as const;
export type DialectName = (typeof DIALECT_NAMES)[number];

export type DialectParser = (rawUrl: string) => ParsedRequest;
