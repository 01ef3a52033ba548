/**
 * The accounts store: one JSON file in the state directory holding, per account, salted SCRAM
 * credentials (RFC 5802 StoredKey/ServerKey for SHA-1 and SHA-256), never the password itself,
 * as Prosody's internal_hashed does. PLAIN logins are checked against the same keys.
 */
import { pbkdf2, randomBytes, createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { readFile, writeFile, rename, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { promisify } from 'node:util';

const pbkdf2Async = promisify(pbkdf2);

export type ScramHash = 'sha1' | 'sha256';
export interface ScramCredentials {
  salt: string; // base64
  iterations: number;
  storedKey: string; // base64
  serverKey: string; // base64
}
export interface Account {
  scram: Record<ScramHash, ScramCredentials>;
  createdAt: string;
}
type StoreFile = { version: 1; accounts: Record<string, Account> };

export const DEFAULT_ITERATIONS = 10000;
const KEY_LENGTH: Record<ScramHash, number> = { sha1: 20, sha256: 32 };

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

export function constantTimeEqual(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

export class AccountStore {
  private accounts = new Map<string, Account>();
  private writing: Promise<void> = Promise.resolve();

  private constructor(private readonly file: string) {}

  /** Opens (or starts empty) the store kept in `file`. */
  static async open(file: string): Promise<AccountStore> {
    const store = new AccountStore(file);
    try {
      const parsed = JSON.parse(await readFile(file, 'utf8')) as StoreFile;
      for (const [jid, account] of Object.entries(parsed.accounts ?? {})) store.accounts.set(jid, account);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`accounts file ${file}: ${(err as Error).message}`);
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

  async setPassword(bareJid: string, password: string): Promise<void> {
    if (password.length < 8) throw new Error('password too short (8 characters at least)');
    const account: Account = {
      scram: { sha1: await deriveCredentials(password, 'sha1'), sha256: await deriveCredentials(password, 'sha256') },
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

  /** Checks a plain password (SASL PLAIN) against the stored SHA-256 keys, in constant time. */
  async verifyPassword(bareJid: string, password: string): Promise<boolean> {
    const account = this.accounts.get(bareJid);
    // Unknown accounts cost the same work, so timing does not reveal which accounts exist.
    const creds = account?.scram.sha256 ?? { salt: 'AAAAAAAAAAAAAAAAAAAAAA==', iterations: DEFAULT_ITERATIONS, storedKey: Buffer.alloc(32).toString('base64'), serverKey: '' };
    const salted = await saltedPassword(password, Buffer.from(creds.salt, 'base64'), creds.iterations, 'sha256');
    const storedKey = digest('sha256', hmac('sha256', salted, 'Client Key'));
    return constantTimeEqual(storedKey, Buffer.from(creds.storedKey, 'base64')) && account !== undefined;
  }

  private save(): Promise<void> {
    // Writes are serialised and atomic (temp file + rename), so a crash never leaves half a file.
    const data: StoreFile = { version: 1, accounts: Object.fromEntries(this.accounts) };
    this.writing = this.writing.then(async () => {
      await mkdir(dirname(this.file), { recursive: true, mode: 0o700 });
      const tmp = `${this.file}.${process.pid}.tmp`;
      await writeFile(tmp, JSON.stringify(data, null, 1), { mode: 0o600 });
      await rename(tmp, this.file);
    });
    return this.writing;
  }
}
