// The ipx dialect: ipx (Nuxt Image): /_ipx/<modifiers>/<id>. Being built (issue 15).
import { KinuError } from '../../errors.ts';
import type { ParsedRequest } from '../native.ts';
import type { SourceOptions } from '../source-url.ts';

export interface IpxDialectOptions extends SourceOptions {
  /** Path prefix the dialect is mounted under, without a trailing slash ('' for `/`). */
  readonly prefix: string;
}

export function parseIpx(rawUrl: string, o: IpxDialectOptions): ParsedRequest {
  void rawUrl;
  void o;
  throw new KinuError('invalid_param', 'the ipx dialect is not built yet');
}
