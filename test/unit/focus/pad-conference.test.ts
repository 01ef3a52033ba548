import assert from 'node:assert/strict';
import { Element } from 'ltx';
import { pino } from 'pino';
import { StanzaError } from '../../../xmpp/errors.ts';
import { NS_DOCUMENT, NS_ETHERPAD, buildDocumentRequest, parseDocumentGrant } from '../../../xmpp/protocol/salon-document.ts';
import { Conference, type ConferenceLink } from '../../../focus/conference.ts';
import { answerDocumentRequest, type ConferenceDocument, type DocumentAccess, type SharedDocuments } from '../../../focus/pad.ts';

const ROOM = 'myroom@muc.meet.jitsi';
const NS_MUC_USER = 'http://jabber.org/protocol/muc#user';

class FakeLink implements ConferenceLink {
  readonly sent: Element[] = [];
  send(stanza: Element): void {
    this.sent.push(stanza);
  }
}

/** A documents service that records what the conference asks of it. */
class FakeDocuments implements SharedDocuments {
  readonly created: FakeDocument[] = [];
  /** @param named false: documents open with tokens only (config `pad.jitsiMeetPage` off). */
  constructor(private readonly named = true) {}
  create(room: string): ConferenceDocument {
    const doc = new FakeDocument(room, `doc${this.created.length}`, this.named);
    this.created.push(doc);
    return doc;
  }
}

class FakeDocument implements ConferenceDocument {
  readonly granted: string[] = [];
  readonly revoked: string[] = [];
  renewals = 0;
  destroyed = 0;
  constructor(readonly room: string, readonly id: string, private readonly named: boolean) {}
  get name(): string | undefined {
    return this.named ? `${this.id}.secret${this.renewals}` : undefined;
  }
  grant(occupant: string): DocumentAccess {
    this.granted.push(occupant);
    return { path: `/pad/${this.id}`, token: `token-for-${occupant}`, expiresAt: Date.UTC(2025, 11, 17, 19, 1) };
  }
  revoke(occupant: string): void {
    this.revoked.push(occupant);
  }
  renewName(): void {
    this.renewals += 1;
  }
  destroy(): void {
    this.destroyed += 1;
  }
}

function occupantPresence(nick: string, opts: { jid?: string; type?: string; statuses?: number[] } = {}): Element {
  const presence = new Element('presence', { from: `${ROOM}/${nick}`, to: 'focus@auth.meet.jitsi/focus', type: opts.type });
  const x = presence.c('x', { xmlns: NS_MUC_USER });
  x.c('item', { affiliation: 'none', role: opts.type === 'unavailable' ? 'none' : 'participant', jid: opts.jid });
  for (const code of opts.statuses ?? []) x.c('status', { code: String(code) });
  return presence;
}

const focusSelf = () => occupantPresence('focus', { jid: 'focus@auth.meet.jitsi/focus', statuses: [110, 201] });
const joined = (nick: string) => occupantPresence(nick, { jid: `${nick}@meet.jitsi/web` });
const left = (nick: string, statuses: number[] = []) => occupantPresence(nick, { type: 'unavailable', jid: `${nick}@meet.jitsi/web`, statuses });
/** The `<etherpad>` name in the last presence the focus sent, if any. */
const lastEtherpad = (link: FakeLink): string | undefined => link.sent.filter((s) => s.name === 'presence').at(-1)?.getChild('etherpad', NS_ETHERPAD)?.getText();

function documentIq(from: string, room = ROOM, type = 'get'): [Element, Element] {
  const payload = buildDocumentRequest({ room });
  const iq = new Element('iq', { type, from, to: 'focus.meet.jitsi', id: 'd1' }).cnode(payload).root();
  return [iq, payload];
}

function assertForbidden(fn: () => unknown): void {
  assert.throws(fn, (err: unknown) => err instanceof StanzaError && err.condition === 'forbidden');
}

