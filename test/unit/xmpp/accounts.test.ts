import assert from 'node:assert/strict';
import { scryptSync } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { AccountStore, deriveCredentials } from '../../../xmpp/accounts.ts';
import { PlainMechanism } from '../../../xmpp/sasl/plain.ts';
import { SaslFailure, type SaslContext } from '../../../xmpp/sasl/mechanism.ts';

describe('xmpp/accounts AccountStore', () => {
  let dir: string;
  let file: string;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'salon-accounts-'));
    file = join(dir, 'state', 'accounts.json');
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('starts empty when the file does not exist', async () => {
    const store = await AccountStore.open(file);
    assert.deepEqual(store.list(), []);
    assert.equal(store.has('alice@meet.jitsi'), false);
  });

  it('verifies the password that was set and refuses any other', async () => {
    const store = await AccountStore.open(file);
    await store.setPassword('alice@meet.jitsi', 'secret password');
    assert.equal(await store.verifyPassword('alice@meet.jitsi', 'secret password'), true);
    assert.equal(await store.verifyPassword('alice@meet.jitsi', 'Secret password'), false);
    assert.equal(await store.verifyPassword('alice@meet.jitsi', ''), false);
  });

  it('refuses every password of an unknown account', async () => {
    const store = await AccountStore.open(file);
    assert.equal(await store.verifyPassword('nobody@meet.jitsi', 'secret password'), false);
  });

  it('refuses a password shorter than 8 characters and stores nothing', async () => {
    const store = await AccountStore.open(file);
    await assert.rejects(store.setPassword('alice@meet.jitsi', 'short12'), /too short/);
    assert.equal(store.has('alice@meet.jitsi'), false);
    await assert.rejects(stat(file), { code: 'ENOENT' });
  });

  it('accepts a password of exactly 8 characters', async () => {
    const store = await AccountStore.open(file);
    await store.setPassword('alice@meet.jitsi', '12345678');
    assert.equal(await store.verifyPassword('alice@meet.jitsi', '12345678'), true);
  });

  it('replaces the password and keeps the creation time', async () => {
    const store = await AccountStore.open(file);
    await store.setPassword('alice@meet.jitsi', 'first password');
    const createdAt = store.get('alice@meet.jitsi')?.createdAt;
    await store.setPassword('alice@meet.jitsi', 'second password');
    assert.equal(await store.verifyPassword('alice@meet.jitsi', 'first password'), false);
    assert.equal(await store.verifyPassword('alice@meet.jitsi', 'second password'), true);
    assert.equal(store.get('alice@meet.jitsi')?.createdAt, createdAt);
  });

  it('keeps accounts across a reopen', async () => {
    const store = await AccountStore.open(file);
    await store.setPassword('alice@meet.jitsi', 'secret password');
    await store.setPassword('bob@meet.jitsi', 'other password');
    const reopened = await AccountStore.open(file);
    assert.deepEqual(reopened.list(), ['alice@meet.jitsi', 'bob@meet.jitsi']);
    assert.equal(await reopened.verifyPassword('alice@meet.jitsi', 'secret password'), true);
    assert.equal(await reopened.verifyPassword('bob@meet.jitsi', 'other password'), true);
  });

  it('removes an account, also from the file, and says whether there was one', async () => {
    const store = await AccountStore.open(file);
    await store.setPassword('alice@meet.jitsi', 'secret password');
    assert.equal(await store.remove('alice@meet.jitsi'), true);
    assert.equal(await store.remove('alice@meet.jitsi'), false);
    assert.equal(await store.verifyPassword('alice@meet.jitsi', 'secret password'), false);
    assert.deepEqual((await AccountStore.open(file)).list(), []);
  });

  it('writes the file with mode 0600 and its new directory with mode 0700', async () => {
    const store = await AccountStore.open(file);
    await store.setPassword('alice@meet.jitsi', 'secret password');
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    assert.equal((await stat(join(dir, 'state'))).mode & 0o777, 0o700);
  });

  it('stores by default a scrypt hash (N=2^15, r=8, p=1) and nothing else, never the password', async () => {
    const store = await AccountStore.open(file);
    assert.equal(store.storage, 'scrypt');
    await store.setPassword('alice@meet.jitsi', 'secret password');
    const text = await readFile(file, 'utf8');
    assert.ok(!text.includes('secret password'));
    const parsed = JSON.parse(text);
    assert.equal(parsed.version, 2);
    const account = parsed.accounts['alice@meet.jitsi'];
    assert.deepEqual(Object.keys(account).sort(), ['createdAt', 'scrypt']);
    assert.deepEqual(Object.keys(account.scrypt).sort(), ['N', 'hash', 'p', 'r', 'salt']);
    assert.deepEqual([account.scrypt.N, account.scrypt.r, account.scrypt.p], [32768, 8, 1]);
    assert.equal(Buffer.from(account.scrypt.hash, 'base64').length, 32);
    assert.equal(Buffer.from(account.scrypt.salt, 'base64').length, 16);
  });

  it('checks the scrypt hash against an independent scrypt of the password', async () => {
    const store = await AccountStore.open(file);
    await store.setPassword('alice@meet.jitsi', 'secret password');
    const { salt, N, r, p, hash } = store.get('alice@meet.jitsi')!.scrypt!;
    const expected = scryptSync('secret password', Buffer.from(salt, 'base64'), 32, { N, r, p, maxmem: 64 * 1024 * 1024 });
    assert.equal(hash, expected.toString('base64'));
  });

  it('stores in scram mode salted SCRAM keys for SHA-1 and SHA-256 and nothing else, never the password', async () => {
    const store = await AccountStore.open(file, { storage: 'scram' });
    await store.setPassword('alice@meet.jitsi', 'secret password');
    const text = await readFile(file, 'utf8');
    assert.ok(!text.includes('secret password'));
    const account = JSON.parse(text).accounts['alice@meet.jitsi'];
    assert.deepEqual(Object.keys(account).sort(), ['createdAt', 'scram']);
    for (const hash of ['sha1', 'sha256']) {
      assert.deepEqual(Object.keys(account.scram[hash]).sort(), ['iterations', 'salt', 'serverKey', 'storedKey']);
      assert.ok(account.scram[hash].iterations >= 4096);
    }
    assert.notEqual(account.scram.sha1.salt, account.scram.sha256.salt);
    assert.equal(await store.verifyPassword('alice@meet.jitsi', 'secret password'), true);
    assert.equal(await store.verifyPassword('alice@meet.jitsi', 'secret passworD'), false);
    assert.equal(await store.verifyPassword('nobody@meet.jitsi', 'secret password'), false);
  });

  it('leaves no temporary file behind after concurrent writes', async () => {
    const store = await AccountStore.open(file);
    await Promise.all([
      store.setPassword('a@meet.jitsi', 'password a'),
      store.setPassword('b@meet.jitsi', 'password b'),
      store.setPassword('c@meet.jitsi', 'password c'),
    ]);
    assert.deepEqual((await AccountStore.open(file)).list(), ['a@meet.jitsi', 'b@meet.jitsi', 'c@meet.jitsi']);
    assert.deepEqual(await readdir(join(dir, 'state')), ['accounts.json']);
  });

  it('refuses to open a file of a format version it does not know', async () => {
    await writeFile(join(dir, 'future.json'), JSON.stringify({ version: 3, accounts: {} }));
    await assert.rejects(AccountStore.open(join(dir, 'future.json')), /future\.json: unknown format version 3/);
  });

  it('refuses to open a file with an account holding no credentials, or absurd scrypt parameters', async () => {
    await writeFile(join(dir, 'empty.json'), JSON.stringify({ version: 2, accounts: { 'a@meet.jitsi': { createdAt: '2026-01-01T00:00:00.000Z' } } }));
    await assert.rejects(AccountStore.open(join(dir, 'empty.json')), /a@meet\.jitsi: neither scrypt nor SCRAM/);
    const huge = { salt: 'AAAA', N: 2 ** 30, r: 8, p: 1, hash: 'AAAA' };
    await writeFile(join(dir, 'huge.json'), JSON.stringify({ version: 2, accounts: { 'a@meet.jitsi': { scrypt: huge, createdAt: '2026-01-01T00:00:00.000Z' } } }));
    await assert.rejects(AccountStore.open(join(dir, 'huge.json')), /bad scrypt parameters/);
    // Within each bound but 4 GiB together (128 · 2^20 · 32 bytes).
    const heavy = { salt: 'AAAA', N: 2 ** 20, r: 32, p: 1, hash: 'AAAA' };
    await writeFile(join(dir, 'heavy.json'), JSON.stringify({ version: 2, accounts: { 'a@meet.jitsi': { scrypt: heavy, createdAt: '2026-01-01T00:00:00.000Z' } } }));
    await assert.rejects(AccountStore.open(join(dir, 'heavy.json')), /bad scrypt parameters/);
  });

  describe('moving between the two storages', () => {
    /** A version 1 file, as Salon wrote before scrypt: SCRAM keys only. */
    async function writeVersion1(password: string): Promise<void> {
      const scram = { sha1: await deriveCredentials(password, 'sha1'), sha256: await deriveCredentials(password, 'sha256') };
      await mkdir(dirname(file), { recursive: true });
      await writeFile(file, JSON.stringify({ version: 1, accounts: { 'alice@meet.jitsi': { scram, createdAt: '2026-01-01T00:00:00.000Z' } } }));
    }

    it('loads a version 1 file and checks its SCRAM keys, leaving it as it is in scram mode', async () => {
      await writeVersion1('secret password');
      const before = await readFile(file, 'utf8');
      const store = await AccountStore.open(file, { storage: 'scram' });
      assert.equal(store.needsRehash('alice@meet.jitsi'), false);
      assert.equal(await store.verifyPassword('alice@meet.jitsi', 'secret password'), true);
      assert.equal(await readFile(file, 'utf8'), before);
    });

    it('in scrypt mode, rehashes a SCRAM-only account to scrypt on its first good password and drops the SCRAM keys', async () => {
      await writeVersion1('secret password');
      const before = await readFile(file, 'utf8');
      const store = await AccountStore.open(file);
      assert.equal(store.needsRehash('alice@meet.jitsi'), true);
      assert.equal(await store.verifyPassword('alice@meet.jitsi', 'wrong password'), false);
      assert.equal(await readFile(file, 'utf8'), before, 'a wrong password changes nothing');

      assert.equal(await store.verifyPassword('alice@meet.jitsi', 'secret password'), true);
      assert.equal(store.needsRehash('alice@meet.jitsi'), false);
      const parsed = JSON.parse(await readFile(file, 'utf8'));
      assert.equal(parsed.version, 2);
      const account = parsed.accounts['alice@meet.jitsi'];
      assert.deepEqual(Object.keys(account).sort(), ['createdAt', 'scrypt']);
      assert.equal(account.createdAt, '2026-01-01T00:00:00.000Z');

      const reopened = await AccountStore.open(file);
      assert.equal(await reopened.verifyPassword('alice@meet.jitsi', 'secret password'), true);
      assert.equal(await reopened.verifyPassword('alice@meet.jitsi', 'wrong password'), false);
    });

    it('in scram mode, gives a scrypt-only account SCRAM keys on its first good password and drops the hash', async () => {
      await (await AccountStore.open(file)).setPassword('alice@meet.jitsi', 'secret password');
      const store = await AccountStore.open(file, { storage: 'scram' });
      assert.equal(store.needsRehash('alice@meet.jitsi'), true);
      assert.equal(await store.verifyPassword('alice@meet.jitsi', 'secret password'), true);
      const account = JSON.parse(await readFile(file, 'utf8')).accounts['alice@meet.jitsi'];
      assert.deepEqual(Object.keys(account).sort(), ['createdAt', 'scram']);
      assert.equal(await (await AccountStore.open(file, { storage: 'scram' })).verifyPassword('alice@meet.jitsi', 'secret password'), true);
    });

    it('setPassword in scrypt mode replaces SCRAM keys by the hash', async () => {
      await writeVersion1('secret password');
      const store = await AccountStore.open(file);
      await store.setPassword('alice@meet.jitsi', 'new password');
      assert.deepEqual(Object.keys(store.get('alice@meet.jitsi')!).sort(), ['createdAt', 'scrypt']);
      assert.equal(await store.verifyPassword('alice@meet.jitsi', 'secret password'), false);
      assert.equal(await store.verifyPassword('alice@meet.jitsi', 'new password'), true);
    });

    it('a password set while a login rehashes the old one wins', async () => {
      await writeVersion1('old password');
      const store = await AccountStore.open(file);
      const [verified] = await Promise.all([
        store.verifyPassword('alice@meet.jitsi', 'old password'),
        store.setPassword('alice@meet.jitsi', 'new password'),
      ]);
      assert.equal(verified, true);
      assert.equal(await store.verifyPassword('alice@meet.jitsi', 'new password'), true);
      assert.equal(await (await AccountStore.open(file)).verifyPassword('alice@meet.jitsi', 'new password'), true);
    });
  });

  describe('SASL PLAIN against the store', () => {
    const ctx: SaslContext = { domain: 'meet.jitsi', secure: true, remoteAddress: '127.0.0.1', query: new URLSearchParams() };
    const plain = (username: string, password: string): Buffer => Buffer.from(`\u0000${username}\u0000${password}`, 'utf8');

    it('logs in against a scrypt hash and refuses a wrong password or an unknown account alike', async () => {
      const store = await AccountStore.open(file);
      await store.setPassword('alice@meet.jitsi', 'secret password');
      const ok = await new PlainMechanism(ctx, store).step(plain('alice', 'secret password'));
      assert.deepEqual(ok, { kind: 'success', username: 'alice' });
      for (const [user, password] of [['alice', 'wrong password'], ['nobody', 'secret password']] as const) {
        await assert.rejects(new PlainMechanism(ctx, store).step(plain(user, password)), (err: unknown) => err instanceof SaslFailure && err.condition === 'not-authorized');
      }
    });

    it('logs in a SCRAM-only account in scrypt mode and leaves it kept as scrypt', async () => {
      const legacy = await AccountStore.open(file, { storage: 'scram' });
      await legacy.setPassword('alice@meet.jitsi', 'secret password');
      const store = await AccountStore.open(file);
      const ok = await new PlainMechanism(ctx, store).step(plain('alice', 'secret password'));
      assert.equal(ok.kind, 'success');
      const account = JSON.parse(await readFile(file, 'utf8')).accounts['alice@meet.jitsi'];
      assert.deepEqual(Object.keys(account).sort(), ['createdAt', 'scrypt']);
      assert.equal((await new PlainMechanism(ctx, await AccountStore.open(file)).step(plain('alice', 'secret password'))).kind, 'success');
    });
  });

  it('refuses to open a corrupt file, naming it', async () => {
    await writeFile(join(dir, 'corrupt.json'), '{ not json');
    await assert.rejects(AccountStore.open(join(dir, 'corrupt.json')), (err: Error) => err.message.includes('corrupt.json'));
  });
});
