/**
 * Verifies Jitsi-format JSON Web Tokens (RFC 7519) for SASL ANONYMOUS logins, and reads the grants
 * a verified token carries for one room.
 *
 * The format is Jitsi's (jitsi-meet doc/tokens.md, Prosody's token/util.lib.lua): `iss` an accepted
 * issuer (default the app id), `aud` an accepted audience (default the app id and "jitsi"), `exp`
 * required, `nbf` honoured, `room` a room name or "*", `context.user` for the identity and its
 * `moderator` flag. Each key type has its own algorithm allow-list: the shared secret verifies
 * HS256/384/512 only, a public key or JWKS RS256/384/512 and ES256/384/512 only, so the token's
 * `alg` never makes a public key act as an HMAC secret (the HS/RS confusion of JSA-2021-0002).
 */
import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createLocalJWKSet, errors, jwtVerify, type JSONWebKeySet, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import type { Logger } from 'pino';
import type { TokenVerifier } from '../sasl/anonymous.ts';
import { SaslFailure } from '../sasl/mechanism.ts';

const HMAC_ALGORITHMS = ['HS256', 'HS384', 'HS512'] as const;
const RSA_ALGORITHMS = ['RS256', 'RS384', 'RS512'] as const;
const EC_ALGORITHMS = ['ES256', 'ES384', 'ES512'] as const;
/** A public EC key fits exactly one ES algorithm, named by its curve (RFC 7518 §3.4). */
const EC_ALGORITHM_BY_CURVE: Record<string, string> = { prime256v1: 'ES256', secp384r1: 'ES384', secp521r1: 'ES512' };

/** Why a token was refused: the SASL failure `<text>` (RFC 6120 §6.5) the client shows. */
export type TokenRefusal =
  | 'token expired' | 'token not yet valid' | 'bad token signature' | 'token for another audience'
  | 'token from an unknown issuer' | 'token has no room claim' | 'token has no expiry' | 'malformed token';

export interface JwtVerifierOptions {
  /** JWT_APP_ID: the default accepted issuer and audience. */
  appId?: string;
  /** JWT_APP_SECRET: verifies HS256/HS384/HS512 tokens. */
  appSecret?: string;
  /** A public key (RSA or EC, PEM): verifies RS256/384/512 or the ES algorithm of its curve. */
  publicKeyPem?: string;
  /** A JSON Web Key Set (RFC 7517 §5) of public keys: verifies RS and ES tokens, chosen by `kid`. */
  jwks?: JSONWebKeySet;
  /** Accepted `iss` values; default [appId]. */
  acceptedIssuers?: readonly string[];
  /** Accepted `aud` values; default [appId, "jitsi"], as Prosody's token plugin. */
  acceptedAudiences?: readonly string[];
  /** Allowed clock skew for `exp` and `nbf`, in seconds; default 30. */
  clockToleranceSeconds?: number;
  /** The clock; default the system's. */
  now?: () => Date;
  log?: Logger;
}

/** The keys named by the configuration, read from their files (at start, once); errors name the file. */
export async function readJwtKeys(files: { publicKeyFile?: string | undefined; jwksFile?: string | undefined }): Promise<Pick<JwtVerifierOptions, 'publicKeyPem' | 'jwks'>> {
  const read = async (file: string): Promise<string> => {
    try {
      return await readFile(file, 'utf8');
    } catch (err) {
      throw new Error(`JWT key file ${file}: ${(err as Error).message}`, { cause: err });
    }
  };
  const keys: Pick<JwtVerifierOptions, 'publicKeyPem' | 'jwks'> = {};
  if (files.publicKeyFile) keys.publicKeyPem = await read(files.publicKeyFile);
  if (files.jwksFile) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(await read(files.jwksFile));
    } catch (err) {
      if (err instanceof SyntaxError) throw new Error(`JWKS file ${files.jwksFile}: ${err.message}`, { cause: err });
      throw err;
    }
    if (typeof parsed !== 'object' || parsed === null || !Array.isArray((parsed as { keys?: unknown }).keys)) {
      throw new Error(`JWKS file ${files.jwksFile}: not a JSON Web Key Set (an object with a "keys" array)`);
    }
    keys.jwks = parsed as JSONWebKeySet;
  }
  return keys;
}

/** The algorithms a public key may verify, from its own type (never from a token's header). */
function publicKeyAlgorithms(key: KeyObject): string[] {
  if (key.asymmetricKeyType === 'rsa') return [...RSA_ALGORITHMS];
  if (key.asymmetricKeyType === 'ec') {
    const alg = EC_ALGORITHM_BY_CURVE[key.asymmetricKeyDetails?.namedCurve ?? ''];
    if (alg) return [alg];
  }
  throw new Error(`JWT public key: an RSA or P-256/P-384/P-521 EC key is required, got ${key.asymmetricKeyType ?? 'unknown'}`);
}

function isPrivateKey(pem: string): boolean {
  try {
    createPrivateKey(pem);
    return true;
  } catch {
    return false; // not a private key: createPublicKey judges it next
  }
}

