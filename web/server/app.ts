/**
 * The HTTP front (koa): the client configuration, health, metrics and the bridge's statistics
 * (these two for local scrapers only), and the HTTP-borne XMPP transports (BOSH requests here,
 * WebSocket upgrades in `handleUpgrade`). Jitsi's tenant paths (`/<tenant>/config.js`,
 * `/<tenant>/xmpp-websocket`, `/<tenant>/http-bind`) map to the same; the web client's pages and
 * assets come after these routes (`clientPages`). A bridge running alone
 * (`salon bridge`) serves only health, metrics, its statistics and its bridge channel.
 */
import { STATUS_CODES, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import Koa from 'koa';
import { Router } from '@koa/router';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { isLoopback } from '../../xmpp/transport/http-peer.ts';

export interface HttpFrontOptions {
  log: Logger;
  registry: Registry;
  /** The config.js script for a request (its public origin decides the URLs inside); none on a bridge alone. */
  clientConfigScript?(req: IncomingMessage): string;
  /** null when healthy, else what is wrong. */
  health(): string | null;
  /** XMPP over BOSH and WebSocket, when this process runs the XMPP server. */
  bosh?: { handleRequest(req: IncomingMessage, res: import('node:http').ServerResponse): void };
  websocket?: { handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void };
  /** The statistics of the bridge running in this process, if any (JVB's `/colibri/stats`). */
  bridgeStats?: { colibriStats(): Record<string, string | number | boolean> };
  /** Drain mode of the bridge running in this process, if any (JVB's `/colibri/drain`). */
  bridgeDrain?: { readonly draining: boolean; drain(on: boolean): void };
  /** The bridge channel (colibri-ws) of the bridge running in this process, if any. */
  bridgeChannel?: { matches(url: string): boolean; handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void };
  /** The shared document's WebSocket (`/pad/<id>`, ./pad/index.ts), if this process serves documents. */
  pad?: { matches(url: string): boolean; handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void };
  /** OpenID Connect sign-in for agents (`/auth/oidc/…`, ./auth/oidc.ts), with AUTH_TYPE=oidc. */
  signIn?: Koa.Middleware;
  /** The web client's pages and assets (./client-pages.ts), after every route above. */
  clientPages?: Koa.Middleware;
  /**
   * The public URL is https: every answer says so with Strict-Transport-Security (RFC 6797), so
   * a browser that came once asks over TLS from then on, even for an `http://` link, and a network
   * attacker cannot answer its first request in clear (and read the `#jwt=` it is sent back with).
   * Browsers ignore the header over plain HTTP and over a certificate they do not trust, so a
   * TLS-terminating proxy passes it on and a self-signed test set-up pins nothing. Default false.
   */
  strictTransportSecurity?: boolean;
}

/**
 * One year, the host only: other names under the public host's domain are not Salon's to pin, and
 * the host is not put on the browsers' preload list behind the operator's back.
 */
export const HSTS = 'max-age=31536000';

const TENANT = '{/:tenant}';

/**
 * A request target fit for the log: no query (`?token=`, `?previd=`, `?pwd=` are credentials) and
 * no shared document name, which is itself a capability (`/pad/<id>.<secret>`, `/etherpad/p/<name>`).
 */
function loggablePath(url: string | undefined): string {
  const path = (url ?? '').split(/[?#]/, 1)[0]!;
  return path.replace(/\/(pad|etherpad\/p)\/[^/]+/g, '/$1/…');
}

/** Headers by which a proxy names the client it forwards for (RFC 7239, and the two common others). */
const PROXY_HEADERS = ['x-forwarded-for', 'forwarded', 'x-real-ip'] as const;

/**
 * Whether a web page made this request: browsers send `Origin` with every POST and cross-origin
 * read, and `Sec-Fetch-Site` with every request, `none` only for one the user typed or bookmarked.
 * Scrapers and curl send neither.
 */
function fromWebPage(ctx: Koa.Context): boolean {
  const site = ctx.get('sec-fetch-site');
  return ctx.get('origin') !== '' || (site !== '' && site !== 'none');
}

/**
 * Operators' figures and the drain switch are not for the public: only a direct local call is
 * answered, as JVB's private REST port and Prosody's metrics CIDR do. Not through a proxy on this
 * machine, whichever header it names the client with, and not from a web page in a browser here:
 * any site may POST to localhost without a preflight (drain the bridge), and one whose name its DNS
 * rebinds to 127.0.0.1 reads the answers as its own (it names itself in Host).
 */
/**
 * Whether the request names this machine by a loopback name: `localhost` (or a name under it, RFC
 * 6761 §6.3), a 127.0.0.0/8 address or [::1], any port. A page whose domain its DNS rebinds to
 * 127.0.0.1 names its own domain, and not every browser marks its requests (Safari before 16.4 sends
 * no Sec-Fetch-Site, nor Origin on a same-origin GET).
 */
function namesLoopback(host: string): boolean {
  const name = /^\[([^\]]*)\](?::\d*)?$/.exec(host)?.[1] ?? host.replace(/:\d*$/, '');
  return name === '::1' || /^127(\.\d{1,3}){3}$/.test(name) || /^(.+\.)?localhost\.?$/i.test(name);
}

const localScrapersOnly: Koa.Middleware = async (ctx, next) => {
  if (!isLoopback(ctx.req.socket.remoteAddress ?? '') || !namesLoopback(ctx.get('host')) || PROXY_HEADERS.some((name) => ctx.get(name) !== '') || fromWebPage(ctx)) {
    ctx.status = 403;
    ctx.body = 'served to local scrapers only\n';
    return;
  }
  await next();
};

export interface HttpFront {
  app: Koa;
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
}

export function createHttpFront(options: HttpFrontOptions): HttpFront {
  const app = new Koa();
  app.proxy = false;
  app.silent = true;
  app.on('error', (err: Error) => options.log.error({ err }, 'HTTP handler failed'));

  const securityHeaders = (ctx: Koa.Context): void => {
    ctx.set('X-Content-Type-Options', 'nosniff');
    // Not even to this origin: a page opened with ?jwt= (older integrations, external_api.js) would
    // send its address, token included, in the Referer of every asset and request it makes.
    ctx.set('Referrer-Policy', 'no-referrer');
    if (options.strictTransportSecurity) ctx.set('Strict-Transport-Security', HSTS);
  };
  app.use(async (ctx, next) => {
    securityHeaders(ctx);
    try {
      await next();
    } catch (error) {
      // Answered here rather than by Koa's own handler, which removes every header set so far:
      // an error page would go out without them (sniffable, its address in the Referer, unpinned).
      if (ctx.headerSent || !ctx.writable) throw error;
      const { status, expose, message, headers } = error as { status?: unknown; statusCode?: unknown; expose?: unknown; message?: unknown; headers?: unknown };
      const code = typeof status === 'number' && status >= 400 && status < 600 ? status : 500;
      for (const name of ctx.response.headers ? Object.keys(ctx.response.headers) : []) ctx.remove(name);
      securityHeaders(ctx);
      if (headers && typeof headers === 'object') ctx.set(headers as Record<string, string>);
      ctx.status = code;
      ctx.type = 'text/plain; charset=utf-8';
      ctx.body = `${expose === true && code < 500 && typeof message === 'string' ? message : (STATUS_CODES[code] ?? 'Error')}\n`;
      if (code >= 500) ctx.app.emit('error', error, ctx);
    }
  });

  const router = new Router();
  const { clientConfigScript, bosh, websocket } = options;
  if (clientConfigScript) {
    router.get(`${TENANT}/config.js`, (ctx) => {
      ctx.type = 'application/javascript; charset=utf-8';
      ctx.set('Cache-Control', 'no-cache');
      ctx.body = clientConfigScript(ctx.req);
    });
    router.get(`${TENANT}/interface_config.js`, (ctx) => {
      ctx.type = 'application/javascript; charset=utf-8';
      ctx.body = 'var interfaceConfig = {};\n';
    });
  }
  router.get('/about/health', (ctx) => {
    const problem = options.health();
    ctx.set('Cache-Control', 'no-store');
    ctx.status = problem ? 503 : 200;
    ctx.body = problem ? { status: 'unhealthy', problem } : { status: 'ok' };
  });
  router.get('/metrics', localScrapersOnly, async (ctx) => {
    ctx.type = options.registry.contentType;
    ctx.body = await options.registry.metrics();
  });
  const { bridgeStats } = options;
  if (bridgeStats) {
    router.get('/colibri/stats', localScrapersOnly, (ctx) => {
      ctx.set('Cache-Control', 'no-store');
      ctx.body = bridgeStats.colibriStats();
    });
  }
  const { bridgeDrain } = options;
  if (bridgeDrain) {
    // As jitsi-videobridge's private REST interface: GET the state, POST enable or disable.
    router.get('/colibri/drain', localScrapersOnly, (ctx) => {
      ctx.set('Cache-Control', 'no-store');
      ctx.body = { drain: bridgeDrain.draining };
    });
    for (const [mode, on] of [['enable', true], ['disable', false]] as const) {
      router.post(`/colibri/drain/${mode}`, localScrapersOnly, (ctx) => {
        bridgeDrain.drain(on);
        ctx.body = { drain: bridgeDrain.draining };
      });
    }
  }
  if (websocket) {
    // lib-jitsi-meet's WebSocket keep-alive is a plain GET on the service URL (protocol doc §1.3).
    router.get(`${TENANT}/xmpp-websocket`, (ctx) => {
      ctx.set('Cache-Control', 'no-store');
      ctx.body = 'XMPP over WebSocket (RFC 7395) is served here.\n';
    });
  }
  if (bosh) {
    router.all(`${TENANT}/http-bind`, (ctx) => {
      ctx.respond = false;
      bosh.handleRequest(ctx.req, ctx.res);
    });
  }
  app.use(router.routes());
  app.use(router.allowedMethods());
  if (options.signIn) app.use(options.signIn);
  if (options.clientPages) app.use(options.clientPages);

  const websocketPath = /^(\/[^/?]+)?\/xmpp-websocket(\?|$)/;
  return {
    app,
    handleUpgrade(req, socket, head) {
      // The one boundary for upgrades: nothing a request carries may end the process. Node took
      // its own error listener off the socket when it handed it over: one that vanishes (reset)
      // while being refused with a raw HTTP answer, or before ws takes it, would otherwise throw.
      socket.on('error', ignoreSocketError);
      try {
        if (websocket && websocketPath.test(req.url ?? '')) return websocket.handleUpgrade(req, socket, head);
        if (options.bridgeChannel?.matches(req.url ?? '')) return options.bridgeChannel.handleUpgrade(req, socket, head);
        if (options.pad?.matches(req.url ?? '')) return options.pad.handleUpgrade(req, socket, head);
        socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      } catch (err) {
        options.log.error({ err, path: loggablePath(req.url) }, 'upgrade handling failed');
        socket.destroy();
      }
    },
  };
}

/** An upgrade socket's error (the client reset it): nothing to do, its owner sees it close. */
function ignoreSocketError(): void {}
