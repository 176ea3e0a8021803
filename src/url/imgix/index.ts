// The imgix dialect: imgix's rendering API: /<path>?w=…&fit=…[&s=<md5>]. Being built (issue 15).
import { KinuError } from '../../errors.ts';
import type { ParsedRequest } from '../native.ts';
import type { SourceOptions } from '../source-url.ts';

export interface ImgixDialectOptions extends SourceOptions {
  /** Path prefix the dialect is mounted under, without a trailing slash ('' for `/`). */
  readonly prefix: string;
}

export function parseImgix(rawUrl: string, o: ImgixDialectOptions): ParsedRequest {
  void rawUrl;
  void o;
  throw new KinuError('invalid_param', 'the imgix dialect is not built yet');
}
