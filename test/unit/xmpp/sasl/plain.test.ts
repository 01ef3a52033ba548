import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AccountStore } from '../../../../xmpp/accounts.ts';
import { SaslFailure, type SaslContext, type SaslFailureCondition } from '../../../../xmpp/sasl/mechanism.ts';
import { PlainMechanism } from '../../../../xmpp/sasl/plain.ts';

const DOMAIN = 'meet.jitsi';
const ctx: SaslContext = { domain: DOMAIN, secure: true, remoteAddress: '127.0.0.1', query: new URLSearchParams() };

function response(authzid: string, authcid: string, password: string): Buffer {
  return Buffer.from(`${authzid}\u0000${authcid}\u0000${password}`, 'utf8');
}

async function assertSaslFailure(promise: Promise<unknown>, condition: SaslFailureCondition): Promise<void> {
  await assert.rejects(promise, (err: unknown) => err instanceof SaslFailure && err.condition === condition);
}

describe('xmpp/sasl/plain', () => {
  let dir: string;
  let accounts: AccountStore;
  let plain: () => PlainMechanism;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'salon-plain-'));
    accounts = await AccountStore.open(join(dir, 'accounts.json'));
    await accounts.setPassword(`alice@${DOMAIN}`, 'correct horse battery');
    plain = () => new PlainMechanism(ctx, accounts);
  });

  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('is named PLAIN', () => {
    assert.equal(plain().name, 'PLAIN');
  });

  it('succeeds with the right password and names the account', async () => {
    const step = await plain().step(response('', 'alice', 'correct horse battery'));
    assert.deepEqual(step, { kind: 'success', username: 'alice' });
  });

  it('normalises the username (case-folded localpart)', async () => {
    const step = await plain().step(response('', 'Alice', 'correct horse battery'));
    assert.ok(step.kind === 'success');
    assert.equal(step.username, 'alice');
  });

  it('accepts an authzid that is the account itself, bare JID or localpart', async () => {
    assert.equal((await plain().step(response(`alice@${DOMAIN}`, 'alice', 'correct horse battery'))).kind, 'success');
    assert.equal((await plain().step(response('alice', 'alice', 'correct horse battery'))).kind, 'success');
  });

  it('refuses a wrong password with not-authorized', async () => {
    await assertSaslFailure(plain().step(response('', 'alice', 'wrong horse battery')), 'not-authorized');
  });

  it('refuses an unknown user with not-authorized', async () => {
    await assertSaslFailure(plain().step(response('', 'mallory', 'correct horse battery')), 'not-authorized');
  });

  it('refuses an authzid naming another account with invalid-authzid', async () => {
    await assertSaslFailure(plain().step(response(`bob@${DOMAIN}`, 'alice', 'correct horse battery')), 'invalid-authzid');
  });

  it('refuses a username that is not a valid localpart with not-authorized', async () => {
    await assertSaslFailure(plain().step(response('', 'al ice', 'correct horse battery')), 'not-authorized');
  });

  it('asks for the credentials with an empty challenge when the client sent none', async () => {
    const step = await plain().step(null);
    assert.ok(step.kind === 'challenge');
    assert.equal(step.data.length, 0);
  });

  describe('malformed responses are malformed-request', () => {
    const cases: Array<[string, Buffer]> = [
      ['an empty response', Buffer.alloc(0)],
      ['no NUL at all', Buffer.from('alice correct horse battery')],
      ['one NUL only', Buffer.from('alice\u0000correct horse battery')],
      ['three NULs', Buffer.from('\u0000alice\u0000correct\u0000horse')],
    ];
    for (const [name, data] of cases) {
      it(name, async () => {
        await assertSaslFailure(plain().step(data), 'malformed-request');
      });
    }
  });
});
