/**
 * SASL ANONYMOUS (RFC 4505) with Jitsi's two twists: a `previd` query parameter naming a
 * resumable session gives back that session's username, so XEP-0198 resumption works after an
 * anonymous re-login (jitsi-anonymous provider), and a `token` parameter is handed to a
 * verifier hook (JWT, filled by the authentication work).
 */
import { randomUUID } from 'node:crypto';
import { SaslFailure, type SaslContext, type SaslMechanism, type SaslStep } from './mechanism.ts';

export interface TokenVerifier {
  /** Resolves the token's claims, or throws SaslFailure('not-allowed'-like) with a reason text. */
  verify(token: string, ctx: SaslContext): Promise<Record<string, unknown>>;
  /**
   * Whether a login on `domain` must carry a token (a Prosody VirtualHost with
   * `authentication = "token"` and `allow_empty_token = false`); default never.
   */
  requiresToken?(domain: string): boolean;
}

export interface AnonymousOptions {
  ctx: SaslContext;
  /** The username of a resumable session whose SM id is `previd`, if any. */
  usernameForResumption(previd: string): string | undefined;
  tokenVerifier?: TokenVerifier;
}

export class AnonymousMechanism implements SaslMechanism {
  readonly name = 'ANONYMOUS';
  constructor(private readonly options: AnonymousOptions) {}

  async step(): Promise<SaslStep> {
    const { ctx, tokenVerifier } = this.options;
    const token = ctx.query.get('token');
    let claims: Record<string, unknown> | undefined;
    if (token && tokenVerifier) claims = await tokenVerifier.verify(token, ctx);
    else if (token) throw new SaslFailure('not-authorized', 'tokens are not accepted on this server');
    else if (tokenVerifier?.requiresToken?.(ctx.domain)) throw new SaslFailure('not-authorized', 'a token is required');
    const previd = ctx.query.get('previd');
    const username = (previd && this.options.usernameForResumption(previd)) || randomUUID();
    return claims ? { kind: 'success', username, claims } : { kind: 'success', username };
  }
}
