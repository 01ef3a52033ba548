/**
 * The token a page is opened with: taken out of the address at once (path and other parameters
 * kept, no new history entry), kept for a reload of the same tab and path, dropped once expired.
 */
import assert from 'node:assert/strict';
import { PAGE_TOKEN_KEY_PREFIX, takePageToken, type PageTokenEnv } from '../../../web/client/ui/page-token.ts';

const NOW = Date.UTC(2026, 0, 1);

function tokenExpiringAt(seconds: number): string {
  const part = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'HS256', typ: 'JWT' })}.${part({ room: 'Reunion', exp: seconds })}.c2lnbmF0dXJl`;
}

class FakeStorage {
  readonly items = new Map<string, string>();
  getItem(key: string): string | null {
    return this.items.get(key) ?? null;
  }
  setItem(key: string, value: string): void {
    this.items.set(key, value);
  }
  removeItem(key: string): void {
    this.items.delete(key);
  }
}

function page(href: string, storage: FakeStorage | undefined): PageTokenEnv & { replaced: string[] } {
  const url = new URL(href, 'https://meet.example.org');
  const replaced: string[] = [];
  return {
    location: { pathname: url.pathname, search: url.search, hash: url.hash },
    history: { state: { kept: true }, replaceState: (data, _unused, address) => {
      assert.deepEqual(data, { kept: true }, 'the history state is kept');
      replaced.push(address);
    } },
    storage: () => {
      if (!storage) throw new DOMException('storage disabled', 'SecurityError');
      return storage;
    },
    now: NOW,
    replaced,
  };
}

describe('web/client/ui/page-token', () => {
  const valid = tokenExpiringAt(NOW / 1000 + 3600);

  it('takes the token out of the address and keeps it for a reload of the same path', () => {
    const storage = new FakeStorage();
    const landing = page(`/Reunion#jwt=%22${valid}%22&config.prejoinConfig.enabled=false`, storage);
    assert.equal(takePageToken(landing, valid), valid);
    assert.deepEqual(landing.replaced, ['/Reunion#config.prejoinConfig.enabled=false']);
    assert.equal(storage.getItem(`${PAGE_TOKEN_KEY_PREFIX}/Reunion`), valid);

    const reload = page('/Reunion#config.prejoinConfig.enabled=false', storage);
    assert.equal(takePageToken(reload, undefined), valid, 'a reload still signs in');
    assert.deepEqual(reload.replaced, [], 'an address without a token is left alone');

    assert.equal(takePageToken(page('/Autre', storage), undefined), undefined, 'not for another room');
  });

  it('drops a kept token once expired, and one that is no token', () => {
    const storage = new FakeStorage();
    storage.setItem(`${PAGE_TOKEN_KEY_PREFIX}/Reunion`, tokenExpiringAt(NOW / 1000 - 1));
    assert.equal(takePageToken(page('/Reunion', storage), undefined), undefined);
    assert.equal(storage.items.size, 0);
    storage.setItem(`${PAGE_TOKEN_KEY_PREFIX}/Reunion`, 'not a token');
    assert.equal(takePageToken(page('/Reunion', storage), undefined), undefined);
    assert.equal(storage.items.size, 0);
  });

  it('takes a token out of the address even when it could not be read or storage is disabled', () => {
    const storage = new FakeStorage();
    const bad = page('/Reunion?jwt=not-a-token&lang=fr', storage);
    assert.equal(takePageToken(bad, undefined), undefined);
    assert.deepEqual(bad.replaced, ['/Reunion?lang=fr']);

    const disabled = page(`/Reunion?jwt=${valid}`, undefined);
    assert.equal(takePageToken(disabled, valid), valid, 'the token still serves this page');
    assert.deepEqual(disabled.replaced, ['/Reunion']);
  });
});
