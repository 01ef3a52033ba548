/**
 * Two `salon bridge`s beside a `salon start --no-bridge`: when the bridge of a conference dies,
 * the focus sees it leave the brewery and moves every participant to the other bridge as Jicofo
 * does (JitsiMeetConferenceImpl.reInviteParticipants, RestartJingle): session-terminate with
 * `<success/>` "moving", then a new session-initiate whose transport is the other bridge's; the
 * focus's Colibri2 requests go to that bridge from then on. A bridge that stays in the brewery
 * but stops answering is found out by a Colibri2 request timing out (Jicofo marks it
 * non-operational) and left the same way; with no request under way, by the focus's periodic
 * health checks (Jicofo's JvbDoctor).
 */
import assert from 'node:assert/strict';
import { connect, createServer, type Socket } from 'node:net';
import { listen } from '../../xmpp/index.ts';
import type { Jingle } from '../../xmpp/protocol/jingle.ts';
import { MOVING_TEXT } from '../../focus/conference-media.ts';
import { sessionAcceptFor } from '../unit/focus/session-accept-fixture.ts';
import { joinConference, type ConferenceParticipant } from './conference-participant.ts';
import { startTestBridge, startTestServer, stopClient, xml, type TestBridge, type TestServer } from './harness.ts';
import { until as waitUntil } from './channel-client.ts';

