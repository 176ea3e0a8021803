// imgproxy's path: the signature segment, the options, and the source (`plain/<url>[@ext]` or base64url
// `[.ext]`). Which key in kinu's source that URL names is ../source-url.ts's answer, shared by the dialects.
import { invalid, shown } from './options.ts';

/** Undo what browsers and proxies do to imgproxy paths (`%3A` in options, `scheme:/x` for `scheme://x`), as imgproxy does before checking the signature. */
export function redenormalize(path: string): string {
  let options: string;
  let plain: string | undefined;
  if (path.startsWith('plain/')) [options, plain] = ['', path.slice(6)];
  else {
    const at = path.indexOf('/plain/');
    [options, plain] = at < 0 ? [path, undefined] : [path.slice(0, at), path.slice(at + 7)];
  }
  options = options.replaceAll('%3A', ':');
  if (plain === undefined) return options.replace(/^\//, '');
  const fixed = plain.replace(
    /^(\S+):\/([^/])/,
    (_m, scheme: string, c: string) => `${scheme}://${scheme === 'local' ? '/' : ''}${c}`,
  );
  return `${options}/plain/${fixed}`.replace(/^\//, '');
}

export function decodeSource(parts: readonly string[]): { source: string; extension: string | undefined } {
  if (parts.length === 0 || parts.join('') === '')
    throw invalid('source: missing; end the path with plain/<source URL> or its base64url form');
  if (parts[0] === 'plain' && parts.length > 1) {
    const [url = '', extension, ...more] = parts.slice(1).join('/').split('@');
    if (url === '') throw invalid('source: empty after plain/');
    if (more.length > 0) throw invalid('source: more than one @extension; percent-encode @ in the source as %40');
    let source: string;
    try {
      source = decodeURIComponent(url);
    } catch {
      throw invalid('source: malformed percent-encoding');
    }
    return { source, extension: extension || undefined };
  }
  if (parts[0] === 'enc') throw invalid('source: encrypted source URLs (enc/, imgproxy Pro) are not supported');
  const [encoded = '', extension, ...more] = parts.join('').split('.');
  if (more.length > 0) throw invalid('source: more than one .extension after the base64url source');
  const b64 = encoded.replace(/=+$/, '');
  if (b64 === '' || !/^[A-Za-z0-9_-]+$/.test(b64) || b64.length % 4 === 1)
    throw invalid(`source: not valid base64url: ${shown(encoded)}`);
  let source: string;
  try {
    source = new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(b64, 'base64url'));
  } catch {
    throw invalid('source: the base64url source is not UTF-8 text');
  }
  return { source, extension: extension || undefined };
}
