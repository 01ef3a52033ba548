import assert from 'node:assert/strict';
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AccountStore } from '../../../../xmpp/accounts.ts';
import { SaslFailure, type SaslContext, type SaslFailureCondition, type SaslStep } from '../../../../xmpp/sasl/mechanism.ts';
import { ScramMechanism } from '../../../../xmpp/sasl/scram.ts';

type Hash = 'sha1' | 'sha256';
const KEY_BYTES: Record<Hash, number> = { sha1: 20, sha256: 32 };
const DOMAIN = 'auth.meet.jitsi';

const ctx: SaslContext = { domain: DOMAIN, secure: true, remoteAddress: '127.0.0.1', query: new URLSearchParams() };

/**
 * A SCRAM client written from RFC 5802 §3, independent of the server code:
 *   SaltedPassword  := Hi(Normalize(password), salt, i)
 *   ClientKey       := HMAC(SaltedPassword, "Client Key")
 *   StoredKey       := H(ClientKey)
 *   AuthMessage     := client-first-message-bare + "," + server-first-message + "," + client-final-message-without-proof
 *   ClientSignature := HMAC(StoredKey, AuthMessage)
 *   ClientProof     := ClientKey XOR ClientSignature
 *   ServerKey       := HMAC(SaltedPassword, "Server Key")
 *   ServerSignature := HMAC(ServerKey, AuthMessage)
 */
class ScramClient {
  readonly clientFirstBare: string;
  readonly gs2Header: string;
  private authMessage = '';
  private saltedPassword = Buffer.alloc(0);

  constructor(readonly hash: Hash, readonly username: string, readonly password: string, readonly clientNonce = randomBytes(18).toString('base64'), gs2Header = 'n,,') {
    this.gs2Header = gs2Header;
    this.clientFirstBare = `n=${username.replace(/=/g, '=3D').replace(/,/g, '=2C')},r=${clientNonce}`;
  }

  get clientFirst(): string {
    return this.gs2Header + this.clientFirstBare;
  }

  static keys(hash: Hash, password: string, salt: Buffer, iterations: number) {
    const salted = pbkdf2Sync(Buffer.from(password, 'utf8'), salt, iterations, KEY_BYTES[hash], hash);
    const clientKey = createHmac(hash, salted).update('Client Key').digest();
    return {
      salted,
      clientKey,
      storedKey: createHash(hash).update(clientKey).digest(),
      serverKey: createHmac(hash, salted).update('Server Key').digest(),
    };
  }

  /** client-final-message for the server-first-message; `nonce` overrides the combined nonce. */
  clientFinal(serverFirst: string, nonce?: string): string {
    const attrs = new Map(serverFirst.split(',').map((a) => [a[0]!, a.slice(2)] as const));
    const serverNonce = attrs.get('r')!;
    assert.ok(serverNonce.startsWith(this.clientNonce), 'the server nonce extends the client nonce');
    const salt = Buffer.from(attrs.get('s')!, 'base64');
    const iterations = Number(attrs.get('i'));
    const { salted, clientKey, storedKey } = ScramClient.keys(this.hash, this.password, salt, iterations);
    this.saltedPassword = salted;
    const withoutProof = `c=${Buffer.from(this.gs2Header).toString('base64')},r=${nonce ?? serverNonce}`;
    this.authMessage = `${this.clientFirstBare},${serverFirst},${withoutProof}`;
    const signature = createHmac(this.hash, storedKey).update(this.authMessage).digest();
    const proof = Buffer.from(clientKey.map((b, i) => b ^ signature[i]!));
    return `${withoutProof},p=${proof.toString('base64')}`;
  }

  /** The `v=` the server must send for this exchange. */
  expectedServerFinal(): string {
    const serverKey = createHmac(this.hash, this.saltedPassword).update('Server Key').digest();
    return `v=${createHmac(this.hash, serverKey).update(this.authMessage).digest().toString('base64')}`;
  }
}

function challengeText(step: SaslStep): string {
  assert.equal(step.kind, 'challenge');
  return step.kind === 'challenge' ? step.data.toString('utf8') : '';
}

