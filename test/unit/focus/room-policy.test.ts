import assert from 'node:assert/strict';
import { Element } from 'ltx';
import { pino } from 'pino';
import { Conference } from '../../../focus/conference.ts';
import { createOwnerRule, createRoomPolicy, WAIT_FOR_HOST_TEXT, type RoomPolicyOptions } from '../../../focus/room-policy.ts';
import { StanzaError } from '../../../xmpp/errors.ts';

const ROOM = 'myroom@muc.meet.jitsi';
const AGENT = 'alice@meet.jitsi/web';
const GUEST = 'x7f3@guest.meet.jitsi/web';

/** Agents are sessions of meet.jitsi, as config/start.ts decides. */
const identify = (jid: string) => ({ agent: jid.split('/')[0]!.endsWith('@meet.jitsi') });

function options(authEnabled: boolean, guestsAllowed: boolean): RoomPolicyOptions {
  return { authEnabled, guestsAllowed, identify };
}

/** What the policy throws for this request, or 'allowed'. */
function decide(opts: RoomPolicyOptions, requester: string, exists: boolean): string {
  try {
    createRoomPolicy(opts)({ room: ROOM, requester, exists });
    return 'allowed';
  } catch (err) {
    assert.ok(err instanceof StanzaError, `a StanzaError, got ${String(err)}`);
    return `${err.type}/${err.condition}`;
  }
}

