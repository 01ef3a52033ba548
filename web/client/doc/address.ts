/** Where the standalone document page finds its document: `/etherpad/p/<name>` → `/pad/<name>`. */
import { PAD_PATH } from './wire.ts';

/** The document's WebSocket URL from the page's address, or undefined when the path names none. */
export function padSocketUrl(location: { protocol: string; host: string; pathname: string }): string | undefined {
  const name = /^\/etherpad\/p\/([^/]+)$/.exec(location.pathname)?.[1];
  if (!name) return undefined;
  const path = `/pad/${name}`;
  // Only the capability form (`<id>.<secret>`): a bare id would need a token this page has not got.
  if (!PAD_PATH.exec(path)?.[2]) return undefined;
  return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}${path}`;
}
