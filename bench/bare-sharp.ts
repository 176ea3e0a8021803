// A second miss reference: the plainest node:http server doing what in-process sharp does (reference.ts) per
// request, so a run shows what being an HTTP server costs by itself, apart from what kinu adds.
//   node --import tsx bench/bare-sharp.ts <source folder>
import { createServer } from 'node:http';
import { join } from 'node:path';
import sharp from 'sharp';
import type { BenchFormat } from './image-info.ts';
import { MIME } from './image-info.ts';
import { sharpEncode } from './reference.ts';

const [root] = process.argv.slice(2);
if (!root) throw new Error('usage: bare-sharp.ts <source folder>');
sharp.cache(false); // as kinu and the in-process side run it
sharp.concurrency(1);

const server = createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://bench');
  const format = url.searchParams.get('fmt') as BenchFormat;
  const path = join(root, ...url.pathname.slice(1).split('/').map(decodeURIComponent));
  sharpEncode(path, Number(url.searchParams.get('w')), format, Number(url.searchParams.get('q'))).then(
    (body) => {
      res.writeHead(200, { 'content-type': MIME[format], 'content-length': body.length });
      res.end(body);
    },
    (err: Error) => {
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(err.message);
    },
  );
});
server.keepAliveTimeout = 75_000; // as Fastify's default
server.listen(0, '127.0.0.1', () => {
  const a = server.address();
  process.stdout.write(`bare-sharp listening on http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}\n`);
});
process.once('SIGTERM', () => {
  server.close();
  server.closeAllConnections();
});