describe('focus/room-policy', () => {
  describe('who may start or join a conference', () => {
    const cases: Array<[string, RoomPolicyOptions, string, boolean, string]> = [
      ['auth off: a guest domain session starts a room', options(false, true), GUEST, false, 'allowed'],
      ['auth off: anyone joins a running room', options(false, false), GUEST, true, 'allowed'],
      ['auth on: an agent starts a room', options(true, true), AGENT, false, 'allowed'],
      ['auth on: an agent joins a running room', options(true, true), AGENT, true, 'allowed'],
      ['auth on: a guest waits for the host when the room does not exist', options(true, true), GUEST, false, 'auth/not-authorized'],
      ['auth on: a guest joins a room an agent started', options(true, true), GUEST, true, 'allowed'],
      ['auth on, no guests: a non-agent is refused even in a running room', options(true, false), GUEST, true, 'cancel/not-allowed'],
      ['auth on, no guests: a non-agent is refused before any agent', options(true, false), GUEST, false, 'cancel/not-allowed'],
      ['auth on, no guests: an agent starts a room', options(true, false), AGENT, false, 'allowed'],
    ];
    for (const [title, opts, requester, exists, expected] of cases) {
      it(`${title} (${expected})`, () => assert.equal(decide(opts, requester, exists), expected));
    }

    it("answers the guest with Jicofo's exact error: not-authorized, 'not authorized user domain', no application child", () => {
      assert.throws(() => createRoomPolicy(options(true, true))({ room: ROOM, requester: GUEST, exists: false }), (err: unknown) => {
        assert.ok(err instanceof StanzaError);
        const el = err.toElement();
        assert.equal(el.attrs.type, 'auth');
        assert.deepEqual(el.children.map((c) => (c as Element).name), ['not-authorized', 'text']);
        assert.equal(el.getChildText('text', 'urn:ietf:params:xml:ns:xmpp-stanzas'), WAIT_FOR_HOST_TEXT);
        return true;
      });
    });

    it('lets no new guest into a conference whose agents all left: it waits for the host, as before the first came', () => {
      const policy = createRoomPolicy(options(true, true));
      assert.doesNotThrow(() => policy({ room: ROOM, requester: GUEST, exists: true, agentPresent: true }));
      assert.throws(() => policy({ room: ROOM, requester: GUEST, exists: true, agentPresent: false }), (err: unknown) => err instanceof StanzaError && err.condition === 'not-authorized');
      assert.doesNotThrow(() => policy({ room: ROOM, requester: AGENT, exists: true, agentPresent: false }), 'an agent comes back in');
    });

    it('tells refused guests why in the text', () => {
      assert.throws(() => createRoomPolicy(options(true, false))({ room: ROOM, requester: GUEST, exists: true }), /guests are not allowed/);
    });

    it('refuses an identity refused for this room (a token for another room) with not-allowed and the reason, even if the room exists', () => {
      const policy = createRoomPolicy({ authEnabled: true, guestsAllowed: true, identify: (_jid, room) => (room === ROOM ? { agent: false, refusal: 'token for another room' } : { agent: true }) });
      assert.throws(() => policy({ room: ROOM, requester: AGENT, exists: true }), (err: unknown) => {
        assert.ok(err instanceof StanzaError);
        assert.equal(err.condition, 'not-allowed');
        assert.equal(err.text, 'token for another room');
        return true;
      });
    });
  });

  describe('owner rule', () => {
    it('is absent with authentication off (the oldest participant rule applies)', () => {
      assert.equal(createOwnerRule(options(false, true)), undefined);
    });

    it('names agents, never guests, with authentication on', () => {
      const rule = createOwnerRule(options(true, true));
      assert.ok(rule);
      assert.equal(rule(AGENT, ROOM), true);
      assert.equal(rule(GUEST, ROOM), false);
    });

    it('follows an agent\'s moderator flag when it has one (a token saying moderator: false)', () => {
      const rule = createOwnerRule({ authEnabled: true, guestsAllowed: true, identify: (jid) => ({ agent: true, moderator: !jid.startsWith('member') }) });
      assert.ok(rule);
      assert.equal(rule('member@meet.jitsi/x', ROOM), false);
      assert.equal(rule('host@meet.jitsi/x', ROOM), true);
    });

    it('makes nobody owner of a room its identity is refused for (a token for another room)', () => {
      const rule = createOwnerRule({
        authEnabled: true, guestsAllowed: true,
        identify: (_jid, room) => (room === 'other@muc.meet.jitsi' ? { agent: false, refusal: 'token for another room' } : { agent: true, moderator: true }),
      });
      assert.ok(rule);
      assert.equal(rule('host@meet.jitsi/x', 'other@muc.meet.jitsi'), false);
      assert.equal(rule('host@meet.jitsi/x', ROOM), true);
    });
  });

  describe('a conference with the owner rule', () => {
    const NS_MUC_USER = 'http://jabber.org/protocol/muc#user';
    const NS_MUC_ADMIN = 'http://jabber.org/protocol/muc#admin';
    let sent: Element[];
    let conference: Conference;

    const presence = (nick: string, jid: string, type?: string): Element => {
      const p = new Element('presence', { from: `${ROOM}/${nick}`, type });
      p.c('x', { xmlns: NS_MUC_USER }).c('item', { affiliation: 'none', role: type ? 'none' : 'participant', jid });
      return p;
    };
    const grants = (): string[] => sent.splice(0).filter((s) => s.name === 'iq')
      .map((iq) => String(iq.getChild('query', NS_MUC_ADMIN)?.getChild('item')?.attrs.jid));

    beforeEach(() => {
      sent = [];
      const rule = createOwnerRule(options(true, true));
      assert.ok(rule);
      conference = new Conference({ send: (s) => sent.push(s) }, pino({ level: 'silent' }), {
        roomJid: ROOM, focusVersion: 'test', idleTimeoutMs: 3_600_000, isModerator: rule, onEnded: () => undefined,
      });
      const self = new Element('presence', { from: `${ROOM}/focus` });
      self.c('x', { xmlns: NS_MUC_USER }).c('status', { code: '110' });
      conference.onPresence(self);
      sent.length = 0;
    });
    afterEach(() => conference.end('test over'));

    it('grants owner to every agent, by bare JID, and to no guest', () => {
      conference.onPresence(presence('g1', GUEST));
      conference.onPresence(presence('a1', AGENT));
      conference.onPresence(presence('a2', 'bob@meet.jitsi/phone'));
      assert.deepEqual(grants(), ['alice@meet.jitsi', 'bob@meet.jitsi']);
    });

    it('does not make a guest owner when the last agent leaves', () => {
      conference.onPresence(presence('a1', AGENT));
      conference.onPresence(presence('g1', GUEST));
      grants();
      conference.onPresence(presence('a1', AGENT, 'unavailable'));
      assert.equal(conference.participantCount, 1);
      assert.deepEqual(grants(), []);
    });
  });
});
