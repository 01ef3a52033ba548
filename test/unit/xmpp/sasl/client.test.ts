import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AccountStore } from '../../../../xmpp/accounts.ts';
import { chooseMechanism, createSaslClient, SaslClientError } from '../../../../xmpp/sasl/client.ts';
import type { SaslContext } from '../../../../xmpp/sasl/mechanism.ts';
import { PlainMechanism } from '../../../../xmpp/sasl/plain.ts';
import { ScramMechanism } from '../../../../xmpp/sasl/scram.ts';

const DOMAIN = 'auth.meet.jitsi';
const ctx: SaslContext = { domain: DOMAIN, secure: true, remoteAddress: '127.0.0.1', query: new URLSearchParams() };
const text = (b: Buffer): string => b.toString('utf8');

describe('xmpp/sasl/client', () => {
  describe('chooseMechanism', () => {
    const cases: Array<[offered: string[], privateConnection: boolean, expected: string | undefined]> = [
      [['PLAIN', 'SCRAM-SHA-1', 'SCRAM-SHA-256'], true, 'SCRAM-SHA-256'],
      [['PLAIN', 'SCRAM-SHA-1'], false, 'SCRAM-SHA-1'],
      [['PLAIN', 'ANONYMOUS'], true, 'PLAIN'],
      // A server keeping accounts as scrypt hashes offers PLAIN alone, and only on a private connection.
      [['PLAIN'], true, 'PLAIN'],
      [['PLAIN'], false, undefined],
      [['ANONYMOUS', 'SCRAM-SHA-1-PLUS'], true, undefined],
    ];
    for (const [offered, privateConnection, expected] of cases) {
      it(`picks ${expected ?? 'nothing'} from ${offered.join(' ')} on a ${privateConnection ? 'private' : 'plain'} connection`, () => {
        assert.equal(chooseMechanism(offered, privateConnection), expected);
      });
    }
  });

  describe('SCRAM against the RFC examples', () => {
    it('answers RFC 5802 §5 (SCRAM-SHA-1) and accepts its server signature', async () => {
      const client = createSaslClient('SCRAM-SHA-1', 'user', 'pencil', 'fyko+d2lbbFgONRv9qkxdawL');
      assert.equal(text(client.initial()), 'n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL');
      const final = await client.challenge(Buffer.from('r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096'));
      assert.equal(text(final), 'c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=');
      assert.doesNotThrow(() => client.success(Buffer.from('v=rmF9pqV8S7suAoZWja4dJRkFsKQ=')));
    });

    it('answers RFC 7677 §3 (SCRAM-SHA-256) and refuses a forged server signature', async () => {
      const client = createSaslClient('SCRAM-SHA-256', 'user', 'pencil', 'rOprNGfwEbeRWgbNEkqO');
      const final = await client.challenge(Buffer.from('r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096'));
      assert.equal(text(final), 'c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=');
      assert.throws(() => client.success(Buffer.from('v=AAAATRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=')), SaslClientError);
    });

    it('takes the server-final message as a challenge followed by an empty success (RFC 6120 §6.3.10)', async () => {
      const client = createSaslClient('SCRAM-SHA-1', 'user', 'pencil', 'fyko+d2lbbFgONRv9qkxdawL');
      await client.challenge(Buffer.from('r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096'));
      assert.equal((await client.challenge(Buffer.from('v=rmF9pqV8S7suAoZWja4dJRkFsKQ='))).length, 0);
      assert.doesNotThrow(() => client.success(Buffer.alloc(0)));
    });

    const badFirsts: Array<[what: string, serverFirst: string]> = [
      ['a nonce that does not extend ours', 'r=somebodyelse,s=QSXCR+Q6sek8bf92,i=4096'],
      ['our nonce unextended', 'r=abc,s=QSXCR+Q6sek8bf92,i=4096'],
      ['too few iterations', 'r=abcdef,s=QSXCR+Q6sek8bf92,i=100'],
      ['no salt', 'r=abcdef,i=4096'],
      ['a mandatory extension', 'm=ext,r=abcdef,s=QSXCR+Q6sek8bf92,i=4096'],
      ['garbage', 'hello'],
    ];
    for (const [what, serverFirst] of badFirsts) {
      it(`refuses a server-first message with ${what}`, async () => {
        const client = createSaslClient('SCRAM-SHA-256', 'user', 'pencil', 'abc');
        await assert.rejects(client.challenge(Buffer.from(serverFirst)), SaslClientError);
      });
    }

    it('refuses a success that comes before any challenge', () => {
      const client = createSaslClient('SCRAM-SHA-1', 'user', 'pencil');
      assert.throws(() => client.success(Buffer.from('v=rmF9pqV8S7suAoZWja4dJRkFsKQ=')), SaslClientError);
    });
  });

  describe('against Salon\'s server mechanisms', () => {
    let dir: string;
    let accounts: AccountStore;

    before(async () => {
      dir = await mkdtemp(join(tmpdir(), 'salon-sasl-client-'));
      accounts = await AccountStore.open(join(dir, 'accounts.json'), { storage: 'scram' });
      await accounts.setPassword(`jvb@${DOMAIN}`, 'the bridge password');
    });
    after(async () => rm(dir, { recursive: true, force: true }));

    for (const [name, hash] of [['SCRAM-SHA-256', 'sha256'], ['SCRAM-SHA-1', 'sha1']] as const) {
      it(`${name}: logs in with the right password, and each side proves itself`, async () => {
        const server = new ScramMechanism(hash, ctx, accounts);
        const client = createSaslClient(name, 'jvb', 'the bridge password');
        const first = await server.step(client.initial());
        assert.equal(first.kind, 'challenge');
        const done = await server.step(await client.challenge(first.kind === 'challenge' ? first.data : Buffer.alloc(0)));
        assert.equal(done.kind, 'success');
        assert.equal(done.kind === 'success' ? done.username : '', 'jvb');
        assert.doesNotThrow(() => client.success(done.data ?? Buffer.alloc(0)));
      });
    }

    it('SCRAM-SHA-256: a wrong password is refused by the server', async () => {
      const server = new ScramMechanism('sha256', ctx, accounts);
      const client = createSaslClient('SCRAM-SHA-256', 'jvb', 'not the password');
      const first = await server.step(client.initial());
      await assert.rejects(server.step(await client.challenge(first.kind === 'challenge' ? first.data : Buffer.alloc(0))), /not-authorized/);
    });

    it('PLAIN: logs in with one message against an account kept as a scrypt hash', async () => {
      const scryptAccounts = await AccountStore.open(join(dir, 'scrypt-accounts.json'));
      await scryptAccounts.setPassword(`jvb@${DOMAIN}`, 'the bridge password');
      const client = createSaslClient(chooseMechanism(['PLAIN'], true)!, 'jvb', 'the bridge password');
      const done = await new PlainMechanism(ctx, scryptAccounts).step(client.initial());
      assert.deepEqual(done, { kind: 'success', username: 'jvb' });
      await assert.rejects(new PlainMechanism(ctx, scryptAccounts).step(createSaslClient('PLAIN', 'jvb', 'not the password').initial()), /not-authorized/);
    });

    it('PLAIN: logs in with one message', async () => {
      const server = new PlainMechanism(ctx, accounts);
      const done = await server.step(createSaslClient('PLAIN', 'jvb', 'the bridge password').initial());
      assert.equal(done.kind, 'success');
    });
  });
});
