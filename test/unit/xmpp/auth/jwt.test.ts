import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportJWK, exportPKCS8, exportSPKI, generateKeyPair, SignJWT, type JWTPayload } from 'jose';
import { createJwtVerifier, readJwtKeys, tokenGrants, type JwtVerifierOptions } from '../../../../xmpp/auth/jwt.ts';
import { SaslFailure, type SaslContext } from '../../../../xmpp/sasl/mechanism.ts';

const APP = 'salon-app';
const SECRET = 'a shared secret of some length, 32+';
/** The injected clock: every token below is judged at this instant. */
const NOW = new Date('2026-03-01T12:00:00Z');
const nowSeconds = Math.floor(NOW.getTime() / 1000);
const ctx: SaslContext = { domain: 'meet.jitsi', secure: true, remoteAddress: '127.0.0.1', query: new URLSearchParams() };

function claims(over: JWTPayload = {}): JWTPayload {
  return { iss: APP, aud: APP, sub: 'meet.jitsi', room: '*', exp: nowSeconds + 3600, context: { user: { name: 'Agent' } }, ...over };
}

function hs(payload: JWTPayload, secret = SECRET, alg = 'HS256'): Promise<string> {
  return new SignJWT(payload).setProtectedHeader({ alg, typ: 'JWT' }).sign(new TextEncoder().encode(secret));
}

async function refused(options: JwtVerifierOptions, token: string, reason: string): Promise<void> {
  await assert.rejects(createJwtVerifier({ now: () => NOW, ...options }).verify(token, ctx), (err: unknown) => {
    assert.ok(err instanceof SaslFailure, `expected a SaslFailure, got ${String(err)}`);
    assert.equal(err.condition, 'not-authorized');
    assert.equal(err.text, reason);
    return true;
  });
}

function accepted(options: JwtVerifierOptions, token: string): Promise<Record<string, unknown>> {
  return createJwtVerifier({ now: () => NOW, ...options }).verify(token, ctx);
}

