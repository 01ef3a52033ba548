import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AccountStore } from '../../../xmpp/accounts.ts';

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

  it('stores salted SCRAM keys for SHA-1 and SHA-256, never the password', async () => {
    const store = await AccountStore.open(file);
    await store.setPassword('alice@meet.jitsi', 'secret password');
    const text = await readFile(file, 'utf8');
    assert.ok(!text.includes('secret password'));
    const account = JSON.parse(text).accounts['alice@meet.jitsi'];
    for (const hash of ['sha1', 'sha256']) {
      assert.deepEqual(Object.keys(account.scram[hash]).sort(), ['iterations', 'salt', 'serverKey', 'storedKey']);
      assert.ok(account.scram[hash].iterations >= 4096);
    }
    assert.notEqual(account.scram.sha1.salt, account.scram.sha256.salt);
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

  it('refuses to open a corrupt file, naming it', async () => {
    await writeFile(join(dir, 'corrupt.json'), '{ not json');
    await assert.rejects(AccountStore.open(join(dir, 'corrupt.json')), (err: Error) => err.message.includes('corrupt.json'));
  });
});
