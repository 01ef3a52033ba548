/**
 * A real OpenID provider (the `oidc-provider` package) on loopback for the sign-in tests, with one
 * confidential client whose authorization requests must carry PKCE, and test accounts; its
 * development interactions (a login form taking any account id, then a consent form) are driven
 * over HTTP by `TestBrowser`, a fetch with a cookie jar that follows no redirect by itself.
 */
import type { Server } from 'node:http';
import Provider from 'oidc-provider';
import { freePort } from './harness.ts';

export interface TestAccount {
  email: string;
  given_name?: string;
  family_name?: string;
  email_verified?: boolean;
}

export interface TestProvider {
  issuer: string;
  close(): Promise<void>;
}

/** A port for a provider that is started later (Salon must be configured with its issuer first). */
export async function reserveIssuer(): Promise<{ issuer: string; port: number }> {
  const port = await freePort();
  return { issuer: `http://127.0.0.1:${port}`, port };
}

export async function startTestProvider(options: {
  port: number;
  clientId: string;
  clientSecret: string;
  redirectUri: string;
  accounts: Record<string, TestAccount>;
}): Promise<TestProvider> {
  const issuer = `http://127.0.0.1:${options.port}`;
  const provider = new Provider(issuer, {
    clients: [{
      client_id: options.clientId,
      client_secret: options.clientSecret,
      redirect_uris: [options.redirectUri],
      response_types: ['code'],
      grant_types: ['authorization_code'],
      token_endpoint_auth_method: 'client_secret_post',
    }],
    pkce: { required: () => true },
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name', 'given_name', 'family_name'] },
    cookies: { keys: ['a test provider cookie key'] },
    async findAccount(_ctx, id) {
      const account = options.accounts[id];
      if (!account) return undefined;
      return {
        accountId: id,
        async claims() {
          const name = [account.given_name, account.family_name].filter(Boolean).join(' ');
          return { sub: id, email_verified: true, ...account, ...(name ? { name } : {}) };
        },
      };
    },
  });
  const server: Server = await new Promise((resolve, reject) => {
    const s = provider.listen(options.port, '127.0.0.1', () => resolve(s));
    s.once('error', reject);
  });
  return {
    issuer,
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

interface StoredCookie { value: string; path: string }

/** What a browser keeps: cookies per host (ports share them, as in browsers), sent by path. */
export class TestBrowser {
  private readonly jar = new Map<string, Map<string, StoredCookie>>();

  async request(url: string | URL, init: { method?: string; form?: Record<string, string> } = {}): Promise<Response> {
    const target = new URL(url);
    const cookies = [...(this.jar.get(target.hostname) ?? new Map<string, StoredCookie>())]
      .filter(([, c]) => target.pathname.startsWith(c.path))
      .map(([name, c]) => `${name}=${c.value}`);
    const headers: Record<string, string> = {};
    if (cookies.length) headers.cookie = cookies.join('; ');
    if (init.form) headers['content-type'] = 'application/x-www-form-urlencoded';
    const response = await fetch(target, {
      method: init.method ?? (init.form ? 'POST' : 'GET'),
      headers,
      redirect: 'manual',
      ...(init.form ? { body: new URLSearchParams(init.form).toString() } : {}),
    });
    for (const line of response.headers.getSetCookie()) this.store(target, line);
    return response;
  }

  /** The value of a cookie this browser holds for `host`. */
  cookie(host: string, name: string): string | undefined {
    return this.jar.get(host)?.get(name)?.value;
  }

  private store(from: URL, line: string): void {
    const [pair, ...attributes] = line.split(';').map((s) => s.trim());
    const eq = pair!.indexOf('=');
    const name = pair!.slice(0, eq);
    const value = pair!.slice(eq + 1);
    let path = '/';
    let gone = value === '';
    for (const attribute of attributes) {
      const [key, val = ''] = attribute.split('=');
      if (key!.toLowerCase() === 'path') path = val;
      if (key!.toLowerCase() === 'max-age' && Number(val) <= 0) gone = true;
      if (key!.toLowerCase() === 'expires' && Date.parse(val) <= Date.now()) gone = true;
    }
    const cookies = this.jar.get(from.hostname) ?? new Map<string, StoredCookie>();
    this.jar.set(from.hostname, cookies);
    if (gone) cookies.delete(name);
    else cookies.set(name, { value, path });
  }
}

/** The Location of a redirect, absolute. */
export function locationOf(response: Response, base: string | URL): URL {
  const location = response.headers.get('location');
  if (!location || response.status < 300 || response.status >= 400) throw new Error(`expected a redirect, got ${response.status}`);
  return new URL(location, base);
}

/**
 * Goes through the provider from its authorization URL as a user would: signs in as `account` on
 * the login form, accepts (or refuses, `refuse`) the consent form, and returns the URL the provider
 * sends the browser back to (the redirect URI with `code` and `state`, or `error`), unvisited.
 */
export async function throughProvider(browser: TestBrowser, authorizationUrl: URL, account: string, callbackPrefix: string, options: { refuse?: boolean } = {}): Promise<URL> {
  let url = authorizationUrl;
  for (let step = 0; step < 20; step++) {
    const response = await browser.request(url);
    if (response.status >= 300 && response.status < 400) {
      await response.arrayBuffer();
      const next = locationOf(response, url);
      if (next.href.startsWith(callbackPrefix)) return next;
      url = next;
      continue;
    }
    const page = await response.text();
    if (response.status !== 200 || !/\/interaction\/[^/]+$/.test(url.pathname)) throw new Error(`unexpected provider page ${url.href} (${response.status}): ${page.slice(0, 500)}`);
    const login = page.includes('name="login"');
    if (!login && options.refuse) {
      const aborted = await browser.request(new URL(`${url.pathname}/abort`, url));
      await aborted.arrayBuffer();
      url = locationOf(aborted, url);
      continue;
    }
    const submitted = await browser.request(url, { form: login ? { prompt: 'login', login: account, password: 'any' } : { prompt: 'consent' } });
    await submitted.arrayBuffer();
    url = locationOf(submitted, url);
    if (url.href.startsWith(callbackPrefix)) return url;
  }
  throw new Error('the provider did not send the browser back');
}