const ROOM = 'failover@muc.meet.jitsi';
const until = (check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> => waitUntil(check, what, timeoutMs);

const offers = (p: ConferenceParticipant): Jingle[] => p.jingle.filter((j) => j.action === 'session-initiate');
/** The bridge id in the offer's colibri-ws URL (`/colibri-ws/<bridge id>/…`). */
const bridgeOf = (offer: Jingle): string => new URL(offer.contents[0]!.transport!.webSockets[0]!.url).pathname.split('/')[2]!;

describe('a conference moved off a dead bridge (two salon bridges)', function () {
  this.timeout(60_000);
  let server: TestServer;
  const bridges = new Map<string, TestBridge>();
  const participants: ConferenceParticipant[] = [];

  before(async () => {
    server = await startTestServer({}, ['--no-bridge']);
    for (const id of ['jvb-a', 'jvb-b']) bridges.set(id, await startTestBridge(server, { flags: ['--bridge-id', id] }));
    await until(() => server.salon.focus.bridges.count === 2 && server.salon.focus.bridges.select() !== undefined, 'the focus sees both bridges');
  });
  after(async () => {
    for (const p of participants) await stopClient(p.client);
    for (const b of bridges.values()) await b.close();
    await server.close();
  });

  it('terminates each session and invites it again on the other bridge, where the conference goes on', async () => {
    for (const nick of ['alice', 'bob']) participants.push(await joinConference(server, ROOM, nick));
    const [alice, bob] = participants as [ConferenceParticipant, ConferenceParticipant];
    await until(() => offers(alice).length === 1 && offers(bob).length === 1, 'session-initiate to both');
    const firstId = bridgeOf(offers(alice)[0]!);
    assert.equal(bridgeOf(offers(bob)[0]!), firstId, 'one bridge for the conference');
    const first = bridges.get(firstId)!;
    const firstPort = first.host.ports.media;
    const [secondId, second] = [...bridges].find(([id]) => id !== firstId)!;
    assert.equal(first.host.bridge.colibri.endpointCount, 2);
    assert.equal(second.host.bridge.colibri.endpointCount, 0);

    // alice accepts her session on the first bridge; bob has not answered yet
    const accept = (p: ConferenceParticipant, nick: string, offset: number) => p.client.iqCaller.request(
      xml('iq', { type: 'set', to: `${ROOM}/focus` }, sessionAcceptFor(nick, offers(p).at(-1)!.sid, offset) as never));
    await accept(alice, 'alice', 0);

    // the first bridge dies
    await first.close();
    bridges.delete(firstId);
    await until(() => offers(alice).length === 2 && offers(bob).length === 2, 'a new session-initiate to both');

    for (const [nick, p] of [['alice', alice], ['bob', bob]] as const) {
      const [old, moved] = offers(p) as [Jingle, Jingle];
      const terminates = p.jingle.filter((j) => j.action === 'session-terminate');
      assert.equal(terminates.length, 1, `${nick} gets one session-terminate`);
      assert.equal(terminates[0]!.sid, old.sid, 'for the session on the dead bridge');
      assert.deepEqual([terminates[0]!.reason?.condition, terminates[0]!.reason?.text], ['success', MOVING_TEXT]);
      assert.ok(p.jingle.indexOf(terminates[0]!) < p.jingle.indexOf(moved), 'session-terminate comes first');
      assert.notEqual(moved.sid, old.sid);
      assert.equal(bridgeOf(moved), secondId, `${nick}'s new transport is the other bridge's`);
      const candidatePorts = moved.contents[0]!.transport!.candidates.map((c) => c.port);
      assert.ok(candidatePorts.length > 0 && candidatePorts.every((port) => port === second.host.ports.media), 'its candidates are the other bridge\'s media port');
    }
    assert.notEqual(second.host.ports.media, firstPort);
    assert.equal(second.host.bridge.colibri.conferenceCount, 1);
    assert.equal(second.host.bridge.colibri.endpointCount, 2, 'both endpoints on the other bridge');

    // the new sessions are live: the focus takes alice's session-accept and passes it on to the new bridge
    await accept(alice, 'alice', 0);
    await accept(bob, 'bob', 1);
    const sourceAdd = (): Jingle | undefined => bob.jingle.find((j) => j.action === 'source-add' && j.sid === offers(bob)[1]!.sid);
    await until(() => sourceAdd() !== undefined, 'bob told of alice\'s sources on his new session');
    assert.equal(sourceAdd()!.sources?.[0]?.owner, 'alice');

    // and a newcomer is put on the bridge left
    const carol = await joinConference(server, ROOM, 'carol');
    participants.push(carol);
    await until(() => offers(carol).length === 1, 'session-initiate to carol');
    assert.equal(bridgeOf(offers(carol)[0]!), secondId);
    assert.equal(second.host.bridge.colibri.endpointCount, 3);
  });
});

/** A TCP relay to the server's c2s port that the test can freeze: bytes stop flowing, nothing closes. */
async function startFreezableRelay(targetPort: number): Promise<{ port: number; freeze(): void; close(): Promise<void> }> {
  const pairs: Array<[Socket, Socket]> = [];
  const server = createServer((inbound) => {
    const outbound = connect(targetPort, '127.0.0.1');
    for (const s of [inbound, outbound]) s.on('error', () => undefined); // torn down with the relay
    inbound.pipe(outbound);
    outbound.pipe(inbound);
    pairs.push([inbound, outbound]);
  });
  const port = await listen(server, 0, '127.0.0.1');
  return {
    port,
    freeze() {
      for (const [a, b] of pairs) {
        a.unpipe(b);
        b.unpipe(a);
        a.pause();
        b.pause();
      }
    },
    close() {
      for (const [a, b] of pairs) {
        a.destroy();
        b.destroy();
      }
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * A server without a bridge of its own and two bridges: `jvb-frozen`, logged in through a relay the
 * test can freeze, which the focus picks first (with equal stress it takes the first it knows), and
 * `jvb-live`. Set up before the suite's tests, torn down after them with the participants' clients.
 */
function frozenAndLiveBridges(env: Record<string, string>) {
  const rig = {
    server: undefined as unknown as TestServer,
    relay: undefined as unknown as Awaited<ReturnType<typeof startFreezableRelay>>,
    bridges: [] as TestBridge[],
    participants: [] as ConferenceParticipant[],
  };
  before(async () => {
    rig.server = await startTestServer(env, ['--no-bridge']);
    rig.relay = await startFreezableRelay(rig.server.c2sPort);
    rig.bridges.push(await startTestBridge(rig.server, { xmppServer: `127.0.0.1:${rig.relay.port}`, flags: ['--bridge-id', 'jvb-frozen'] }));
    await until(() => rig.server.salon.focus.bridges.select() !== undefined, 'the focus sees the first bridge');
    rig.bridges.push(await startTestBridge(rig.server, { flags: ['--bridge-id', 'jvb-live'] }));
    await until(() => rig.server.salon.focus.bridges.count === 2, 'the focus sees both bridges');
  });
  after(async () => {
    for (const p of rig.participants) await stopClient(p.client);
    await rig.relay?.close();
    for (const b of rig.bridges) await b.close();
    await rig.server?.close();
  });
  return rig;
}

/** alice and bob join the room and are offered sessions on the frozen bridge. */
async function joinOnTheFrozenBridge(rig: ReturnType<typeof frozenAndLiveBridges>): Promise<[ConferenceParticipant, ConferenceParticipant]> {
  for (const nick of ['alice', 'bob']) rig.participants.push(await joinConference(rig.server, ROOM, nick));
  const [alice, bob] = rig.participants as [ConferenceParticipant, ConferenceParticipant];
  await until(() => offers(alice).length === 1 && offers(bob).length === 1, 'session-initiate to both');
  assert.equal(bridgeOf(offers(alice)[0]!), 'jvb-frozen');
  return [alice, bob];
}

describe('a conference moved off a bridge that stops answering Colibri2 (request timeout)', function () {
  this.timeout(60_000);
  // Without the periodic health checks: the request's own timeout is what finds the bridge out.
  const rig = frozenAndLiveBridges({ SALON_BRIDGE_HEALTH_CHECK_MS: '0' });

  it('marks the bridge failed when a request times out and re-invites everyone on the other one', async () => {
    const { server, relay } = rig;
    const [frozen, live] = rig.bridges as [TestBridge, TestBridge];
    const [alice, bob] = await joinOnTheFrozenBridge(rig);

    relay.freeze();
    // alice's answer makes the focus update her endpoint: the request gets no answer (15 s timeout)
    await alice.client.iqCaller.request(xml('iq', { type: 'set', to: `${ROOM}/focus` }, sessionAcceptFor('alice', offers(alice)[0]!.sid, 0) as never));
    await until(() => offers(alice).length === 2 && offers(bob).length === 2, 'a new session-initiate to both', 30_000);
    assert.equal(server.salon.focus.bridges.count, 2, 'the frozen bridge is still in the brewery');
    assert.equal(server.salon.focus.bridges.isOperational(frozen.host.bridge.jid), false, 'but no longer operational');
    for (const p of [alice, bob]) {
      const terminate = p.jingle.find((j) => j.action === 'session-terminate');
      assert.equal(terminate?.sid, offers(p)[0]!.sid);
      assert.equal(bridgeOf(offers(p)[1]!), 'jvb-live');
    }
    assert.equal(live.host.bridge.colibri.endpointCount, 2);
  });
});

describe('a conference moved off a bridge that stops answering while nobody asks it anything (health checks)', function () {
  this.timeout(60_000);
  /** The focus checks every bridge this often; a check waits half as long, and a failed one is made again half as long after. */
  const HEALTH_CHECK_MS = 2_000;
  const rig = frozenAndLiveBridges({ SALON_BRIDGE_HEALTH_CHECK_MS: String(HEALTH_CHECK_MS) });

  it('keeps a bridge that answers, and moves everyone off one that stops, without any request of theirs', async () => {
    const { server, relay } = rig;
    const [frozen, live] = rig.bridges as [TestBridge, TestBridge];
    const [alice, bob] = await joinOnTheFrozenBridge(rig);
    for (const p of [alice, bob]) {
      await p.client.iqCaller.request(xml('iq', { type: 'set', to: `${ROOM}/focus` }, sessionAcceptFor(p === alice ? 'alice' : 'bob', offers(p)[0]!.sid, p === alice ? 0 : 1) as never));
    }
    // Rounds of checks while both bridges answer: nothing moves.
    await new Promise((r) => setTimeout(r, 2.5 * HEALTH_CHECK_MS));
    assert.equal(server.salon.focus.bridges.isOperational(frozen.host.bridge.jid), true, 'a bridge that answers its checks stays operational');
    assert.equal(offers(alice).length + offers(bob).length, 2, 'nobody moved');

    // The bridge's connection stays open but nothing goes through any more (a stuck process); no
    // participant asks the focus anything meanwhile.
    const frozenAt = Date.now();
    relay.freeze();
    await until(() => offers(alice).length === 2 && offers(bob).length === 2, 'a new session-initiate to both', 6 * HEALTH_CHECK_MS);
    const movedAfter = Date.now() - frozenAt;
    // At most: a round's wait, a check's timeout, the retry's delay and its timeout (and the focus's own pace).
    assert.ok(movedAfter < 5 * HEALTH_CHECK_MS, `moved ${movedAfter} ms after the bridge stopped answering`);
    assert.equal(server.salon.focus.bridges.count, 2, 'the frozen bridge is still in the brewery');
    assert.equal(server.salon.focus.bridges.isOperational(frozen.host.bridge.jid), false, 'but no longer operational');
    assert.equal(server.salon.focus.bridges.isOperational(live.host.bridge.jid), true);
    for (const p of [alice, bob]) {
      const terminate = p.jingle.find((j) => j.action === 'session-terminate');
      assert.equal(terminate?.sid, offers(p)[0]!.sid);
      assert.deepEqual([terminate?.reason?.condition, terminate?.reason?.text], ['success', MOVING_TEXT]);
      assert.equal(bridgeOf(offers(p)[1]!), 'jvb-live');
    }
    assert.equal(live.host.bridge.colibri.endpointCount, 2);
  });
});
