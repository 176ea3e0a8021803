// The cloudflare dialect: Cloudflare Images: /cdn-cgi/image/<options>/<source>. Being built (issue 15).
import { KinuError } from '../../errors.ts';
import type { ParsedRequest } from '../native.ts';
import type { SourceOptions } from '../source-url.ts';

export interface CloudflareDialectOptions extends SourceOptions {
  /** Path prefix the dialect is mounted under, without a trailing slash ('' for `/`). */
  readonly prefix: string;
}

export function parseCloudflare(rawUrl: string, o: CloudflareDialectOptions): ParsedRequest {
  void rawUrl;
  void o;
  throw new KinuError('invalid_param', 'the cloudflare dialect is not built yet');
}