async function assertSaslFailure(promise: Promise<unknown>, condition: SaslFailureCondition): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof SaslFailure, `not a SaslFailure: ${String(err)}`);
    assert.equal(err.condition, condition);
    return true;
  });
}

const SERVER_FIRST = /^r=([^,]+),s=([A-Za-z0-9+/]+={0,2}),i=(\d+)$/;

describe('xmpp/sasl/scram', () => {
  let dir: string;
  let accounts: AccountStore;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'salon-scram-'));
    accounts = await AccountStore.open(join(dir, 'accounts.json'), { storage: 'scram' });
    await accounts.setPassword(`alice@${DOMAIN}`, 'correct horse battery');
    await accounts.setPassword(`x=y,z@${DOMAIN}`, 'another password');
  });

  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  describe('the test client itself', () => {
    it('reproduces the SCRAM-SHA-1 example of RFC 5802 §5', () => {
      const client = new ScramClient('sha1', 'user', 'pencil', 'fyko+d2lbbFgONRv9qkxdawL');
      const serverFirst = 'r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096';
      assert.equal(client.clientFirst, 'n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL');
      assert.equal(client.clientFinal(serverFirst), 'c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=');
      assert.equal(client.expectedServerFinal(), 'v=rmF9pqV8S7suAoZWja4dJRkFsKQ=');
    });

    it('reproduces the SCRAM-SHA-256 example of RFC 7677 §3', () => {
      const client = new ScramClient('sha256', 'user', 'pencil', 'rOprNGfwEbeRWgbNEkqO');
      const serverFirst = 'r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096';
      assert.equal(client.clientFirst, 'n,,n=user,r=rOprNGfwEbeRWgbNEkqO');
      assert.equal(
        client.clientFinal(serverFirst),
        'c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=',
      );
      assert.equal(client.expectedServerFinal(), 'v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=');
    });
  });

  for (const hash of ['sha1', 'sha256'] as const) {
    const name = hash === 'sha1' ? 'SCRAM-SHA-1' : 'SCRAM-SHA-256';

    describe(name, () => {
      it(`is named ${name}`, () => {
        assert.equal(new ScramMechanism(hash, ctx, accounts).name, name);
      });

      it('completes an exchange with the right password and sends the right server signature', async () => {
        const mechanism = new ScramMechanism(hash, ctx, accounts);
        const client = new ScramClient(hash, 'alice', 'correct horse battery');
        const serverFirst = challengeText(await mechanism.step(Buffer.from(client.clientFirst)));
        const [, nonce, , iterations] = SERVER_FIRST.exec(serverFirst) ?? [];
        assert.ok(nonce?.startsWith(client.clientNonce) && nonce.length > client.clientNonce.length, serverFirst);
        assert.equal(iterations, '10000');
        const final = await mechanism.step(Buffer.from(client.clientFinal(serverFirst)));
        assert.equal(final.kind, 'success');
        assert.ok(final.kind === 'success');
        assert.equal(final.username, 'alice');
        assert.equal(final.data?.toString('utf8'), client.expectedServerFinal());
      });

      it('asks for the initial response with an empty challenge when the client sent none', async () => {
        const step = await new ScramMechanism(hash, ctx, accounts).step(null);
        assert.equal(step.kind, 'challenge');
        assert.ok(step.kind === 'challenge' && step.data.length === 0);
      });

      it('accepts the "y" flag (client supports channel binding, thinks the server does not)', async () => {
        const mechanism = new ScramMechanism(hash, ctx, accounts);
        const client = new ScramClient(hash, 'alice', 'correct horse battery', undefined, 'y,,');
        const serverFirst = challengeText(await mechanism.step(Buffer.from(client.clientFirst)));
        const final = await mechanism.step(Buffer.from(client.clientFinal(serverFirst)));
        assert.equal(final.kind, 'success');
      });

      it('decodes =2C and =3D in the username', async () => {
        const mechanism = new ScramMechanism(hash, ctx, accounts);
        const client = new ScramClient(hash, 'x=y,z', 'another password');
        assert.match(client.clientFirst, /n=x=3Dy=2Cz,/);
        const serverFirst = challengeText(await mechanism.step(Buffer.from(client.clientFirst)));
        const final = await mechanism.step(Buffer.from(client.clientFinal(serverFirst)));
        assert.ok(final.kind === 'success');
        assert.equal(final.username, 'x=y,z');
      });

      it('accepts an authzid naming the authenticating account itself', async () => {
        const mechanism = new ScramMechanism(hash, ctx, accounts);
        const client = new ScramClient(hash, 'alice', 'correct horse battery', undefined, `n,a=alice@${DOMAIN},`);
        const serverFirst = challengeText(await mechanism.step(Buffer.from(client.clientFirst)));
        const final = await mechanism.step(Buffer.from(client.clientFinal(serverFirst)));
        assert.ok(final.kind === 'success');
        assert.equal(final.username, 'alice');
      });

      it('refuses an authzid naming another account with invalid-authzid (RFC 6120 §6.4.6)', async () => {
        const mechanism = new ScramMechanism(hash, ctx, accounts);
        const client = new ScramClient(hash, 'alice', 'correct horse battery', undefined, `n,a=bob@${DOMAIN},`);
        await assertSaslFailure(
          (async () => {
            const serverFirst = challengeText(await mechanism.step(Buffer.from(client.clientFirst)));
            return mechanism.step(Buffer.from(client.clientFinal(serverFirst)));
          })(),
          'invalid-authzid',
        );
      });

      it('refuses a wrong password with not-authorized', async () => {
        const mechanism = new ScramMechanism(hash, ctx, accounts);
        const client = new ScramClient(hash, 'alice', 'wrong horse battery');
        const serverFirst = challengeText(await mechanism.step(Buffer.from(client.clientFirst)));
        await assertSaslFailure(mechanism.step(Buffer.from(client.clientFinal(serverFirst))), 'not-authorized');
      });

      it('answers an unknown user with a server-first of the same shape, then not-authorized', async () => {
        const known = new ScramClient(hash, 'alice', 'whatever it is');
        const unknown = new ScramClient(hash, 'mallory', 'whatever it is');
        const knownFirst = challengeText(await new ScramMechanism(hash, ctx, accounts).step(Buffer.from(known.clientFirst)));
        const mechanism = new ScramMechanism(hash, ctx, accounts);
        const unknownFirst = challengeText(await mechanism.step(Buffer.from(unknown.clientFirst)));
        const [, , knownSalt, knownIterations] = SERVER_FIRST.exec(knownFirst) ?? [];
        const [, nonce, unknownSalt, unknownIterations] = SERVER_FIRST.exec(unknownFirst) ?? [];
        assert.ok(nonce?.startsWith(unknown.clientNonce), unknownFirst);
        assert.equal(unknownSalt?.length, knownSalt?.length, 'salts of the same length');
        assert.equal(unknownIterations, knownIterations, 'the same iteration count');
        await assertSaslFailure(mechanism.step(Buffer.from(unknown.clientFinal(unknownFirst))), 'not-authorized');
      });

      it('gives an unknown user the same salt every time (no enumeration by comparing salts)', async () => {
        const first = challengeText(await new ScramMechanism(hash, ctx, accounts).step(Buffer.from(new ScramClient(hash, 'mallory', 'x').clientFirst)));
        const again = challengeText(await new ScramMechanism(hash, ctx, accounts).step(Buffer.from(new ScramClient(hash, 'mallory', 'x').clientFirst)));
        assert.equal(SERVER_FIRST.exec(first)?.[2], SERVER_FIRST.exec(again)?.[2]);
      });

      it('refuses channel binding ("p=") with malformed-request', async () => {
        const client = new ScramClient(hash, 'alice', 'correct horse battery', undefined, 'p=tls-unique,,');
        await assertSaslFailure(new ScramMechanism(hash, ctx, accounts).step(Buffer.from(client.clientFirst)), 'malformed-request');
      });

      it('refuses a client-final whose nonce is not the combined nonce', async () => {
        const mechanism = new ScramMechanism(hash, ctx, accounts);
        const client = new ScramClient(hash, 'alice', 'correct horse battery');
        const serverFirst = challengeText(await mechanism.step(Buffer.from(client.clientFirst)));
        const final = client.clientFinal(serverFirst, `${client.clientNonce}forged`);
        await assertSaslFailure(mechanism.step(Buffer.from(final)), 'malformed-request');
      });

      it('refuses a client-final whose channel-binding data is not the gs2 header sent first', async () => {
        const mechanism = new ScramMechanism(hash, ctx, accounts);
        const client = new ScramClient(hash, 'alice', 'correct horse battery');
        const serverFirst = challengeText(await mechanism.step(Buffer.from(client.clientFirst)));
        const final = client.clientFinal(serverFirst).replace('c=biws', `c=${Buffer.from('y,,').toString('base64')}`);
        await assertSaslFailure(mechanism.step(Buffer.from(final)), 'malformed-request');
      });

      it('refuses a client-final with a proof of the wrong length', async () => {
        const mechanism = new ScramMechanism(hash, ctx, accounts);
        const client = new ScramClient(hash, 'alice', 'correct horse battery');
        const serverFirst = challengeText(await mechanism.step(Buffer.from(client.clientFirst)));
        const final = client.clientFinal(serverFirst).replace(/p=.*$/, 'p=AAAA');
        await assertSaslFailure(mechanism.step(Buffer.from(final)), 'not-authorized');
      });

      it('refuses any step after the exchange finished', async () => {
        const mechanism = new ScramMechanism(hash, ctx, accounts);
        const client = new ScramClient(hash, 'alice', 'correct horse battery');
        const serverFirst = challengeText(await mechanism.step(Buffer.from(client.clientFirst)));
        const final = client.clientFinal(serverFirst);
        await mechanism.step(Buffer.from(final));
        await assertSaslFailure(mechanism.step(Buffer.from(final)), 'malformed-request');
      });

      describe('malformed client-first messages are malformed-request', () => {
        const cases: Array<[string, string]> = [
          ['no gs2 header', 'n=alice,r=abc'],
          ['an unknown gs2 flag', 'x,,n=alice,r=abc'],
          ['no username', 'n,,r=abc'],
          ['no nonce', 'n,,n=alice'],
          ['an empty username', 'n,,n=,r=abc'],
          ['a mandatory extension (m=)', 'n,,m=ext,n=alice,r=abc'],
          ['an attribute without "="', 'n,,n=alice,r=abc,junk'],
          ['a bad =XX escape in the username', 'n,,n=al=41ice,r=abc'],
          ['the empty string', ''],
        ];
        for (const [name, message] of cases) {
          it(name, async () => {
            await assertSaslFailure(new ScramMechanism(hash, ctx, accounts).step(Buffer.from(message)), 'malformed-request');
          });
        }
      });

      describe('malformed client-final messages are malformed-request', () => {
        const cases: Array<[string, (nonce: string) => string]> = [
          ['no proof', (nonce) => `c=biws,r=${nonce}`],
          ['no channel binding', (nonce) => `r=${nonce},p=AAAA`],
          ['an attribute without "="', (nonce) => `c=biws,r=${nonce},x,p=AAAA`],
        ];
        for (const [name, final] of cases) {
          it(name, async () => {
            const mechanism = new ScramMechanism(hash, ctx, accounts);
            const client = new ScramClient(hash, 'alice', 'correct horse battery');
            const serverFirst = challengeText(await mechanism.step(Buffer.from(client.clientFirst)));
            const nonce = SERVER_FIRST.exec(serverFirst)?.[1] ?? '';
            await assertSaslFailure(mechanism.step(Buffer.from(final(nonce))), 'malformed-request');
          });
        }
      });
    });
  }

  describe('an account kept as a scrypt hash only', () => {
    let scryptDir: string;
    let scryptAccounts: AccountStore;

    before(async () => {
      scryptDir = await mkdtemp(join(tmpdir(), 'salon-scram-scrypt-'));
      scryptAccounts = await AccountStore.open(join(scryptDir, 'accounts.json'), { storage: 'scrypt' });
      await scryptAccounts.setPassword(`carol@${DOMAIN}`, 'correct horse battery');
    });

    after(async () => {
      await rm(scryptDir, { recursive: true, force: true });
    });

    for (const hash of ['sha1', 'sha256'] as const) {
      it(`${hash}: is refused with the right password exactly as an unknown account is (the same fake salt)`, async () => {
        const asScrypt = new ScramClient(hash, 'carol', 'correct horse battery');
        const mechanism = new ScramMechanism(hash, ctx, scryptAccounts);
        const serverFirst = challengeText(await mechanism.step(Buffer.from(asScrypt.clientFirst)));
        // The same name in a store where it does not exist at all.
        const asUnknown = challengeText(await new ScramMechanism(hash, ctx, accounts).step(Buffer.from(new ScramClient(hash, 'carol', 'x').clientFirst)));
        const [, , salt, iterations] = SERVER_FIRST.exec(serverFirst) ?? [];
        const [, , unknownSalt, unknownIterations] = SERVER_FIRST.exec(asUnknown) ?? [];
        assert.ok(salt);
        assert.equal(salt, unknownSalt);
        assert.equal(iterations, unknownIterations);
        await assertSaslFailure(mechanism.step(Buffer.from(asScrypt.clientFinal(serverFirst))), 'not-authorized');
      });
    }
  });

  describe('against stored RFC 7677 credentials', () => {
    let rfcDir: string;
    let rfcAccounts: AccountStore;

    before(async () => {
      // The account "user" with password "pencil", stored with the salt and iteration count of the
      // RFC 7677 §3 example, in the accounts file format (keys derived by the test client).
      rfcDir = await mkdtemp(join(tmpdir(), 'salon-scram-rfc-'));
      const salt = Buffer.from('W22ZaJ0SNY7soEsUEjb6gQ==', 'base64');
      const credentials = (hash: Hash) => {
        const { storedKey, serverKey } = ScramClient.keys(hash, 'pencil', salt, 4096);
        return { salt: salt.toString('base64'), iterations: 4096, storedKey: storedKey.toString('base64'), serverKey: serverKey.toString('base64') };
      };
      const file = join(rfcDir, 'accounts.json');
      const accountsFile = { version: 1, accounts: { [`user@${DOMAIN}`]: { scram: { sha1: credentials('sha1'), sha256: credentials('sha256') }, createdAt: '2026-01-01T00:00:00.000Z' } } };
      await writeFile(file, JSON.stringify(accountsFile), { mode: 0o600 });
      // Kept as SCRAM keys: a PLAIN check must not move the account to scrypt under the next test.
      rfcAccounts = await AccountStore.open(file, { storage: 'scram' });
    });

    after(async () => {
      await rm(rfcDir, { recursive: true, force: true });
    });

    it('announces the stored salt and iteration count and verifies the RFC password', async () => {
      const mechanism = new ScramMechanism('sha256', ctx, rfcAccounts);
      const client = new ScramClient('sha256', 'user', 'pencil', 'rOprNGfwEbeRWgbNEkqO');
      const serverFirst = challengeText(await mechanism.step(Buffer.from(client.clientFirst)));
      assert.match(serverFirst, /^r=rOprNGfwEbeRWgbNEkqO[^,]+,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096$/);
      const final = await mechanism.step(Buffer.from(client.clientFinal(serverFirst)));
      assert.ok(final.kind === 'success');
      assert.equal(final.username, 'user');
      assert.equal(final.data?.toString('utf8'), client.expectedServerFinal());
    });

    it('checks PLAIN-style passwords against the same stored keys', async () => {
      assert.equal(await rfcAccounts.verifyPassword(`user@${DOMAIN}`, 'pencil'), true);
      assert.equal(await rfcAccounts.verifyPassword(`user@${DOMAIN}`, 'pencils'), false);
    });
  });
});
