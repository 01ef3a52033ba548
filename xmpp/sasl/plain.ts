/**
 * SASL PLAIN (RFC 4616), offered only on TLS or loopback connections. With accounts kept as
 * scrypt hashes it is the only password mechanism: the store checks (and may migrate) the account.
 */
import type { AccountStore } from '../accounts.ts';
import { normaliseLocal } from '../jid.ts';
import { SaslFailure, type SaslContext, type SaslMechanism, type SaslStep } from './mechanism.ts';

export class PlainMechanism implements SaslMechanism {
  readonly name = 'PLAIN';
  constructor(private readonly ctx: SaslContext, private readonly accounts: AccountStore) {}

  async step(response: Buffer | null): Promise<SaslStep> {
    if (response === null) return { kind: 'challenge', data: Buffer.alloc(0) };
    const parts = response.toString('utf8').split('\u0000');
    if (parts.length !== 3) throw new SaslFailure('malformed-request', 'expected authzid NUL authcid NUL passwd');
    const [authzid, authcid, password] = parts as [string, string, string];
    let username: string;
    try {
      username = normaliseLocal(authcid);
    } catch {
      throw new SaslFailure('not-authorized');
    }
    if (authzid && authzid !== `${username}@${this.ctx.domain}` && authzid !== username) throw new SaslFailure('invalid-authzid');
    this.ctx.admit?.(`${username}@${this.ctx.domain}`);
    const ok = await this.accounts.verifyPassword(`${username}@${this.ctx.domain}`, password);
    if (!ok) throw new SaslFailure('not-authorized', 'wrong username or password');
    return { kind: 'success', username };
  }
}
