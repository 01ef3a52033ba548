/**
 * SASL SCRAM-SHA-1 and SCRAM-SHA-256 (RFC 5802, RFC 7677), server side, against the stored
 * keys of the accounts store. Channel binding (-PLUS) is not offered, so a client asking for it
 * ("p=") is refused; "y" (client supports it, thinks we do not) is accepted. Offered only when
 * the accounts are kept as SCRAM keys (xmpp.passwordStorage `scram`).
 */
import { randomBytes, createHmac } from 'node:crypto';
import { constantTimeEqual, digest, hmac, DEFAULT_ITERATIONS, type AccountStore, type ScramHash } from '../accounts.ts';
import { normaliseLocal } from '../jid.ts';
import { SaslFailure, type SaslContext, type SaslMechanism, type SaslStep } from './mechanism.ts';

/** Per-process secret used to give unknown users a stable fake salt (no account enumeration). */
const fakeSaltKey = randomBytes(32);

function parseAttributes(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of text.split(',')) {
    if (part.length < 2 || part[1] !== '=') throw new SaslFailure('malformed-request', `bad attribute ${JSON.stringify(part.slice(0, 16))}`);
    out.set(part[0]!, part.slice(2));
  }
  return out;
}

function decodeSaslName(name: string): string {
  if (/=(?!2C|3D)/.test(name)) throw new SaslFailure('malformed-request', 'bad saslname escape');
  return name.replace(/=2C/g, ',').replace(/=3D/g, '=');
}

export class ScramMechanism implements SaslMechanism {
  readonly name: string;
  private state: 'first' | 'final' | 'done' = 'first';
  private username = '';
  private gs2Header = '';
  private clientFirstBare = '';
  private serverFirst = '';
  private nonce = '';
  private storedKey = Buffer.alloc(0);
  private serverKey = Buffer.alloc(0);
  private known = false;

  constructor(private readonly hash: ScramHash, private readonly ctx: SaslContext, private readonly accounts: AccountStore) {
    this.name = hash === 'sha1' ? 'SCRAM-SHA-1' : 'SCRAM-SHA-256';
  }

  async step(response: Buffer | null): Promise<SaslStep> {
    if (response === null) return { kind: 'challenge', data: Buffer.alloc(0) };
    const text = response.toString('utf8');
    if (this.state === 'first') return this.first(text);
    if (this.state === 'final') return this.final(text);
    throw new SaslFailure('malformed-request', 'exchange already finished');
  }

  private first(text: string): SaslStep {
    // gs2-header = gs2-cbind-flag "," [ authzid ] ","
    const m = /^([ny]|p=[^,]*),(a=[^,]*)?,(.*)$/s.exec(text);
    if (!m) throw new SaslFailure('malformed-request', 'bad gs2 header');
    if (m[1]!.startsWith('p=')) throw new SaslFailure('malformed-request', 'channel binding not offered');
    this.gs2Header = `${m[1]},${m[2] ?? ''},`;
    this.clientFirstBare = m[3]!;
    const attrs = parseAttributes(this.clientFirstBare);
    const name = attrs.get('n');
    const clientNonce = attrs.get('r');
    if (!name || !clientNonce || attrs.has('m')) throw new SaslFailure('malformed-request', 'client-first needs n and r');
    try {
      this.username = normaliseLocal(decodeSaslName(name));
    } catch (err) {
      if (err instanceof SaslFailure) throw err;
      throw new SaslFailure('not-authorized');
    }
    // The authzid may only name the account itself, as for PLAIN (RFC 6120 §6.4.6).
    const authzid = m[2] ? decodeSaslName(m[2].slice(2)) : '';
    if (authzid && authzid !== `${this.username}@${this.ctx.domain}` && authzid !== this.username) throw new SaslFailure('invalid-authzid');
    this.ctx.admit?.(`${this.username}@${this.ctx.domain}`);
    const account = this.accounts.get(`${this.username}@${this.ctx.domain}`);
    // An account kept as scrypt only has no SCRAM keys: it gets the same fake salt as an unknown
    // account and fails like a wrong password, so the exchange does not tell it exists.
    const creds = account?.scram?.[this.hash];
    this.known = creds !== undefined;
    const salt = creds ? creds.salt : createHmac('sha256', fakeSaltKey).update(this.username).digest().subarray(0, 16).toString('base64');
    const iterations = creds?.iterations ?? DEFAULT_ITERATIONS;
    this.storedKey = creds ? Buffer.from(creds.storedKey, 'base64') : randomBytes(this.hash === 'sha1' ? 20 : 32);
    this.serverKey = creds ? Buffer.from(creds.serverKey, 'base64') : randomBytes(this.hash === 'sha1' ? 20 : 32);
    this.nonce = clientNonce + randomBytes(18).toString('base64');
    this.serverFirst = `r=${this.nonce},s=${salt},i=${iterations}`;
    this.state = 'final';
    return { kind: 'challenge', data: Buffer.from(this.serverFirst, 'utf8') };
  }

  private final(text: string): SaslStep {
    this.state = 'done';
    const proofAt = text.lastIndexOf(',p=');
    if (proofAt === -1) throw new SaslFailure('malformed-request', 'client-final needs p');
    const withoutProof = text.slice(0, proofAt);
    const attrs = parseAttributes(withoutProof);
    const proof = Buffer.from(text.slice(proofAt + 3), 'base64');
    if (attrs.get('c') !== Buffer.from(this.gs2Header, 'utf8').toString('base64')) throw new SaslFailure('malformed-request', 'channel binding mismatch');
    if (attrs.get('r') !== this.nonce) throw new SaslFailure('malformed-request', 'nonce mismatch');
    const authMessage = `${this.clientFirstBare},${this.serverFirst},${withoutProof}`;
    const clientSignature = hmac(this.hash, this.storedKey, authMessage);
    if (proof.length !== clientSignature.length) throw new SaslFailure('not-authorized', 'wrong username or password');
    const clientKey = Buffer.alloc(proof.length);
    for (let i = 0; i < proof.length; i++) clientKey[i] = proof[i]! ^ clientSignature[i]!;
    if (!constantTimeEqual(digest(this.hash, clientKey), this.storedKey) || !this.known) {
      throw new SaslFailure('not-authorized', 'wrong username or password');
    }
    const serverSignature = hmac(this.hash, this.serverKey, authMessage);
    return { kind: 'success', username: this.username, data: Buffer.from(`v=${serverSignature.toString('base64')}`, 'utf8') };
  }
}
