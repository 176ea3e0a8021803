// The nextjs dialect: the Next.js image optimizer: /_next/image?url=<src>&w=<w>&q=<q>. Being built (issue 15).
import { KinuError } from '../../errors.ts';
import type { ParsedRequest } from '../native.ts';
import type { SourceOptions } from '../source-url.ts';

export interface NextjsDialectOptions extends SourceOptions {
  /** Path prefix the dialect is mounted under, without a trailing slash ('' for `/`). */
  readonly prefix: string;
}

export function parseNextjs(rawUrl: string, o: NextjsDialectOptions): ParsedRequest {
  void rawUrl;
  void o;
  throw new KinuError('invalid_param', 'the nextjs dialect is not built yet');
}
