import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { TokenSigner } from '../../../web/server/pad/tokens.ts';

const claims = { doc: 'q1w2e3r4t5y6u7i8', room: 'myroom@muc.meet.jitsi', occupant: 'myroom@muc.meet.jitsi/alice' };
const expected = { doc: claims.doc, room: claims.room };

function clock(start = 1_766_000_000_000): { now: () => number; advance(ms: number): void } {
  let t = start;
  return { now: () => t, advance: (ms) => (t += ms) };
}

/** Re-encodes a token's payload with one field changed, keeping the original signature. */
function tamper(token: string, change: Record<string, unknown>): string {
  const [payload, mac] = token.split('.') as [string, string];
  const value = { ...JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')), ...change };
  return `${Buffer.from(JSON.stringify(value)).toString('base64url')}.${mac}`;
}

describe('web/server/pad/tokens (document access tokens)', () => {
  it('accepts its own token for the same document and room, and returns the occupant', () => {
    const signer = new TokenSigner({ now: clock().now });
    const { token, expiresAt } = signer.mint(claims);
    assert.deepEqual(signer.verify(token, expected), { ok: true, claims, expiresAt });
  });

  it('expires a token after the TTL (60 s by default), not before', () => {
    const c = clock();
    const signer = new TokenSigner({ now: c.now });
    const { token } = signer.mint(claims);
    c.advance(59_999);
    assert.equal(signer.verify(token, expected).ok, true);
    c.advance(1);
    assert.deepEqual(signer.verify(token, expected), { ok: false, reason: 'expired' });
  });

  it('honours a configured TTL', () => {
    const c = clock();
    const signer = new TokenSigner({ now: c.now, ttlMs: 1000 });
    const { token, expiresAt } = signer.mint(claims);
    assert.equal(expiresAt, c.now() + 1000);
    c.advance(1000);
    assert.deepEqual(signer.verify(token, expected), { ok: false, reason: 'expired' });
  });

  it('refuses a token signed with another secret (another process)', () => {
    const mine = new TokenSigner();
    const theirs = new TokenSigner();
    assert.deepEqual(mine.verify(theirs.mint(claims).token, expected), { ok: false, reason: 'forged' });
  });

  it('refuses a token whose payload was altered (longer expiry, other occupant)', () => {
    const c = clock();
    const signer = new TokenSigner({ now: c.now });
    const { token } = signer.mint(claims);
    assert.deepEqual(signer.verify(tamper(token, { e: c.now() + 3_600_000 }), expected), { ok: false, reason: 'forged' });
    assert.deepEqual(signer.verify(tamper(token, { o: 'myroom@muc.meet.jitsi/mallory' }), expected), { ok: false, reason: 'forged' });
  });

  it('refuses a flipped signature bit and a truncated signature', () => {
    const signer = new TokenSigner();
    const { token } = signer.mint(claims);
    const [payload, mac] = token.split('.') as [string, string];
    const bytes = Buffer.from(mac, 'base64url');
    bytes[0] = bytes[0]! ^ 1;
    assert.deepEqual(signer.verify(`${payload}.${bytes.toString('base64url')}`, expected), { ok: false, reason: 'forged' });
    assert.deepEqual(signer.verify(`${payload}.${mac.slice(0, 20)}`, expected), { ok: false, reason: 'forged' });
  });

  it("refuses a valid token presented for another room's document", () => {
    const signer = new TokenSigner();
    const { token } = signer.mint(claims);
    assert.deepEqual(signer.verify(token, { doc: 'zzzzzzzzzzzzzzzz', room: claims.room }), { ok: false, reason: 'other-document' });
    assert.deepEqual(signer.verify(token, { doc: claims.doc, room: 'other@muc.meet.jitsi' }), { ok: false, reason: 'other-room' });
  });

  it('calls malformed whatever is not two base64url parts of sane length', () => {
    const signer = new TokenSigner();
    const { token } = signer.mint(claims);
    for (const bad of ['', '.', 'abc', 'a.b.c', `${token}.x`, 'a b.c', 'ab$.cd', `${'a'.repeat(3000)}.b`]) {
      assert.deepEqual(signer.verify(bad, expected), { ok: false, reason: 'malformed' }, JSON.stringify(bad.slice(0, 40)));
    }
  });

  it('calls malformed a signed payload of the wrong shape', () => {
    const secret = Buffer.alloc(32, 7);
    const signer = new TokenSigner({ secret });
    for (const value of [[], { v: 2, d: 'x', r: 'y', o: 'z', e: 1 }, { v: 1, d: 'x', r: 'y', o: 'z', e: '1' }]) {
      const payload = Buffer.from(JSON.stringify(value)).toString('base64url');
      const mac = createHmac('sha256', secret).update(payload).digest('base64url');
      assert.deepEqual(signer.verify(`${payload}.${mac}`, expected), { ok: false, reason: 'malformed' });
    }
  });
});
