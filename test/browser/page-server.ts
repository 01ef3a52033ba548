/**
 * Serves test pages (and the files they load) from a loopback HTTP server of their own, so
 * nothing test-only is added to Salon's HTTP front. Pages load Salon's `/config.js` cross-origin.
 */
import { createReadStream } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface PageServer {
  origin: string;
  close(): Promise<void>;
}

export async function startPageServer(pages: Record<string, string>, files: Readonly<Record<string, string>>): Promise<PageServer> {
  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    const page = pages[path];
    if (page !== undefined) {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
      res.end(page);
      return;
    }
    const file = files[path];
    if (file !== undefined) {
      res.writeHead(200, { 'content-type': file.endsWith('.wasm') ? 'application/wasm' : 'application/javascript; charset=utf-8' });
      createReadStream(file).pipe(res);
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}
