/**
 * The state directory: the only place Salon writes. It holds generated secrets (service
 * accounts' passwords, component secrets), the accounts store and the self-signed certificate.
 * Everything here is created at first start when absent, with owner-only permissions.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { generate } from 'selfsigned';

export interface Secrets {
  /** Password of focus@<authDomain>, for a focus running out of process. */
  focusPassword: string;
  /** Password of jvb@<authDomain>, for bridges running out of process. */
  jvbPassword: string;
  /** Key for short-lived tokens Salon mints itself (bridge channel, document access). */
  tokenKey: string;
  /**
   * Signs (HS256) the Jitsi-format tokens minted after an OpenID Connect sign-in when no
   * JWT_APP_SECRET is configured; the XMPP server verifies them with it.
   */
  oidcTokenSecret: string;
}

export async function ensureStateDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
}

async function writeAtomic(file: string, data: string): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, data, { mode: 0o600 });
  await rename(tmp, file);
}

export async function loadSecrets(dir: string): Promise<Secrets> {
  const file = join(dir, 'secrets.json');
  let stored: Partial<Secrets> = {};
  try {
    stored = JSON.parse(await readFile(file, 'utf8')) as Partial<Secrets>;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`${file}: ${(err as Error).message}`);
  }
  const secret = (): string => randomBytes(24).toString('base64url');
  const secrets: Secrets = {
    focusPassword: stored.focusPassword ?? secret(),
    jvbPassword: stored.jvbPassword ?? secret(),
    tokenKey: stored.tokenKey ?? secret(),
    // 32 bytes: the full strength of HS256 (RFC 7518 §3.2 asks for a key of at least the hash size).
    oidcTokenSecret: stored.oidcTokenSecret ?? randomBytes(32).toString('base64url'),
  };
  if (JSON.stringify(stored) !== JSON.stringify(secrets)) await writeAtomic(file, JSON.stringify(secrets, null, 1));
  return secrets;
}

/**
 * The secrets of an existing state dir, without creating any: `salon bridge` on the XMPP server's
 * own machine finds the bridge account's password there. Undefined when there is no secrets.json.
 */
export async function readSecrets(dir: string): Promise<Partial<Secrets> | undefined> {
  const file = join(dir, 'secrets.json');
  try {
    return JSON.parse(await readFile(file, 'utf8')) as Partial<Secrets>;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(`${file}: ${(err as Error).message}`);
  }
}

export interface Certificate {
  cert: string;
  key: string;
}

/** The self-signed certificate of this server, generated once (for STARTTLS and `--tls self-signed`). */
export async function loadSelfSignedCertificate(dir: string, hostnames: readonly string[]): Promise<Certificate> {
  const certFile = join(dir, 'self-signed.crt');
  const keyFile = join(dir, 'self-signed.key');
  try {
    return { cert: await readFile(certFile, 'utf8'), key: await readFile(keyFile, 'utf8') };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const notAfterDate = new Date(Date.now() + 825 * 24 * 3600 * 1000);
  const pems = await generate([{ name: 'commonName', value: hostnames[0] ?? 'localhost' }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notAfterDate,
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [
          ...[...new Set(['localhost', ...hostnames])].map((value) => ({ type: 2 as const, value })),
          { type: 7 as const, ip: '127.0.0.1' },
          { type: 7 as const, ip: '::1' },
        ],
      },
    ],
  });
  await writeAtomic(keyFile, pems.private);
  await writeAtomic(certFile, pems.cert);
  return { cert: pems.cert, key: pems.private };
}