/** Builds the verifier; throws when no key is configured or a key is unusable. */
export function createJwtVerifier(options: JwtVerifierOptions): TokenVerifier {
  const secret = options.appSecret ? new TextEncoder().encode(options.appSecret) : undefined;
  // Node derives a public key from a private one; a private key where a public one belongs is a
  // key about to leak, so it is refused.
  if (options.publicKeyPem && isPrivateKey(options.publicKeyPem)) throw new Error('JWT public key: the file holds a private key; give the public key only');
  const publicKey = options.publicKeyPem ? createPublicKey(options.publicKeyPem) : undefined;
  // A JWKS here holds public keys only: a private or symmetric member is a secret in the wrong place.
  if (options.jwks?.keys.some((key) => key.kty === 'oct' || 'd' in key)) throw new Error('JWKS: give public keys only (no "d" member, no "oct" keys)');
  const jwks = options.jwks ? createLocalJWKSet(options.jwks) : undefined;
  if (!secret && !publicKey && !jwks) throw new Error('JWT verification needs a shared secret, a public key or a JWKS');

  const hmac = new Set<string>(secret ? HMAC_ALGORITHMS : []);
  const asymmetric = new Set<string>([
    ...(publicKey ? publicKeyAlgorithms(publicKey) : []),
    ...(jwks ? [...RSA_ALGORITHMS, ...EC_ALGORITHMS] : []),
  ]);
  // The key follows the algorithm family jose already checked against the allow-list: HS only
  // ever meets the secret, RS/ES only the public keys.
  const getKey: JWTVerifyGetKey = async (header, token) => {
    const alg = header.alg ?? '';
    if (hmac.has(alg) && secret) return secret;
    if (asymmetric.has(alg)) {
      if (jwks) {
        try {
          return await jwks(header, token);
        } catch (err) {
          if (!publicKey || !(err instanceof errors.JWKSNoMatchingKey)) throw err;
        }
      }
      if (publicKey) return publicKey;
    }
    throw new errors.JOSEAlgNotAllowed(`"alg" (Algorithm) Header Parameter value not allowed`);
  };

  const issuers = options.acceptedIssuers?.length ? [...options.acceptedIssuers] : options.appId ? [options.appId] : [];
  const audiences = options.acceptedAudiences?.length ? [...options.acceptedAudiences] : [...(options.appId ? [options.appId] : []), 'jitsi'];
  const verifyOptions = {
    algorithms: [...hmac, ...asymmetric],
    issuer: issuers,
    audience: audiences,
    requiredClaims: ['exp'],
    clockTolerance: options.clockToleranceSeconds ?? 30,
  };

  return {
    async verify(token) {
      let payload: JWTPayload;
      try {
        ({ payload } = await jwtVerify(token, getKey, { ...verifyOptions, ...(options.now ? { currentDate: options.now() } : {}) }));
      } catch (err) {
        const reason = refusalFor(err);
        if (!reason) throw err;
        // The token itself is never logged (ecosystem §8): only why it was refused.
        options.log?.debug({ reason }, 'token refused');
        throw new SaslFailure('not-authorized', reason);
      }
      if (typeof payload.room !== 'string' || payload.room === '') {
        options.log?.debug({ reason: 'token has no room claim' }, 'token refused');
        throw new SaslFailure('not-authorized', 'token has no room claim');
      }
      return payload as Record<string, unknown>;
    },
  };
}

/** The refusal text for a jose error; undefined for anything else (our bug, not the token's). */
function refusalFor(err: unknown): TokenRefusal | undefined {
  if (err instanceof errors.JWTExpired) return 'token expired';
  if (err instanceof errors.JWTClaimValidationFailed) {
    switch (err.claim) {
      case 'nbf': return 'token not yet valid';
      case 'aud': return 'token for another audience';
      case 'iss': return 'token from an unknown issuer';
      case 'exp': return err.reason === 'missing' ? 'token has no expiry' : 'malformed token';
      default: return 'malformed token';
    }
  }
  if (err instanceof errors.JWSSignatureVerificationFailed || err instanceof errors.JOSEAlgNotAllowed
    || err instanceof errors.JWKSNoMatchingKey || err instanceof errors.JWKSMultipleMatchingKeys) return 'bad token signature';
  if (err instanceof errors.JOSEError) return 'malformed token';
  // jose throws TypeError for a key that does not fit the algorithm (e.g. an RSA key for ES256).
  if (err instanceof TypeError) return 'bad token signature';
  return undefined;
}

export interface TokenGrants {
  allowed: boolean;
  moderator: boolean;
  reason?: string;
}

/** Jitsi writes the flag as `true` or `"true"`; any other value of a present claim means no. */
function flag(value: unknown): boolean {
  return value === true || value === 'true';
}

function record(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? value as Record<string, unknown> : undefined;
}

/**
 * What a verified token allows in the room whose MUC node is `roomNode`: entry when its `room`
 * claim is "*" or that room's name (case-insensitive, as Prosody compares node names), and the
 * moderator role from `context.user.moderator`, else a top-level `moderator`; a token that says
 * nothing about it makes a moderator, Jitsi's default for token holders.
 */
export function tokenGrants(claims: Record<string, unknown>, roomNode: string): TokenGrants {
  const user = record(record(claims.context)?.user);
  const moderator = user && 'moderator' in user ? flag(user.moderator)
    : 'moderator' in claims ? flag(claims.moderator)
      : true;
  const room = claims.room;
  if (typeof room !== 'string' || room === '') return { allowed: false, moderator, reason: 'token has no room claim' };
  if (room !== '*' && room.toLowerCase() !== roomNode.toLowerCase()) return { allowed: false, moderator, reason: 'token for another room' };
  return { allowed: true, moderator };
}
