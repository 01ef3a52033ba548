import assert from 'node:assert/strict';
import { Element, parse } from 'ltx';
import { pino } from 'pino';
import { StanzaError } from '../../../xmpp/errors.ts';
import { Conference, type ConferenceLink } from '../../../focus/conference.ts';

const ROOM = 'myroom@muc.meet.jitsi';
const NS_MUC = 'http://jabber.org/protocol/muc';
const NS_MUC_USER = 'http://jabber.org/protocol/muc#user';
const NS_MUC_ADMIN = 'http://jabber.org/protocol/muc#admin';

/** The focus's session as the conference sees it: records every stanza sent. */
class FakeLink implements ConferenceLink {
  readonly sent: Element[] = [];
  send(stanza: Element): void {
    this.sent.push(stanza);
  }
  take(): Element[] {
    return this.sent.splice(0);
  }
}

/** Presence from an occupant of the room, as the MUC relays it to the focus. */
function occupantPresence(nick: string, opts: { jid?: string; affiliation?: string; role?: string; type?: string; statuses?: number[]; newNick?: string } = {}): Element {
  const presence = new Element('presence', { from: `${ROOM}/${nick}`, to: 'focus@auth.meet.jitsi/focus', type: opts.type });
  const x = presence.c('x', { xmlns: NS_MUC_USER });
  x.c('item', { affiliation: opts.affiliation ?? 'none', role: opts.role ?? 'participant', jid: opts.jid, nick: opts.newNick });
  for (const code of opts.statuses ?? []) x.c('status', { code: String(code) });
  return presence;
}

const focusSelf = () => occupantPresence('focus', { jid: 'focus@auth.meet.jitsi/focus', affiliation: 'owner', role: 'moderator', statuses: [110, 201] });
const joined = (nick: string, affiliation = 'none') => occupantPresence(nick, { jid: `${nick}@meet.jitsi/web`, affiliation });
const left = (nick: string) => occupantPresence(nick, { type: 'unavailable', jid: `${nick}@meet.jitsi/web`, role: 'none' });

/** The muc#admin owner grants among the stanzas, as the bare JIDs granted. */
function ownerGrants(stanzas: Element[]): string[] {
  return stanzas
    .filter((s) => s.name === 'iq')
    .map((iq) => {
      assert.equal(iq.attrs.type, 'set');
      assert.equal(iq.attrs.to, ROOM);
      const item = iq.getChild('query', NS_MUC_ADMIN)?.getChild('item');
      assert.equal(item?.attrs.affiliation, 'owner');
      return String(item?.attrs.jid);
    });
}

