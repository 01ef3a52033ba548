/**
 * The accounts store: one JSON file in the state directory, never holding a password itself.
 * Each account is kept one of two ways, chosen by the configuration (`xmpp.passwordStorage`):
 * - `scrypt`: a memory-hard scrypt hash (RFC 7914), checked on SASL PLAIN logins only;
 * - `scram`: salted SCRAM credentials (RFC 5802 StoredKey/ServerKey for SHA-1 and SHA-256, PBKDF2
 *   with 10 000 rounds), as Prosody's internal_hashed, for SCRAM logins and PLAIN alike.
 * A password is checked against scrypt when the account has it, else against the SCRAM keys; a
 * successful check of an account kept the other way rewrites it the configured way, so a store
 * moves to the configured storage as users log in.
 *
 * File format: `{ version: 2, accounts }`. Version 1 (SCRAM keys only) still loads; a version this
 * code does not know is refused rather than rewritten without the fields it does not understand.
 */
import { pbkdf2, randomBytes, createHash, createHmac, scrypt, timingSafeEqual } from 'node:crypto';
import { readFile, writeFile, rename, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { promisify } from 'node:util';

const pbkdf2Async = promisify(pbkdf2);

export type PasswordStorage = 'scrypt' | 'scram';
export type ScramHash = 'sha1' | 'sha256';
export interface ScramCredentials {
  salt: string; // base64
  iterations: number;
  storedKey: string; // base64
  serverKey: string; // base64
}
/** scrypt (RFC 7914) of the NFKC-normalised password; `hash` is the 32-byte derived key. */
export interface ScryptCredentials {
  salt: string; // base64
  N: number;
  r: number;
  p: number;
  hash: string; // base64
}
export interface Account {
  scrypt?: ScryptCredentials;
  scram?: Record<ScramHash, ScramCredentials>;
  createdAt: string;
}
const FILE_VERSION = 2;
type StoreFile = { version: 1 | 2; accounts: Record<string, Account> };

export const DEFAULT_ITERATIONS = 10000;
const KEY_LENGTH: Record<ScramHash, number> = { sha1: 20, sha256: 32 };

/**
 * N=2^15, r=8, p=1: 32 MiB per hash, the parameters the scrypt paper and Go's x/crypto/scrypt give
 * for interactive logins. A hash costs 0.1 to 0.2 s of one core (0.18 s measured on a busy 2-core machine); libuv
 * runs at most 4 at once, so concurrent logins hold at most 4 × 32 MiB.
 */
export const SCRYPT_PARAMS = { N: 2 ** 15, r: 8, p: 1 } as const;
const SCRYPT_KEY_LENGTH = 32;
/** Bounds for parameters read from the file: a hand-edited N must not ask for gigabytes. */
const SCRYPT_MAX_N = 2 ** 20;
const SCRYPT_MAX_MEMORY = 256 * 1024 * 1024;

export async function saltedPassword(password: string, salt: Buffer, iterations: number, hash: ScramHash): Promise<Buffer> {
  return pbkdf2Async(Buffer.from(password.normalize('NFKC'), 'utf8'), salt, iterations, KEY_LENGTH[hash], hash);
}

export function hmac(hash: ScramHash, key: Buffer, data: string | Buffer): Buffer {
  return createHmac(hash, key).update(data).digest();
}

export function digest(hash: ScramHash, data: Buffer): Buffer {
  return createHash(hash).update(data).digest();
}

export async function deriveCredentials(password: string, hash: ScramHash, iterations = DEFAULT_ITERATIONS): Promise<ScramCredentials> {
  const salt = randomBytes(16);
  const salted = await saltedPassword(password, salt, iterations, hash);
  const clientKey = hmac(hash, salted, 'Client Key');
  return {
    salt: salt.toString('base64'),
    iterations,
    storedKey: digest(hash, clientKey).toString('base64'),
    serverKey: hmac(hash, salted, 'Server Key').toString('base64'),
  };
}

/** scrypt with a memory limit sized to the parameters (Node's default, 32 MiB, is just too small for N=2^15, r=8). */
export function scryptKey(password: string, salt: Buffer, params: { N: number; r: number; p: number }, keyLength = SCRYPT_KEY_LENGTH): Promise<Buffer> {
  const { N, r, p } = params;
  return new Promise((resolve, reject) => {
    scrypt(Buffer.from(password.normalize('NFKC'), 'utf8'), salt, keyLength, { N, r, p, maxmem: 2 * 128 * N * r * p + 1024 * 1024 }, (err, key) => {
      if (err) reject(err);
      else resolve(key);
    });
  });
}

export async function deriveScrypt(password: string, params: { N: number; r: number; p: number } = SCRYPT_PARAMS): Promise<ScryptCredentials> {
  const salt = randomBytes(16);
  const key = await scryptKey(password, salt, params);
  return { salt: salt.toString('base64'), N: params.N, r: params.r, p: params.p, hash: key.toString('base64') };
}

async function scramCredentials(password: string): Promise<Record<ScramHash, ScramCredentials>> {
  return { sha1: await deriveCredentials(password, 'sha1'), sha256: await deriveCredentials(password, 'sha256') };
}

export function constantTimeEqual(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

async function checkScrypt(creds: ScryptCredentials, password: string): Promise<boolean> {
  const expected = Buffer.from(creds.hash, 'base64');
  const key = await scryptKey(password, Buffer.from(creds.salt, 'base64'), creds, expected.length || SCRYPT_KEY_LENGTH);
  return constantTimeEqual(key, expected);
}

async function checkScram(creds: ScramCredentials, password: string): Promise<boolean> {
  const salted = await saltedPassword(password, Buffer.from(creds.salt, 'base64'), creds.iterations, 'sha256');
  const storedKey = digest('sha256', hmac('sha256', salted, 'Client Key'));
  return constantTimeEqual(storedKey, Buffer.from(creds.storedKey, 'base64'));
}

/** Stand-ins checked for unknown accounts, so a refusal costs the same work whether or not the account exists. */
const FAKE_SCRYPT: ScryptCredentials = { salt: randomBytes(16).toString('base64'), ...SCRYPT_PARAMS, hash: randomBytes(SCRYPT_KEY_LENGTH).toString('base64') };
const FAKE_SCRAM: ScramCredentials = { salt: randomBytes(16).toString('base64'), iterations: DEFAULT_ITERATIONS, storedKey: randomBytes(32).toString('base64'), serverKey: '' };

function validScrypt(c: ScryptCredentials): boolean {
  return typeof c.salt === 'string' && typeof c.hash === 'string' && Number.isInteger(c.N) && c.N >= 2 && c.N <= SCRYPT_MAX_N
    && (c.N & (c.N - 1)) === 0 && Number.isInteger(c.r) && c.r >= 1 && c.r <= 32 && Number.isInteger(c.p) && c.p >= 1 && c.p <= 16
    // scrypt needs 128·N·r bytes: at most 256 MiB per hash, 8 times the default.
    && 128 * c.N * c.r <= SCRYPT_MAX_MEMORY;
}

export interface AccountStoreOptions {
  /** How new and changed passwords are kept (default scrypt). */
  storage?: PasswordStorage;
}

export class AccountStore {
  private accounts = new Map<string, Account>();
  private writing: Promise<void> = Promise.resolve();

  private constructor(private readonly file: string, readonly storage: PasswordStorage) {}

  /** Opens (or starts empty) the store kept in `file`. */
  static async open(file: string, options: AccountStoreOptions = {}): Promise<AccountStore> {
    const store = new AccountStore(file, options.storage ?? 'scrypt');
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`accounts file ${file}: ${(err as Error).message}`);
      return store;
    }
    try {
      const parsed = JSON.parse(text) as StoreFile;
      // Version 1 (before scrypt) held SCRAM keys only; its accounts load as they are.
      const version = parsed.version ?? 1;
      if (version !== 1 && version !== FILE_VERSION) throw new Error(`unknown format version ${String(version)} (this Salon reads 1 and ${FILE_VERSION})`);
      for (const [jid, account] of Object.entries(parsed.accounts ?? {})) {
        if (account.scrypt && !validScrypt(account.scrypt)) throw new Error(`${jid}: bad scrypt parameters`);
        if (!account.scrypt && !account.scram) throw new Error(`${jid}: neither scrypt nor SCRAM credentials`);
        store.accounts.set(jid, account);
      }
    } catch (err) {
      throw new Error(`accounts file ${file}: ${(err as Error).message}`);
    }
    return store;
  }

  get(bareJid: string): Account | undefined {
    return this.accounts.get(bareJid);
  }

  has(bareJid: string): boolean {
    return this.accounts.has(bareJid);
  }

  list(): string[] {
    return [...this.accounts.keys()].sort();
  }

  /** Whether the account is kept another way than the configured one (a PLAIN login would rewrite it). */
  needsRehash(bareJid: string): boolean {
    const account = this.accounts.get(bareJid);
    return account !== undefined && this.otherWay(account);
  }

  /** Sets the password, kept the configured way only (the other way's credentials are dropped). */
  async setPassword(bareJid: string, password: string): Promise<void> {
    if (password.length < 8) throw new Error('password too short (8 characters at least)');
    const account: Account = {
      ...(await this.credentials(password)),
      createdAt: this.accounts.get(bareJid)?.createdAt ?? new Date().toISOString(),
    };
    this.accounts.set(bareJid, account);
    await this.save();
  }

  async remove(bareJid: string): Promise<boolean> {
    const had = this.accounts.delete(bareJid);
    if (had) await this.save();
    return had;
  }

  /**
   * Checks a plain password (SASL PLAIN) against the account's scrypt hash if it has one, else its
   * SHA-256 SCRAM keys, in constant time. A match on an account kept the other way rewrites it
   * the configured way (migration) before answering.
   */
  async verifyPassword(bareJid: string, password: string): Promise<boolean> {
    const account = this.accounts.get(bareJid);
    if (!account) {
      // Unknown accounts cost the work of a new account's check, so timing does not tell which exist.
      if (this.storage === 'scrypt') await checkScrypt(FAKE_SCRYPT, password);
      else await checkScram(FAKE_SCRAM, password);
      return false;
    }
    const scram = account.scram?.sha256;
    const ok = account.scrypt ? await checkScrypt(account.scrypt, password) : scram ? await checkScram(scram, password) : false;
    if (!ok) {
      // An account not yet moved to scrypt fails as slowly as an unknown one.
      if (this.storage === 'scrypt' && !account.scrypt) await checkScrypt(FAKE_SCRYPT, password);
      return false;
    }
    if (this.otherWay(account)) await this.migrate(bareJid, account, password);
    return true;
  }

  private otherWay(account: Account): boolean {
    return this.storage === 'scrypt' ? account.scram !== undefined : account.scrypt !== undefined;
  }

  private async credentials(password: string): Promise<Pick<Account, 'scrypt' | 'scram'>> {
    if (this.storage === 'scrypt') return { scrypt: await deriveScrypt(password) };
    return { scram: await scramCredentials(password) };
  }

  private async migrate(bareJid: string, account: Account, password: string): Promise<void> {
    const migrated: Account = this.storage === 'scrypt'
      ? { scrypt: account.scrypt ?? (await deriveScrypt(password)), createdAt: account.createdAt }
      : { scram: account.scram ?? (await scramCredentials(password)), createdAt: account.createdAt };
    // A password set (or an account removed) meanwhile wins over this login's rewrite.
    if (this.accounts.get(bareJid) !== account) return;
    this.accounts.set(bareJid, migrated);
    try {
      await this.save();
    } catch (err) {
      if (this.accounts.get(bareJid) === migrated) this.accounts.set(bareJid, account);
      throw err;
    }
  }

  private save(): Promise<void> {
    // Writes are serialised and atomic (temp file + rename), so a crash never leaves half a file.
    const data: StoreFile = { version: FILE_VERSION, accounts: Object.fromEntries(this.accounts) };
    const write = this.writing.then(async () => {
      await mkdir(dirname(this.file), { recursive: true, mode: 0o700 });
      const tmp = `${this.file}.${process.pid}.tmp`;
      await writeFile(tmp, JSON.stringify(data, null, 1), { mode: 0o600 });
      await rename(tmp, this.file);
    });
    // One failed write must not fail every later one.
    this.writing = write.catch(() => undefined);
    return write;
  }
}
