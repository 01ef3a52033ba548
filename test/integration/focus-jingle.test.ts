/**
 * The focus's media path against the real server: two @xmpp/client participants ask for the
 * conference, join the room, get a session-initiate carrying the bridge's transport, answer it
 * with lib-jitsi-meet's recorded session-accept, and each learns the other's sources.
 * The focus and the bridge are the ones `npm start` runs (config/start.ts).
 */
import assert from 'node:assert/strict';
import { ClientFeature } from '../../focus/offer.ts';
import type { Jingle } from '../../xmpp/protocol/jingle.ts';
import { sessionAcceptFor } from '../unit/focus/session-accept-fixture.ts';
import { joinConference, type ConferenceParticipant } from './conference-participant.ts';
import { startTestServer, stopClient, xml, type TestServer, type XmppClient } from './harness.ts';

const ROOM = 'jingletest@muc.meet.jitsi';
/** What the participants answer the focus's disco#info with. */
const FEATURES = [ClientFeature.audio, ClientFeature.video, ClientFeature.sctp, ClientFeature.jsonSources, ClientFeature.tcc, ClientFeature.rtx];

async function waitForJingle(p: ConferenceParticipant, action: string, what: string): Promise<Jingle> {
  const deadline = Date.now() + 8000;
  for (;;) {
    const found = p.jingle.find((j) => j.action === action);
    if (found) return found;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; got ${p.jingle.map((j) => j.action).join(', ')}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('focus Jingle with the real server and bridge', function () {
  this.timeout(30_000);
  let server: TestServer;
  const clients: XmppClient[] = [];

  before(async () => {
    server = await startTestServer();
  });
  after(async () => {
    for (const c of clients) await stopClient(c);
    await server.close();
  });

  it('offers each participant the bridge transport and passes one\'s accepted sources to the other', async () => {
    const deadline = Date.now() + 5000;
    while (server.salon.focus.bridges.count === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.ok(server.salon.focus.bridges.count > 0, 'the focus sees the bridge in the brewery');

    const alice = await joinConference(server, ROOM, 'alice', { features: FEATURES, statsId: 'stats-alice' });
    clients.push(alice.client);
    const bob = await joinConference(server, ROOM, 'bob', { features: FEATURES, statsId: 'stats-bob' });
    clients.push(bob.client);

    const offers = await Promise.all([alice, bob].map((p, i) => waitForJingle(p, 'session-initiate', `session-initiate ${i}`)));
    for (const offer of offers) {
      assert.equal(offer.initiator, 'focus@auth.meet.jitsi/focus');
      const transport = offer.contents[0]!.transport!;
      assert.ok(transport.ufrag && transport.ufrag.length > 0, 'bridge ufrag');
      assert.ok(transport.fingerprints.length > 0, 'bridge fingerprint');
      assert.equal(offer.groups[0]?.semantics, 'BUNDLE');
      assert.deepEqual(offer.groups[0]?.contents, offer.contents.map((c) => c.name));
    }
    const [aliceOffer, bobOffer] = offers;
    // the bridge conference is named after the room's meeting id (muc#roominfo_meetingId), as with Jicofo
    const roomInfo = await alice.client.iqCaller.request(xml('iq', { type: 'get', to: ROOM }, xml('query', { xmlns: 'http://jabber.org/protocol/disco#info' })));
    const meetingId = roomInfo.getChild('query')?.getChild('x', 'jabber:x:data')?.getChildren('field').find((f) => f.attrs.var === 'muc#roominfo_meetingId')?.getChildText('value');
    assert.ok(meetingId, 'the room has a meeting id');
    const channelUrl = new URL(aliceOffer!.contents[0]!.transport!.webSockets[0]!.url);
    assert.equal(decodeURIComponent(channelUrl.pathname.split('/')[3]!), meetingId);
    assert.notEqual(aliceOffer!.contents[0]!.transport!.ufrag, bobOffer!.contents[0]!.transport!.ufrag, 'one bridge endpoint each');

    await alice.client.iqCaller.request(xml('iq', { type: 'set', to: `${ROOM}/focus` }, sessionAcceptFor('alice', aliceOffer!.sid, 0)));
    await bob.client.iqCaller.request(xml('iq', { type: 'set', to: `${ROOM}/focus` }, sessionAcceptFor('bob', bobOffer!.sid, 7)));

    const toBob = await waitForJingle(bob, 'source-add', 'source-add to bob');
    assert.equal(toBob.sid, bobOffer!.sid);
    assert.equal(toBob.sources?.[0]?.owner, 'alice');
    assert.ok(toBob.sources[0].video.some((s) => s.name === 'alice-v0'));
    assert.ok(toBob.sources[0].audio.some((s) => s.name === 'alice-a0'));
    const toAlice = await waitForJingle(alice, 'source-add', 'source-add to alice');
    assert.equal(toAlice.sources?.[0]?.owner, 'bob');

    const conference = server.salon.focus.conferences.get(ROOM);
    assert.ok(conference);
    assert.equal(conference.participantCount, 2);
  });
});