describe('focus/conference', () => {
  let link: FakeLink;
  let ended: string[];
  let conference: Conference;

  function create(): Conference {
    return new Conference(link, pino({ level: 'silent' }), {
      roomJid: ROOM,
      focusVersion: '1.0-test',
      idleTimeoutMs: 3_600_000,
      onEnded: (c, reason) => {
        assert.equal(c, conference);
        ended.push(reason);
      },
    });
  }

  beforeEach(() => {
    link = new FakeLink();
    ended = [];
    conference = create();
  });

  afterEach(() => {
    conference.end('test over'); // clears the idle timer
  });

  describe('joining the room', () => {
    it('sends the focus join presence to room/focus with the muc element, versions and conference properties', () => {
      assert.equal(link.sent.length, 1);
      const presence = link.sent[0]!;
      assert.equal(presence.name, 'presence');
      assert.equal(presence.attrs.to, `${ROOM}/focus`);
      assert.equal(presence.attrs.type, undefined);
      assert.equal(presence.getChild('x', NS_MUC)?.getChild('history')?.attrs.maxstanzas, '0', 'no history for the focus');
      const component = presence.getChild('versions', 'http://jitsi.org/jitmeet')?.getChild('component');
      assert.equal(component?.attrs.type, 'focus');
      assert.equal(component?.getText(), '1.0-test');
      const properties = presence.getChild('conference-properties', 'http://jitsi.org/protocol/focus')?.getChildren('property') ?? [];
      const byKey = Object.fromEntries(properties.map((p) => [p.attrs.key, p.attrs.value]));
      assert.equal(byKey['support-terminate-restart'], 'true');
      assert.equal(byKey['created-ms'], String(conference.createdAt));
    });

    it('whenReady resolves once the room sends the self-presence (status 110)', async () => {
      let ready = false;
      const waiting = conference.whenReady().then(() => { ready = true; });
      await Promise.resolve();
      assert.equal(ready, false, 'not before the self-presence');
      conference.onPresence(focusSelf());
      await waiting;
      assert.equal(ready, true);
    });

    it('whenReady resolves at once when already in the room', async () => {
      conference.onPresence(focusSelf());
      await conference.whenReady();
    });

    it('resolves every waiter', async () => {
      const all = Promise.all([conference.whenReady(), conference.whenReady(), conference.whenReady()]);
      conference.onPresence(focusSelf());
      await all;
    });

    it('rejects the waiters and ends when the room refuses the join with a presence error', async () => {
      const waiting = conference.whenReady();
      const error = parse(`<presence from="${ROOM}/focus" type="error"><error type="cancel"><not-allowed xmlns="urn:ietf:params:xml:ns:xmpp-stanzas"/></error></presence>`);
      conference.onPresence(error);
      await assert.rejects(waiting, (err: unknown) => {
        assert.ok(err instanceof StanzaError);
        assert.equal(err.condition, 'service-unavailable');
        assert.match(err.message, /not-allowed/);
        return true;
      });
      assert.deepEqual(ended, ['join refused: not-allowed']);
      assert.equal(link.sent.length, 1, 'no unavailable presence for a room never entered');
    });

    it('rejects whenReady after the conference ended', async () => {
      conference.end('stopped');
      await assert.rejects(conference.whenReady(), StanzaError);
    });
  });

  describe('auto-owner (jitsi-protocol.md §3.4)', () => {
    beforeEach(() => {
      conference.onPresence(focusSelf());
      link.take();
    });

    it('grants owner to the first participant with a real JID, by bare JID', () => {
      conference.onPresence(joined('alice'));
      assert.deepEqual(ownerGrants(link.take()), ['alice@meet.jitsi']);
      assert.equal(conference.participantCount, 1);
    });

    it('grants nothing more while the owner stays', () => {
      conference.onPresence(joined('alice'));
      link.take();
      conference.onPresence(joined('bob'));
      conference.onPresence(joined('bob')); // a presence update
      assert.deepEqual(link.take(), []);
      assert.equal(conference.participantCount, 2);
    });

    it('grants nothing when a participant is already owner', () => {
      conference.onPresence(joined('alice', 'owner'));
      assert.deepEqual(link.take(), []);
    });

    it('passes ownership to the next oldest participant when the owner leaves', () => {
      conference.onPresence(joined('alice'));
      conference.onPresence(joined('bob'));
      conference.onPresence(joined('carol'));
      link.take();
      conference.onPresence(left('alice'));
      assert.deepEqual(ownerGrants(link.take()), ['bob@meet.jitsi']);
      conference.onPresence(left('carol'));
      assert.deepEqual(link.take(), [], 'a non-owner leaving changes nothing');
    });

    it('makes no Jitsi service owner (a SIP gateway, a recorder, a transcriber), nor counts one as the owner', () => {
      const service = (nick: string, feature: string, affiliation = 'none') => {
        const presence = joined(nick, affiliation);
        presence.c('features').c('feature', { var: feature });
        return presence;
      };
      conference.onPresence(service('sip', 'http://jitsi.org/protocol/jigasi')); // an inbound call opened the room
      assert.deepEqual(link.take(), []);
      conference.onPresence(joined('alice'));
      assert.deepEqual(ownerGrants(link.take()), ['alice@meet.jitsi'], 'the first person');
      conference.onPresence(service('recorder', 'http://jitsi.org/protocol/jibri'));
      conference.onPresence(service('captions', 'http://jitsi.org/protocol/transcriber', 'owner')); // made owner by someone
      conference.onPresence(joined('bob'));
      link.take();
      conference.onPresence(left('alice'));
      assert.deepEqual(ownerGrants(link.take()), ['bob@meet.jitsi'], 'the next person, past the services older than him and the one that is owner');
    });

    it('gives each grant its own IQ id', () => {
      conference.onPresence(joined('alice'));
      conference.onPresence(joined('bob'));
      conference.onPresence(left('alice'));
      const ids = link.take().filter((s) => s.name === 'iq').map((iq) => iq.attrs.id);
      assert.equal(ids.length, 2);
      assert.notEqual(ids[0], ids[1]);
    });

    it('ignores occupants without a real JID', () => {
      conference.onPresence(occupantPresence('anon'));
      assert.deepEqual(link.take(), []);
      assert.equal(conference.participantCount, 0);
    });

    it('ignores unavailable presence of an occupant it does not know', () => {
      conference.onPresence(joined('alice'));
      link.take();
      conference.onPresence(left('stranger'));
      assert.deepEqual(link.take(), []);
      assert.deepEqual(ended, []);
    });

    it('keeps the conference when its only participant changes nickname (XEP-0045 §7.6)', () => {
      conference.onPresence(joined('alice'));
      link.take();
      conference.onPresence(occupantPresence('alice', { type: 'unavailable', jid: 'alice@meet.jitsi/web', affiliation: 'owner', statuses: [303], newNick: 'alice2' }));
      conference.onPresence(joined('alice2', 'owner'));
      assert.deepEqual(ended, []);
      assert.equal(conference.participantCount, 1);
      assert.deepEqual(link.take(), []);
    });
  });

  describe('the end', () => {
    beforeEach(() => {
      conference.onPresence(focusSelf());
      link.take();
    });

    it('ends when the last participant leaves: the focus leaves the room and onEnded is called', () => {
      conference.onPresence(joined('alice'));
      conference.onPresence(joined('bob'));
      conference.onPresence(left('alice'));
      link.take();
      assert.deepEqual(ended, []);
      conference.onPresence(left('bob'));
      const sent = link.take();
      assert.equal(sent.length, 1);
      assert.equal(sent[0]!.name, 'presence');
      assert.equal(sent[0]!.attrs.to, `${ROOM}/focus`);
      assert.equal(sent[0]!.attrs.type, 'unavailable');
      assert.deepEqual(ended, ['last participant left']);
      assert.equal(conference.participantCount, 0);
    });

    it('ends when the room removes the focus (unavailable self-presence)', () => {
      conference.onPresence(occupantPresence('focus', { type: 'unavailable', jid: 'focus@auth.meet.jitsi/focus', statuses: [110, 307] }));
      assert.deepEqual(ended, ['focus left the room']);
    });

    it('is idempotent: onEnded once, one unavailable presence', () => {
      conference.end('first');
      conference.end('second');
      assert.deepEqual(ended, ['first']);
      assert.equal(link.take().filter((s) => s.attrs.type === 'unavailable').length, 1);
    });

    it('ignores presence after the end', () => {
      conference.end('over');
      link.take();
      conference.onPresence(joined('late'));
      assert.deepEqual(link.take(), []);
      assert.equal(conference.participantCount, 0);
    });
  });

  it('with authentication, counts the agent whose request made the conference as present until an agent joins, for a grace', async () => {
    const isAgent = (realJid: string) => realJid.startsWith('agent');
    const made = (creatorGraceMs: number, agentlessTimeoutMs = 3_600_000) => new Conference(link, pino({ level: 'silent' }), {
      roomJid: ROOM, focusVersion: '1.0-test', idleTimeoutMs: 3_600_000, onEnded: (_c, reason) => ended.push(reason), isAgent, creatorGraceMs, agentlessTimeoutMs,
    });
    conference.end('replaced');
    // The creator's presence has not come yet: a guest asking now is let in, not told to wait for the host.
    conference = made(40);
    conference.onPresence(focusSelf());
    assert.equal(conference.hasAgent(), true, 'the creator, about to join');
    conference.onPresence(joined('guest1'));
    assert.equal(conference.hasAgent(), true, 'still within the grace');
    await new Promise((resolve) => setTimeout(resolve, 60));
    assert.equal(conference.hasAgent(), false, 'the creator never came: new guests wait for a host');
    conference.onPresence(joined('agent1'));
    assert.equal(conference.hasAgent(), true);
    conference.end('done');
    // Once an agent was there, only agents present count, grace or not.
    conference = made(60_000);
    conference.onPresence(focusSelf());
    conference.onPresence(joined('agent1'));
    conference.onPresence(left('agent1'));
    assert.equal(conference.hasAgent(), false);
    conference.end('done');
    // Guests let in before a creator who never comes do not keep the conference: it ends as one its agents left.
    ended.length = 0;
    conference = made(60_000, 40);
    conference.onPresence(focusSelf());
    conference.onPresence(joined('guest1'));
    await new Promise((resolve) => setTimeout(resolve, 80));
    assert.deepEqual(ended, ['no agent left']);
  });

  it('with authentication, ends a conference its agents all left once the grace is over, destroying its room; an agent back in time keeps it', async () => {
    const isAgent = (realJid: string) => realJid.startsWith('agent');
    const agentless = (timeoutMs: number) => new Conference(link, pino({ level: 'silent' }), {
      roomJid: ROOM, focusVersion: '1.0-test', idleTimeoutMs: 3_600_000, onEnded: (_c, reason) => ended.push(reason),
      isAgent, agentlessTimeoutMs: timeoutMs,
    });
    const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
    conference.end('replaced');
    ended.length = 0;
    conference = agentless(40);
    conference.onPresence(focusSelf());
    conference.onPresence(joined('agent1'));
    conference.onPresence(joined('guest1'));
    assert.equal(conference.hasAgent(), true);
    // The agent leaves and comes back within the grace: nothing ends.
    conference.onPresence(left('agent1'));
    assert.equal(conference.hasAgent(), false, 'the policy now lets no new guest in');
    await sleep(10);
    conference.onPresence(joined('agent1'));
    await sleep(60);
    assert.deepEqual(ended, []);
    link.take();
    // It leaves for good: the room is destroyed, the conference (and its document) ended.
    conference.onPresence(left('agent1'));
    await sleep(80);
    assert.deepEqual(ended, ['no agent left']);
    const destroy = link.sent.find((stanza) => stanza.name === 'iq' && stanza.getChild('query', 'http://jabber.org/protocol/muc#owner')?.getChild('destroy'));
    assert.ok(destroy, 'the room is destroyed, the guests told');
    assert.equal(destroy.attrs.to, ROOM);
  });
});
