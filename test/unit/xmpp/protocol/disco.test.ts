import assert from 'node:assert/strict';
import { parse } from 'ltx';
import { StanzaError } from '../../../../xmpp/errors.ts';
import {
  buildDiscoInfo, buildDiscoItems, NS_DISCO_INFO, NS_DISCO_ITEMS, parseDiscoInfo, parseDiscoItems, type DiscoInfo, type DiscoItems,
} from '../../../../xmpp/protocol/disco.ts';
import { describeFixtures, type Codec } from './fixtures.ts';

const info: Codec<DiscoInfo> = { ns: NS_DISCO_INFO, parse: parseDiscoInfo, build: buildDiscoInfo };
const items: Codec<DiscoItems> = { ns: NS_DISCO_ITEMS, parse: parseDiscoItems, build: buildDiscoItems };

function assertBadRequest(fn: () => unknown, mention: string): void {
  assert.throws(fn, (err: unknown) => err instanceof StanzaError && err.condition === 'bad-request' && err.message.includes(mention));
}

describe('xmpp/protocol/disco (XEP-0030)', () => {
  describeFixtures('disco', { info, items });

  it('parses the query out of a whole IQ', () => {
    const iq = parse(`<iq type="result"><query xmlns="${NS_DISCO_INFO}"><feature var="urn:xmpp:ping"/></query></iq>`);
    assert.deepEqual(parseDiscoInfo(iq).features, ['urn:xmpp:ping']);
  });

  it('ignores unknown children of disco#info', () => {
    const query = parse(`<query xmlns="${NS_DISCO_INFO}"><feature var="a"/><x xmlns="urn:other"/><unknown/></query>`);
    assert.deepEqual(parseDiscoInfo(query), { identities: [], features: ['a'], forms: [] });
  });

  it('refuses an identity without category or type', () => {
    assertBadRequest(() => parseDiscoInfo(parse(`<query xmlns="${NS_DISCO_INFO}"><identity type="pc"/></query>`)), 'identity');
    assertBadRequest(() => parseDiscoInfo(parse(`<query xmlns="${NS_DISCO_INFO}"><identity category="client"/></query>`)), 'identity');
  });

  it("refuses a feature without 'var'", () => {
    assertBadRequest(() => parseDiscoInfo(parse(`<query xmlns="${NS_DISCO_INFO}"><feature/></query>`)), 'var');
  });

  it("refuses an item without 'jid'", () => {
    assertBadRequest(() => parseDiscoItems(parse(`<query xmlns="${NS_DISCO_ITEMS}"><item name="x"/></query>`)), 'jid');
  });

  it('refuses a query of the other disco namespace', () => {
    assertBadRequest(() => parseDiscoInfo(parse(`<query xmlns="${NS_DISCO_ITEMS}"/>`)), NS_DISCO_INFO);
    assertBadRequest(() => parseDiscoItems(parse(`<iq><query xmlns="${NS_DISCO_INFO}"/></iq>`)), NS_DISCO_ITEMS);
  });
});
