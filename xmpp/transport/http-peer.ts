/**
 * Facts about the HTTP peer of a WebSocket or BOSH request: its address (X-Forwarded-For from a
 * trusted proxy only), whether the connection is secure, and whether its Origin may use XMPP.
 */
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';

/** The query of a request target, read without URL parsing (which throws on odd paths such as `/\\[`). */
export function queryOf(req: IncomingMessage): URLSearchParams {
  const target = req.url ?? '';
  const at = target.indexOf('?');
  return new URLSearchParams(at === -1 ? '' : target.slice(at + 1));
}

export function isLoopback(address: string): boolean {
  return address === '::1' || address.startsWith('127.') || address.startsWith('::ffff:127.');
}

export function remoteAddressOf(req: IncomingMessage, trustedProxies: ReadonlySet<string>): string {
  const peer = req.socket.remoteAddress ?? 'unknown';
  const forwarded = req.headers['x-forwarded-for'];
  if (typeof forwarded === 'string' && trustedProxies.has(peer)) {
    const hops = forwarded.split(',').map((s) => s.trim()).filter(Boolean);
    const client = hops[hops.length - 1];
    if (client) return client;
  }
  return peer;
}

/** TLS on this socket, TLS terminated by a trusted proxy, or loopback (RFC 6120 §13.9.4 spirit). */
export function isSecureRequest(req: IncomingMessage, trustedProxies: ReadonlySet<string>): boolean {
  if ((req.socket as TLSSocket).encrypted) return true;
  const peer = req.socket.remoteAddress ?? '';
  if (trustedProxies.has(peer) && req.headers['x-forwarded-proto'] === 'https') return true;
  return isLoopback(remoteAddressOf(req, trustedProxies));
}

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

function hostOnly(hostHeader: string | undefined): string {
  if (!hostHeader) return '';
  return hostHeader.startsWith('[') ? hostHeader.slice(0, hostHeader.indexOf(']') + 1) : hostHeader.split(':')[0]!;
}

/**
 * Cross-site WebSocket hijacking guard: a browser's Origin must be the public URL's origin, one
 * configured as allowed, or a loopback origin on a loopback Host (local use; a DNS-rebinding page
 * has a non-loopback Host). Clients that send no Origin (not browsers) pass.
 */
export function isOriginAllowed(req: IncomingMessage, allowedOrigins: ReadonlySet<string>): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  if (allowedOrigins.has(origin)) return true;
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return false;
  }
  return LOOPBACK_HOSTS.has(url.hostname === '::1' ? '[::1]' : url.hostname) && LOOPBACK_HOSTS.has(hostOnly(req.headers.host));
}
