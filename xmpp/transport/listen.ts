/** Binding and unbinding the TCP listeners (c2s, components) and the HTTP servers. */
import type { Server } from 'node:net';

/** Binds and resolves with the port it got (useful when 0 was asked). */

export function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const address = server.address();
      resolve(typeof address === 'object' && address ? address.port : port);
    });
  });
}

/**
 * Stops accepting, asks every connection to end (`end` sends its stream error), and resolves
 * once the server and every connection (`closed`) are gone.
 */
export async function closeListener<C>(server: Server, connections: Iterable<C>, end: (c: C) => void, closed: (c: C) => Promise<void>): Promise<void> {
  const open = [...connections];
  for (const c of open) end(c);
  await Promise.all([
    new Promise<void>((resolve, reject) => {
      if (!server.listening) return resolve();
      server.close((err) => (err ? reject(err) : resolve()));
    }),
    ...open.map(closed),
  ]);
}
