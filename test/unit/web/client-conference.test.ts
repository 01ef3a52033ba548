/** The browser client's presence reading and writing, and its state store. */
import assert from 'node:assert/strict';
import { parse } from 'ltx';
import { buildOwnPresence, parseOccupantPresence } from '../../../web/client/conference/occupant-presence.ts';
import { ConferenceStore } from '../../../web/client/conference/conference-store.ts';

describe('web client: occupant presence', () => {
  it('builds a join presence with the muc element, password, nick, SourceInfo and legacy mute flags', () => {
    const p = buildOwnPresence('r@muc.meet.jitsi/ab12', 'ab12', {
      displayName: 'Zoé', audioMuted: true, videoMuted: false, screenSharing: true, raisedHandAt: 42, statsId: 's',
    }, { password: 'pw' });
    assert.equal(p.getChild('x', 'http://jabber.org/protocol/muc')?.getChildText('password'), 'pw');
    assert.equal(p.getChildText('nick', 'http://jabber.org/protocol/nick'), 'Zoé');
    assert.deepEqual(JSON.parse(p.getChildText('SourceInfo') ?? ''), {
      'ab12-a0': { muted: true }, 'ab12-v0': { muted: false, videoType: 'camera' }, 'ab12-v1': { muted: false, videoType: 'desktop' },
    });
    assert.equal(p.getChildText('audiomuted'), 'true');
    assert.equal(p.getChildText('jitsi_participant_raisedHand'), '42');
    assert.equal(buildOwnPresence('r@m/ab12', 'ab12', { displayName: 'x', audioMuted: false, videoMuted: false, screenSharing: false, raisedHandAt: undefined, statsId: 's' }, undefined).getChild('x'), undefined);
  });

  it('reads a lib-jitsi-meet presence: role, real JID, mute from SourceInfo, screen from the legacy videoType', () => {
    const o = parseOccupantPresence(parse(`<presence from="r@muc.meet.jitsi/ef56" xmlns="jabber:client">
      <nick xmlns="http://jabber.org/protocol/nick">Bob</nick>
      <SourceInfo>{"ef56-a0":{"muted":false},"ef56-v0":{"muted":true}}</SourceInfo>
      <videoType>desktop</videoType><jitsi_participant_raisedHand>1700</jitsi_participant_raisedHand>
      <x xmlns="http://jabber.org/protocol/muc#user"><item jid="u@meet.jitsi/r" affiliation="owner" role="moderator"/><status code="110"/></x>
    </presence>`));
    assert.deepEqual([o.nick, o.displayName, o.role, o.jid, o.audioMuted, o.videoMuted, o.screenSharing, o.raisedHandAt, o.statusCodes],
      ['ef56', 'Bob', 'moderator', 'u@meet.jitsi/r', false, true, true, 1700, [110]]);
  });

  it("reads the server's <identity> as a verified agent, and nothing else as one", () => {
    const agent = parseOccupantPresence(parse(`<presence from="r@m/a"><identity><user><id>agent-42</id><name>Alice</name></user></identity></presence>`));
    assert.equal(agent.verified, true);
    for (const xml of ['<presence from="r@m/g"/>', '<presence from="r@m/g"><identity/></presence>', '<presence from="r@m/g"><identity><user><name>Alice</name></user></identity></presence>']) {
      assert.equal(parseOccupantPresence(parse(xml)).verified, false, xml);
    }
  });

  it('ignores SourceInfo entries that are not objects (a hostile presence cannot break the reader)', () => {
    for (const json of ['{"x-a0":null,"x-v0":7}', '[1,2]', 'null', '"text"', '{"__proto__":{"muted":true}}']) {
      const o = parseOccupantPresence(parse(`<presence from="r@m/x"><SourceInfo>${json}</SourceInfo><videomuted>true</videomuted></presence>`));
      assert.equal(o.videoMuted, true, json);
      assert.equal(o.screenSharing, false, json);
    }
  });

  it('falls back to legacy mute flags, survives bad SourceInfo JSON and unknown roles', () => {
    const o = parseOccupantPresence(parse(`<presence from="r@m/x"><SourceInfo>{not json</SourceInfo><audiomuted>true</audiomuted>
      <x xmlns="http://jabber.org/protocol/muc#user"><item role="emperor"/></x></presence>`));
    assert.equal(o.audioMuted, true);
    assert.equal(o.videoMuted, false);
    assert.equal(o.role, 'participant');
    assert.equal(o.raisedHandAt, undefined);
  });
});

describe('web client: conference store', () => {
  it('makes a new snapshot per change and tells subscribers; no-op updates tell nobody', () => {
    const store = new ConferenceStore('Room');
    let calls = 0;
    const off = store.subscribe(() => calls++);
    const first = store.state;
    store.upsertParticipant({ id: 'a', displayName: 'A', role: 'participant', local: false, audioMuted: false, videoMuted: false, raisedHandAt: undefined, screenSharing: false });
    assert.notEqual(store.state, first);
    assert.equal(store.state.participants.get('a')?.connectionQuality, 'unknown');
    assert.equal(calls, 1);
    store.updateParticipant('a', { audioMuted: false });
    assert.equal(calls, 1);
    store.updateParticipant('a', { audioMuted: true });
    assert.equal(calls, 2);
    store.setDominantSpeaker('a');
    store.removeParticipant('a');
    assert.equal(store.state.dominantSpeakerId, undefined);
    off();
    store.notice({ kind: 'reconnected' });
    assert.equal(calls, 4);
    assert.equal(store.state.notices.length, 1);
  });

  it('keeps chat messages as given, with ids, and bounds how many it keeps', () => {
    const store = new ConferenceStore('Room');
    for (let i = 0; i < 1005; i++) store.addMessage({ from: 'a', fromName: 'A', privateWith: undefined, text: `<b>${i}</b>`, timestamp: i, local: false });
    assert.equal(store.state.messages.length, 1000);
    assert.equal(store.state.messages.at(-1)?.text, '<b>1004</b>');
    assert.equal(new Set(store.state.messages.map((m) => m.id)).size, 1000);
  });
});
