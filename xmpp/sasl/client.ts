/**
 * The client side of SASL, for Salon's own roles logging in to an XMPP server over the network:
 * SCRAM-SHA-256 and SCRAM-SHA-1 (RFC 5802, RFC 7677) without channel binding (gs2 header "n,,"),
 * and PLAIN (RFC 4616) only on a connection that is already private. SCRAM's final server
 * message is checked (RFC 5802 §5.1: the client MUST verify ServerSignature), so a server that
 * does not hold the account's keys cannot pass itself off as the real one.
 */
import { randomBytes } from 'node:crypto';
import { constantTimeEqual, digest, hmac, saltedPassword, type ScramHash } from '../accounts.ts';

export type ClientMechanismName = 'SCRAM-SHA-256' | 'SCRAM-SHA-1' | 'PLAIN';

/** One SASL exchange as the client. */
export interface SaslClient {
  readonly name: ClientMechanismName;
  /** The initial response sent with `<auth/>`. */
  initial(): Buffer;
  /** The response to a server challenge; throws SaslClientError when the challenge is bad. */
  challenge(data: Buffer): Promise<Buffer>;
  /** Checks the additional data of `<success/>`; throws SaslClientError when it does not prove the server. */
  success(data: Buffer): void;
}

export class SaslClientError extends Error {
  override name = 'SaslClientError';
}

/** Strongest first; PLAIN only when the connection is private (TLS, or loopback). */
const PREFERENCE: readonly ClientMechanismName[] = ['SCRAM-SHA-256', 'SCRAM-SHA-1', 'PLAIN'];

/** The mechanism to use among those the server offers, or undefined when none fits. */
export function chooseMechanism(offered: readonly string[], privateConnection: boolean): ClientMechanismName | undefined {
  return PREFERENCE.find((name) => offered.includes(name) && (name !== 'PLAIN' || privateConnection));
}

export function createSaslClient(name: ClientMechanismName, username: string, password: string, nonce = randomBytes(18).toString('base64')): SaslClient {
  if (name === 'PLAIN') return new PlainClient(username, password);
  return new ScramClient(name === 'SCRAM-SHA-256' ? 'sha256' : 'sha1', name, username, password, nonce);
}

class PlainClient implements SaslClient {
  readonly name = 'PLAIN';
  constructor(private readonly username: string, private readonly password: string) {}

  initial(): Buffer {
    // authzid (empty: the account itself) NUL authcid NUL password
    return Buffer.from(`\0${this.username}\0${this.password}`, 'utf8');
  }

  challenge(): Promise<Buffer> {
    return Promise.reject(new SaslClientError('PLAIN takes no challenge'));
  }

  success(): void {}
}

/** RFC 5802 §5.1 saslname: ',' and '=' escaped. */
function saslName(name: string): string {
  return name.replace(/=/g, '=3D').replace(/,/g, '=2C');
}

function parseAttributes(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of text.split(',')) {
    if (part.length < 2 || part[1] !== '=') throw new SaslClientError(`malformed SCRAM message ${JSON.stringify(text.slice(0, 40))}`);
    out.set(part[0]!, part.slice(2));
  }
  return out;
}

const GS2_HEADER = 'n,,';

class ScramClient implements SaslClient {
  readonly #clientFirstBare: string;
  #expectedServerSignature: Buffer | undefined;
  #verified = false;

  constructor(
    private readonly hash: ScramHash,
    readonly name: ClientMechanismName,
    username: string,
    private readonly password: string,
    private readonly nonce: string,
  ) {
    this.#clientFirstBare = `n=${saslName(username)},r=${nonce}`;
  }

  initial(): Buffer {
    return Buffer.from(GS2_HEADER + this.#clientFirstBare, 'utf8');
  }

  async challenge(data: Buffer): Promise<Buffer> {
    if (this.#expectedServerSignature) {
      // RFC 6120 §6.3.10 lets a server send its final message as a challenge, then an empty success.
      this.#verify(data);
      return Buffer.alloc(0);
    }
    const serverFirst = data.toString('utf8');
    const attrs = parseAttributes(serverFirst);
    if (attrs.has('m')) throw new SaslClientError('SCRAM extension required by the server');
    const combinedNonce = attrs.get('r');
    const salt = attrs.get('s');
    const iterations = Number(attrs.get('i'));
    if (!combinedNonce || !combinedNonce.startsWith(this.nonce) || combinedNonce.length === this.nonce.length) {
      throw new SaslClientError('the server nonce does not extend ours');
    }
    // RFC 7677 §4: at least 4096 rounds; an upper bound keeps a hostile server from burning our CPU.
    if (!salt || !Number.isInteger(iterations) || iterations < 4096 || iterations > 1_000_000) {
      throw new SaslClientError(`unacceptable SCRAM salt or iteration count (${attrs.get('i') ?? 'none'})`);
    }
    const salted = await saltedPassword(this.password, Buffer.from(salt, 'base64'), iterations, this.hash);
    const clientKey = hmac(this.hash, salted, 'Client Key');
    const storedKey = digest(this.hash, clientKey);
    const withoutProof = `c=${Buffer.from(GS2_HEADER, 'utf8').toString('base64')},r=${combinedNonce}`;
    const authMessage = `${this.#clientFirstBare},${serverFirst},${withoutProof}`;
    const clientSignature = hmac(this.hash, storedKey, authMessage);
    const proof = Buffer.alloc(clientKey.length);
    for (let i = 0; i < proof.length; i++) proof[i] = clientKey[i]! ^ clientSignature[i]!;
    this.#expectedServerSignature = hmac(this.hash, hmac(this.hash, salted, 'Server Key'), authMessage);
    return Buffer.from(`${withoutProof},p=${proof.toString('base64')}`, 'utf8');
  }

  success(data: Buffer): void {
    if (data.length === 0 && this.#verified) return;
    this.#verify(data);
  }

  #verify(data: Buffer): void {
    if (!this.#expectedServerSignature || this.#verified) throw new SaslClientError('unexpected SCRAM server-final message');
    const attrs = parseAttributes(data.toString('utf8'));
    if (attrs.has('e')) throw new SaslClientError(`SCRAM server error ${attrs.get('e')}`);
    const signature = Buffer.from(attrs.get('v') ?? '', 'base64');
    if (!constantTimeEqual(signature, this.#expectedServerSignature)) throw new SaslClientError('the server did not prove it knows the account (bad SCRAM server signature)');
    this.#verified = true;
  }
}