describe('xmpp/auth/jwt', () => {
  const secretOnly: JwtVerifierOptions = { appId: APP, appSecret: SECRET };

  describe('shared secret (HS256/384/512)', () => {
    it('accepts a valid HS256 token and resolves its claims', async () => {
      const result = await accepted(secretOnly, await hs(claims({ room: 'daily' })));
      assert.equal(result.room, 'daily');
      assert.deepEqual(result.context, { user: { name: 'Agent' } });
    });

    it('accepts HS384 and HS512 tokens made with the secret', async () => {
      for (const alg of ['HS384', 'HS512']) assert.equal((await accepted(secretOnly, await hs(claims(), SECRET, alg))).iss, APP);
    });

    it('accepts the "jitsi" audience by default, as Prosody does', async () => {
      assert.equal((await accepted(secretOnly, await hs(claims({ aud: 'jitsi' })))).aud, 'jitsi');
    });

    it('refuses an expired token', async () => {
      await refused(secretOnly, await hs(claims({ exp: nowSeconds - 3600 })), 'token expired');
    });

    it('tolerates 30 s of clock skew on exp but not more', async () => {
      assert.ok(await accepted(secretOnly, await hs(claims({ exp: nowSeconds - 20 }))));
      await refused(secretOnly, await hs(claims({ exp: nowSeconds - 40 })), 'token expired');
    });

    it('refuses a token that is not yet valid (nbf)', async () => {
      await refused(secretOnly, await hs(claims({ nbf: nowSeconds + 600 })), 'token not yet valid');
    });

    it('refuses a token signed with another secret', async () => {
      await refused(secretOnly, await hs(claims(), 'another secret, also long enough'), 'bad token signature');
    });

    it('refuses a token for another audience', async () => {
      await refused(secretOnly, await hs(claims({ aud: 'other-service' })), 'token for another audience');
    });

    it('refuses a token without an audience', async () => {
      const { aud: _aud, ...rest } = claims();
      await refused(secretOnly, await hs(rest), 'token for another audience');
    });

    it('refuses a token from an unknown issuer', async () => {
      await refused(secretOnly, await hs(claims({ iss: 'someone-else' })), 'token from an unknown issuer');
    });

    it('uses the configured issuers and audiences instead of the defaults', async () => {
      const options = { ...secretOnly, acceptedIssuers: ['portal'], acceptedAudiences: ['salon'] };
      assert.ok(await accepted(options, await hs(claims({ iss: 'portal', aud: 'salon' }))));
      await refused(options, await hs(claims({ iss: APP, aud: 'salon' })), 'token from an unknown issuer');
      await refused(options, await hs(claims({ iss: 'portal', aud: 'jitsi' })), 'token for another audience');
    });

    it('refuses a token without a room claim', async () => {
      const { room: _room, ...rest } = claims();
      await refused(secretOnly, await hs(rest), 'token has no room claim');
    });

    it('refuses a token without an expiry', async () => {
      const { exp: _exp, ...rest } = claims();
      await refused(secretOnly, await hs(rest), 'token has no expiry');
    });

    it('refuses text that is not a token', async () => {
      await refused(secretOnly, 'not.a.token', 'malformed token');
      await refused(secretOnly, 'garbage', 'malformed token');
    });

    it('refuses an unsigned token (alg none)', async () => {
      const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
      await refused(secretOnly, `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims())}.`, 'bad token signature');
    });
  });

  describe('public key (RS256)', () => {
    let rsa: { publicPem: string; privateKey: CryptoKey };
    let options: JwtVerifierOptions;
    before(async () => {
      const pair = await generateKeyPair('RS256', { extractable: true });
      rsa = { publicPem: await exportSPKI(pair.publicKey), privateKey: pair.privateKey };
      options = { appId: APP, publicKeyPem: rsa.publicPem };
    });
    const rs = (payload: JWTPayload, alg = 'RS256') => new SignJWT(payload).setProtectedHeader({ alg }).sign(rsa.privateKey);

    it('accepts a token signed with the matching private key', async () => {
      assert.equal((await accepted(options, await rs(claims({ room: 'r1' })))).room, 'r1');
    });

    it('refuses a token signed with another RSA key', async () => {
      const other = await generateKeyPair('RS256');
      const token = await new SignJWT(claims()).setProtectedHeader({ alg: 'RS256' }).sign(other.privateKey);
      await refused(options, token, 'bad token signature');
    });

    it('refuses an HS256 token whose secret is the public key PEM (algorithm confusion)', async () => {
      await refused(options, await hs(claims(), rsa.publicPem), 'bad token signature');
    });

    it('refuses the same confused token when a shared secret is configured beside the key', async () => {
      await refused({ ...options, appSecret: SECRET }, await hs(claims(), rsa.publicPem), 'bad token signature');
    });

    it('refuses an HS256 token when only a public key is configured, whatever its secret', async () => {
      await refused(options, await hs(claims()), 'bad token signature');
    });
  });

  describe('JWKS (ES256)', () => {
    let ec: CryptoKey;
    let options: JwtVerifierOptions;
    before(async () => {
      const pair = await generateKeyPair('ES256', { extractable: true });
      ec = pair.privateKey;
      const jwk = { ...await exportJWK(pair.publicKey), kid: 'k1', alg: 'ES256', use: 'sig' };
      options = { appId: APP, jwks: { keys: [jwk] } };
    });

    it('accepts a token naming the key by kid', async () => {
      const token = await new SignJWT(claims()).setProtectedHeader({ alg: 'ES256', kid: 'k1' }).sign(ec);
      assert.equal((await accepted(options, token)).iss, APP);
    });

    it('refuses a token naming an unknown kid', async () => {
      const token = await new SignJWT(claims()).setProtectedHeader({ alg: 'ES256', kid: 'nope' }).sign(ec);
      await refused(options, token, 'bad token signature');
    });

    it('refuses a token signed by a key outside the set', async () => {
      const other = await generateKeyPair('ES256');
      const token = await new SignJWT(claims()).setProtectedHeader({ alg: 'ES256', kid: 'k1' }).sign(other.privateKey);
      await refused(options, token, 'bad token signature');
    });

    it('refuses an expired ES256 token', async () => {
      const token = await new SignJWT(claims({ exp: nowSeconds - 600 })).setProtectedHeader({ alg: 'ES256', kid: 'k1' }).sign(ec);
      await refused(options, token, 'token expired');
    });
  });

  describe('configuration', () => {
    it('throws when no key is given', () => {
      assert.throws(() => createJwtVerifier({ appId: APP }), /needs a shared secret, a public key or a JWKS/);
    });

    it('throws when the public key file holds a private key', async () => {
      const { privateKey } = await generateKeyPair('RS256', { extractable: true });
      const pem = await exportPKCS8(privateKey);
      assert.throws(() => createJwtVerifier({ appId: APP, publicKeyPem: pem }), /holds a private key/);
    });

    it('throws for a public key of a type tokens cannot use here', async () => {
      const { publicKey } = await generateKeyPair('EdDSA', { extractable: true });
      const pem = await exportSPKI(publicKey);
      assert.throws(() => createJwtVerifier({ appId: APP, publicKeyPem: pem }), /RSA or P-256/);
    });
  });

  describe('key files', () => {
    let dir: string;
    before(async () => {
      dir = await mkdtemp(join(tmpdir(), 'salon-jwt-'));
    });
    after(async () => rm(dir, { recursive: true, force: true }));

    it('reads a PEM public key and a JWKS that then verify tokens', async () => {
      const rsa = await generateKeyPair('RS256', { extractable: true });
      const ec = await generateKeyPair('ES256', { extractable: true });
      await writeFile(join(dir, 'key.pem'), await exportSPKI(rsa.publicKey));
      await writeFile(join(dir, 'jwks.json'), JSON.stringify({ keys: [{ ...await exportJWK(ec.publicKey), kid: 'e1' }] }));
      const keys = await readJwtKeys({ publicKeyFile: join(dir, 'key.pem'), jwksFile: join(dir, 'jwks.json') });
      const options = { appId: APP, ...keys };
      assert.ok(await accepted(options, await new SignJWT(claims()).setProtectedHeader({ alg: 'RS256' }).sign(rsa.privateKey)));
      assert.ok(await accepted(options, await new SignJWT(claims()).setProtectedHeader({ alg: 'ES256', kid: 'e1' }).sign(ec.privateKey)));
    });

    it('names the file that is missing or not a key set', async () => {
      await assert.rejects(readJwtKeys({ publicKeyFile: join(dir, 'absent.pem') }), /JWT key file .*absent\.pem/);
      await writeFile(join(dir, 'not-jwks.json'), '{"kty":"RSA"}');
      await assert.rejects(readJwtKeys({ jwksFile: join(dir, 'not-jwks.json') }), /not-jwks\.json: not a JSON Web Key Set/);
      await writeFile(join(dir, 'broken.json'), '{');
      await assert.rejects(readJwtKeys({ jwksFile: join(dir, 'broken.json') }), /JWKS file .*broken\.json/);
    });

    it('refuses a JWKS holding a private or symmetric key', async () => {
      const ec = await generateKeyPair('ES256', { extractable: true });
      const privateJwk = await exportJWK(ec.privateKey);
      assert.throws(() => createJwtVerifier({ appId: APP, jwks: { keys: [privateJwk] } }), /public keys only/);
      assert.throws(() => createJwtVerifier({ appId: APP, jwks: { keys: [{ kty: 'oct', k: 'c2VjcmV0' }] } }), /public keys only/);
    });
  });

  describe('tokenGrants', () => {
    it('allows any room with "*"', () => {
      assert.deepEqual(tokenGrants({ room: '*' }, 'anyroom'), { allowed: true, moderator: true });
    });

    it('allows the named room, ignoring case', () => {
      assert.equal(tokenGrants({ room: 'DailyStandup' }, 'dailystandup').allowed, true);
    });

    it('refuses another room with a reason', () => {
      assert.deepEqual(tokenGrants({ room: 'room-a' }, 'room-b'), { allowed: false, moderator: true, reason: 'token for another room' });
    });

    it('refuses claims without a room', () => {
      assert.equal(tokenGrants({}, 'room-b').reason, 'token has no room claim');
    });

    it('makes a moderator when the token says nothing about it', () => {
      assert.equal(tokenGrants({ room: '*', context: { user: { name: 'A' } } }, 'r').moderator, true);
    });

    it('reads context.user.moderator as true or "true"', () => {
      assert.equal(tokenGrants({ room: '*', context: { user: { moderator: true } } }, 'r').moderator, true);
      assert.equal(tokenGrants({ room: '*', context: { user: { moderator: 'true' } } }, 'r').moderator, true);
      assert.equal(tokenGrants({ room: '*', context: { user: { moderator: false } } }, 'r').moderator, false);
      assert.equal(tokenGrants({ room: '*', context: { user: { moderator: 'false' } } }, 'r').moderator, false);
    });

    it('reads a top-level moderator claim when context.user has none', () => {
      assert.equal(tokenGrants({ room: '*', moderator: false }, 'r').moderator, false);
      assert.equal(tokenGrants({ room: '*', moderator: 'true' }, 'r').moderator, true);
    });

    it('prefers context.user.moderator over the top-level claim', () => {
      assert.equal(tokenGrants({ room: '*', moderator: true, context: { user: { moderator: false } } }, 'r').moderator, false);
    });

    it('treats an unexpected moderator value as no', () => {
      assert.equal(tokenGrants({ room: '*', context: { user: { moderator: 'yes' } } }, 'r').moderator, false);
    });
  });
});
