// The reference for cache hits: the plainest node:http server answering the same URLs with the same bytes,
// Content-Type and Content-Length, nothing else. `memory` keeps the bodies in a Map; `disk` reads the file
// on every request (fs.readFile), as a static file server would. A request whose If-None-Match is the entry's
// `etag` is answered 304 with that ETag alone.
//   node --import tsx bench/bare.ts <manifest.json> memory|disk
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';

interface Entry {
  readonly path: string;
  readonly file: string;
  readonly type: string;
  readonly etag?: string;
}

const [manifestPath, mode] = process.argv.slice(2);
if (!manifestPath || (mode !== 'memory' && mode !== 'disk'))
  throw new Error('usage: bare.ts <manifest.json> memory|disk');
const entries = JSON.parse(readFileSync(manifestPath, 'utf8')) as Entry[];
const byPath = new Map(
  entries.map((e) => [e.path, { ...e, body: mode === 'memory' ? readFileSync(e.file) : undefined }]),
);

const server = createServer((req, res) => {
  const e = byPath.get(req.url ?? '');
  if (!e) {
    res.writeHead(404, { 'content-length': 0 });
    res.end();
    return;
  }
  if (e.etag !== undefined && req.headers['if-none-match'] === e.etag) {
    res.writeHead(304, { etag: e.etag });
    res.end();
    return;
  }
  if (e.body) {
    res.writeHead(200, { 'content-type': e.type, 'content-length': e.body.length });
    res.end(e.body);
    return;
  }
  readFile(e.file).then(
    (body) => {
      res.writeHead(200, { 'content-type': e.type, 'content-length': body.length });
      res.end(body);
    },
    () => {
      res.writeHead(500, { 'content-length': 0 });
      res.end();
    },
  );
});
server.keepAliveTimeout = 75_000; // as Fastify's default: idle gaps between rounds must not drop connections
server.listen(0, '127.0.0.1', () => {
  const a = server.address();
  process.stdout.write(`bare listening on http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}\n`);
});
process.once('SIGTERM', () => {
  server.close();
  server.closeAllConnections();
});
