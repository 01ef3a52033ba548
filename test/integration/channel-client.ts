/** A bridge-channel (colibri-ws) client for the integration tests, and polling for what it receives. */
import WebSocket from 'ws';

export interface Channel {
  ws: WebSocket;
  /** Every JSON message received, in order. */
  messages: Array<Record<string, unknown>>;
}

/** Opens the WebSocket; rejects with `HTTP <status>` when the upgrade is refused. */
export function openChannel(url: string): Promise<Channel> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    const messages: Array<Record<string, unknown>> = [];
    ws.on('message', (d: Buffer) => messages.push(JSON.parse(d.toString()) as Record<string, unknown>));
    ws.once('open', () => resolve({ ws, messages }));
    ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    ws.once('error', reject);
  });
}

/** Polls `check` every 10 ms until it holds (sockets deliver asynchronously); fails after `timeoutMs`. */
export async function until(check: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