describe('focus/pad (the conference\'s shared document)', () => {
  let link: FakeLink;
  let documents: FakeDocuments;
  let conference: Conference;

  beforeEach(() => {
    link = new FakeLink();
    documents = new FakeDocuments();
    conference = new Conference(link, pino({ level: 'silent' }), {
      roomJid: ROOM, focusVersion: '1.0-test', idleTimeoutMs: 3_600_000, documents, onEnded: () => undefined,
    });
  });

  afterEach(() => conference.end('test over'));

  it('creates one document when the conference starts and names it in the focus join presence', () => {
    assert.equal(documents.created.length, 1);
    assert.equal(documents.created[0]!.room, ROOM);
    const etherpad = link.sent[0]!.getChild('etherpad', NS_ETHERPAD);
    assert.equal(etherpad?.getText(), documents.created[0]!.name);
  });

  it('grants a participant a token bound to its occupant JID, and answers it as a document grant', () => {
    conference.onPresence(focusSelf());
    conference.onPresence(joined('alice'));
    const [iq, payload] = documentIq('alice@meet.jitsi/web');
    const grant = parseDocumentGrant(answerDocumentRequest(iq, payload, new Map([[ROOM, conference]])));
    assert.deepEqual(grant, { room: ROOM, path: '/pad/doc0', token: `token-for-${ROOM}/alice`, expires: '2025-12-17T19:01:00.000Z' });
    assert.deepEqual(documents.created[0]!.granted, [`${ROOM}/alice`]);
  });

  it('refuses an outsider, another resource of a participant\'s account, and a room with no conference alike', () => {
    conference.onPresence(focusSelf());
    conference.onPresence(joined('alice'));
    const conferences = new Map([[ROOM, conference]]);
    assertForbidden(() => answerDocumentRequest(...documentIq('mallory@meet.jitsi/web'), conferences));
    assertForbidden(() => answerDocumentRequest(...documentIq('alice@meet.jitsi/phone'), conferences));
    assertForbidden(() => answerDocumentRequest(...documentIq('alice@meet.jitsi/web', 'other@muc.meet.jitsi'), conferences));
    assert.deepEqual(documents.created[0]!.granted, []);
  });

  it('refuses a set, and a request without a room, as bad requests', () => {
    const conferences = new Map([[ROOM, conference]]);
    assert.throws(() => answerDocumentRequest(...documentIq('alice@meet.jitsi/web', ROOM, 'set'), conferences), (err: unknown) => err instanceof StanzaError && err.condition === 'bad-request');
    const payload = new Element('document', { xmlns: NS_DOCUMENT });
    const iq = new Element('iq', { type: 'get', from: 'alice@meet.jitsi/web' }).cnode(payload).root();
    assert.throws(() => answerDocumentRequest(iq, payload, conferences), (err: unknown) => err instanceof StanzaError && err.condition === 'bad-request');
  });

  it('revokes an occupant\'s access when it leaves, and refuses it a token afterwards', () => {
    conference.onPresence(focusSelf());
    conference.onPresence(joined('alice'));
    conference.onPresence(joined('bob'));
    conference.onPresence(left('bob'));
    assert.deepEqual(documents.created[0]!.revoked, [`${ROOM}/bob`]);
    assertForbidden(() => conference.grantDocument('bob@meet.jitsi/web'));
    assert.equal(documents.created[0]!.destroyed, 0);
  });

  it('renews the document name when a participant is kicked or banned and republishes it, but not when one leaves or changes nick', () => {
    conference.onPresence(focusSelf());
    for (const nick of ['alice', 'bob', 'carol', 'dave', 'erin']) conference.onPresence(joined(nick));
    const doc = documents.created[0]!;
    const sentBefore = link.sent.length;

    conference.onPresence(left('bob', [307]));
    assert.equal(doc.renewals, 1, 'a kick renews the name');
    assert.deepEqual(doc.revoked, [`${ROOM}/bob`], 'and the kicked occupant\'s tokens are revoked');
    const presence = link.sent.at(-1)!;
    assert.equal(presence.name, 'presence');
    assert.equal(presence.attrs.to, `${ROOM}/focus`);
    assert.equal(presence.attrs.type, undefined, 'an update of the focus\'s presence, not a leave');
    assert.equal(lastEtherpad(link), 'doc0.secret1', 'the new name, for the occupants left');

    conference.onPresence(left('carol', [301]));
    assert.equal(doc.renewals, 2, 'a ban renews it again');
    assert.equal(lastEtherpad(link), 'doc0.secret2');

    const sentAfterRemovals = link.sent.length;
    assert.equal(sentAfterRemovals - sentBefore, 2, 'one presence per removal');
    conference.onPresence(left('dave'));
    conference.onPresence(left('erin', [303]));
    assert.equal(doc.renewals, 2, 'leaving or changing nickname keeps the name');
    assert.ok(link.sent.slice(sentAfterRemovals).every((s) => s.name !== 'presence'), 'and republishes nothing');
  });

  it('does not renew the name when the removed participant was the last: the document is destroyed', () => {
    conference.onPresence(focusSelf());
    conference.onPresence(joined('alice'));
    conference.onPresence(left('alice', [307]));
    assert.equal(documents.created[0]!.renewals, 0);
    assert.equal(documents.created[0]!.destroyed, 1);
  });

  it('announces no name and renews none when the document opens with tokens only', () => {
    const tokenOnlyLink = new FakeLink();
    const tokenOnly = new FakeDocuments(false);
    const c = new Conference(tokenOnlyLink, pino({ level: 'silent' }), {
      roomJid: ROOM, focusVersion: '1.0-test', idleTimeoutMs: 3_600_000, documents: tokenOnly, onEnded: () => undefined,
    });
    try {
      c.onPresence(focusSelf());
      c.onPresence(joined('alice'));
      c.onPresence(joined('bob'));
      c.onPresence(left('bob', [307]));
      assert.equal(tokenOnly.created[0]!.renewals, 0);
      assert.equal(tokenOnlyLink.sent.filter((s) => s.name === 'presence').length, 1, 'the join presence only');
      assert.ok(tokenOnlyLink.sent.every((s) => !s.getChild('etherpad', NS_ETHERPAD)));
      assert.equal(c.grantDocument('alice@meet.jitsi/web').path, '/pad/doc0', 'tokens still open it');
    } finally {
      c.end('test over');
    }
  });

  it('destroys the document once when the last participant leaves', () => {
    conference.onPresence(focusSelf());
    conference.onPresence(joined('alice'));
    conference.onPresence(left('alice'));
    conference.end('again');
    assert.equal(documents.created[0]!.destroyed, 1);
    assertForbidden(() => conference.grantDocument('alice@meet.jitsi/web'));
  });

  it('has no etherpad element and grants nothing without a documents service', () => {
    const bareLink = new FakeLink();
    const bare = new Conference(bareLink, pino({ level: 'silent' }), {
      roomJid: 'plain@muc.meet.jitsi', focusVersion: '1.0-test', idleTimeoutMs: 3_600_000, onEnded: () => undefined,
    });
    try {
      assertForbidden(() => bare.grantDocument('alice@meet.jitsi/web'));
    } finally {
      bare.end('test over');
    }
    assert.equal(bareLink.sent.length, 1, 'the join presence');
    assert.ok(bareLink.sent.every((s) => !s.getChild('etherpad', NS_ETHERPAD)));
  });
});
