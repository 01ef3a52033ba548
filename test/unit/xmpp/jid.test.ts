import assert from 'node:assert/strict';
import { StanzaError } from '../../../xmpp/errors.ts';
import { Jid, parseJid, tryParseJid } from '../../../xmpp/jid.ts';

function assertMalformed(text: string): void {
  assert.throws(() => parseJid(text), (err: unknown) => err instanceof StanzaError && err.condition === 'jid-malformed' && err.type === 'modify');
  assert.equal(tryParseJid(text), undefined);
}

describe('xmpp/jid', () => {
  describe('parseJid splits and normalises (RFC 7622)', () => {
    const cases: Array<[input: string, local: string, domain: string, resource: string]> = [
      ['example.com', '', 'example.com', ''],
      ['alice@example.com', 'alice', 'example.com', ''],
      ['alice@example.com/phone', 'alice', 'example.com', 'phone'],
      ['example.com/resource', '', 'example.com', 'resource'],
      ['Alice@Example.COM/Phone', 'alice', 'example.com', 'Phone'],
      ['room@muc.meet.jitsi/Nick With Spaces', 'room', 'muc.meet.jitsi', 'Nick With Spaces'],
      // §3.1: the first slash ends the bare part; later slashes and @ belong to the resource.
      ['a@b/c/d@e', 'a', 'b', 'c/d@e'],
      ['a/b@c', '', 'a', 'b@c'],
      // A trailing dot of the domain is dropped (§3.2).
      ['bob@example.com./x', 'bob', 'example.com', 'x'],
    ];
    for (const [input, local, domain, resource] of cases) {
      it(`${input} → local "${local}", domain "${domain}", resource "${resource}"`, () => {
        const jid = parseJid(input);
        assert.equal(jid.local, local);
        assert.equal(jid.domain, domain);
        assert.equal(jid.resource, resource);
      });
    }

    it('folds the case of the localpart and domainpart but keeps the resource as written', () => {
      const jid = parseJid('JULIET@Capulet.Example/Balcony');
      assert.equal(jid.bare, 'juliet@capulet.example');
      assert.equal(jid.full, 'juliet@capulet.example/Balcony');
    });

    it('applies Unicode NFC to every part', () => {
      const decomposed = 'Re\u0301my@Cafe\u0301.example/Ami\u0301';
      const jid = parseJid(decomposed);
      assert.equal(jid.local, 'r\u00e9my');
      assert.equal(jid.domain, 'caf\u00e9.example');
      assert.equal(jid.resource, 'Am\u00ed', 'the resource is composed, not case-folded');
      assert.ok(parseJid('r\u00e9my@caf\u00e9.example/Ami\u0301').equals(jid), 'precomposed and decomposed forms are the same JID');
    });
  });

  describe('malformed JIDs throw jid-malformed', () => {
    const cases: Array<[string, string]> = [
      ['the empty string', ''],
      ['an empty localpart', '@example.com'],
      ['an empty domainpart', 'alice@'],
      ['an empty domainpart before a resource', 'alice@/r'],
      ['an empty resourcepart', 'alice@example.com/'],
      ['only a dot as domain', 'alice@.'],
      ['a second @ (in the domain)', 'a@b@c'],
      ['a space in the localpart', 'al ice@example.com'],
      ['a double quote in the localpart', 'al"ice@example.com'],
      ['an ampersand in the localpart', 'al&ice@example.com'],
      ["an apostrophe in the localpart", "al'ice@example.com"],
      ['a colon in the localpart', 'al:ice@example.com'],
      ['a < in the localpart', 'al<ice@example.com'],
      ['a > in the localpart', 'al>ice@example.com'],
      ['a control character in the localpart', 'al\u0001ice@example.com'],
      ['a space in the domain', 'alice@exa mple.com'],
      ['a backslash in the domain', 'alice@exa\\mple.com'],
      ['a control character in the resource', 'alice@example.com/r\u0007'],
      ['a localpart of 1024 bytes', `${'a'.repeat(1024)}@example.com`],
      ['a localpart of 1024 bytes in two-byte characters', `${'\u00e9'.repeat(512)}@example.com`],
      ['a domainpart of 1024 bytes', `a@${'d'.repeat(1024)}`],
      ['a resourcepart of 1024 bytes', `a@example.com/${'r'.repeat(1024)}`],
    ];
    for (const [name, text] of cases) {
      it(`refuses ${name}`, () => assertMalformed(text));
    }

    it('accepts each part at exactly 1023 bytes', () => {
      const jid = parseJid(`${'a'.repeat(1023)}@${'d'.repeat(1023)}/${'r'.repeat(1023)}`);
      assert.equal(jid.local.length, 1023);
      assert.equal(jid.domain.length, 1023);
      assert.equal(jid.resource.length, 1023);
    });
  });

  describe('Jid', () => {
    it('gives the bare and full forms', () => {
      const jid = parseJid('alice@example.com/phone');
      assert.equal(jid.bare, 'alice@example.com');
      assert.equal(jid.full, 'alice@example.com/phone');
      assert.equal(String(jid), 'alice@example.com/phone');
    });

    it('has a full form equal to the bare form without a resource', () => {
      const jid = parseJid('example.com');
      assert.equal(jid.bare, 'example.com');
      assert.equal(jid.full, 'example.com');
    });

    it('toBare drops the resource and returns the same object when there is none', () => {
      const full = parseJid('alice@example.com/phone');
      const bare = full.toBare();
      assert.equal(bare.full, 'alice@example.com');
      assert.equal(bare.resource, '');
      assert.equal(bare.toBare(), bare);
    });

    it('withResource normalises the new resource and keeps the bare part', () => {
      const jid = parseJid('alice@example.com').withResource('Ami\u0301');
      assert.equal(jid.full, 'alice@example.com/Am\u00ed');
      assert.throws(() => parseJid('alice@example.com').withResource('bad\u0000'), StanzaError);
    });

    it('equals compares the normalised full forms', () => {
      assert.ok(parseJid('ALICE@example.com/r').equals(parseJid('alice@EXAMPLE.com/r')));
      assert.ok(!parseJid('alice@example.com/r').equals(parseJid('alice@example.com/R')));
      assert.ok(!parseJid('alice@example.com/r').equals(parseJid('alice@example.com')));
    });

    it('can be built from already normalised parts', () => {
      assert.equal(new Jid('a', 'b', 'c').full, 'a@b/c');
      assert.equal(new Jid('', 'b').full, 'b');
    });
  });

  describe('tryParseJid', () => {
    it('returns undefined for undefined', () => {
      assert.equal(tryParseJid(undefined), undefined);
    });

    it('returns the parsed JID for good input', () => {
      assert.equal(tryParseJid('Bob@Example.com/x')?.full, 'bob@example.com/x');
    });

    it('returns undefined instead of throwing for malformed input', () => {
      assert.equal(tryParseJid('@example.com'), undefined);
    });
  });
});
