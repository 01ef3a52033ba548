import assert from 'node:assert/strict';
import { parse } from 'ltx';
import { StanzaError } from '../../../../xmpp/errors.ts';
import {
  buildMucAdmin, buildMucJoin, buildMucOwner, buildMucUser, NS_MUC, NS_MUC_ADMIN, NS_MUC_OWNER, NS_MUC_USER,
  parseMucAdmin, parseMucJoin, parseMucOwner, parseMucUser, type MucItem, type MucJoin, type MucOwnerQuery, type MucUser,
} from '../../../../xmpp/protocol/muc-user.ts';
import { describeFixtures, type Codec } from './fixtures.ts';

const codecs = {
  user: { ns: NS_MUC_USER, parse: parseMucUser, build: buildMucUser } satisfies Codec<MucUser>,
  join: { ns: NS_MUC, parse: parseMucJoin, build: buildMucJoin } satisfies Codec<MucJoin>,
  admin: { ns: NS_MUC_ADMIN, parse: parseMucAdmin, build: buildMucAdmin } satisfies Codec<MucItem[]>,
  owner: { ns: NS_MUC_OWNER, parse: parseMucOwner, build: buildMucOwner } satisfies Codec<MucOwnerQuery>,
};

function assertBadRequest(fn: () => unknown): void {
  assert.throws(fn, (err: unknown) => err instanceof StanzaError && err.condition === 'bad-request');
}

describe('xmpp/protocol/muc-user (XEP-0045)', () => {
  describeFixtures('muc-user', codecs);

  it('ignores unknown muc#user children (XEP-0045 §15.6 allows extensions)', () => {
    const user = parseMucUser(parse(`<x xmlns="${NS_MUC_USER}"><status code="110"/><unknown xmlns="urn:x"/></x>`));
    assert.deepEqual(user, { items: [], statuses: [110], invites: [] });
  });

  const bad: Array<[string, () => unknown]> = [
    ['a status code outside 100-999', () => parseMucUser(parse(`<x xmlns="${NS_MUC_USER}"><status code="42"/></x>`))],
    ['a status code that is not a number', () => parseMucUser(parse(`<x xmlns="${NS_MUC_USER}"><status code="x"/></x>`))],
    ['an unknown affiliation', () => parseMucUser(parse(`<x xmlns="${NS_MUC_USER}"><item affiliation="king"/></x>`))],
    ['an unknown role', () => parseMucAdmin(parse(`<query xmlns="${NS_MUC_ADMIN}"><item role="king" nick="n"/></query>`))],
    ['a muc#admin query without items', () => parseMucAdmin(parse(`<query xmlns="${NS_MUC_ADMIN}"/>`))],
    ['a negative history count', () => parseMucJoin(parse(`<x xmlns="${NS_MUC}"><history maxstanzas="-1"/></x>`))],
    ['a fractional history count', () => parseMucJoin(parse(`<x xmlns="${NS_MUC}"><history seconds="1.5"/></x>`))],
    ['a history date that is not a date', () => parseMucJoin(parse(`<x xmlns="${NS_MUC}"><history since="yesterday"/></x>`))],
    ['a muc#user element given as join', () => parseMucJoin(parse(`<x xmlns="${NS_MUC_USER}"/>`))],
    ['a muc#admin query given as owner', () => parseMucOwner(parse(`<query xmlns="${NS_MUC_ADMIN}"/>`))],
  ];
  for (const [name, fn] of bad) {
    it(`refuses ${name} with bad-request`, () => assertBadRequest(fn));
  }

  it("reads XEP-0045's since without milliseconds as the same instant", () => {
    const join = parseMucJoin(parse(`<x xmlns="${NS_MUC}"><history since="1970-01-01T00:00:00Z"/></x>`));
    assert.deepEqual(join, { history: { since: 0 } });
  });
});
