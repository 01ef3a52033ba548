/**
 * The server side of one SASL exchange (RFC 4422, carried as in RFC 6120 §6).
 */
export type SaslFailureCondition =
  | 'aborted' | 'account-disabled' | 'credentials-expired' | 'encryption-required' | 'incorrect-encoding'
  | 'invalid-authzid' | 'invalid-mechanism' | 'malformed-request' | 'mechanism-too-weak'
  | 'not-authorized' | 'temporary-auth-failure';

export class SaslFailure extends Error {
  constructor(readonly condition: SaslFailureCondition, readonly text?: string) {
    super(text ? `${condition}: ${text}` : condition);
    this.name = 'SaslFailure';
  }
}

export type SaslStep =
  | { kind: 'challenge'; data: Buffer }
  /** `username` is the localpart to bind; for ANONYMOUS a generated one. */
  | { kind: 'success'; username: string; data?: Buffer; claims?: Record<string, unknown> };

export interface SaslMechanism {
  readonly name: string;
  /** One step; `response` is null when the client sent no initial response. Throws SaslFailure. */
  step(response: Buffer | null): Promise<SaslStep>;
}

/** What a mechanism may know about the connection it authenticates. */
export interface SaslContext {
  domain: string;
  secure: boolean;
  remoteAddress: string;
  /** The transport's URL query (WebSocket/BOSH): Jitsi's `token`, `previd`, `room`. */
  query: URLSearchParams;
  /**
   * Called with the account (`user@domain`) before its password is checked; throws a SaslFailure
   * to refuse the attempt unchecked (failed-login limits, ../login-limits.ts).
   */
  admit?(account: string): void;
}
