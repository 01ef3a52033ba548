import assert from 'node:assert/strict';
import { Element } from 'ltx';
import { pino } from 'pino';
import { StanzaError } from '../../../xmpp/errors.ts';
import { buildColibriStats, buildConferenceModified, Colibri2Error, parseConferenceModify, type ConferenceModify } from '../../../xmpp/protocol/colibri2.ts';
import { buildDiscoInfo } from '../../../xmpp/protocol/disco.ts';
import { buildIceUdpTransport, parseIceUdpTransport, type IceUdpTransport } from '../../../xmpp/protocol/jingle-ice.ts';
import { buildJingle, parseJingle, type Jingle } from '../../../xmpp/protocol/jingle.ts';
import { BridgeSelector } from '../../../focus/bridge-selector.ts';
import { Conference, type ConferenceLink } from '../../../focus/conference.ts';
import { IqCaller } from '../../../focus/iq-caller.ts';
import { NOT_FORCE_MUTED } from '../../../focus/av-moderation.ts';
import { ClientFeature, codecTable, DEFAULT_CODECS, HeaderExtensionUri, type CodecTable } from '../../../focus/offer.ts';
import { fixtureSsrcs, sessionAcceptFor } from './session-accept-fixture.ts';

const ROOM = 'myroom@muc.meet.jitsi';
const FOCUS = 'focus@auth.meet.jitsi/focus';
const BRIDGE = 'jvb@auth.meet.jitsi/jvb1';
const NS_MUC_USER = 'http://jabber.org/protocol/muc#user';
const NS_FOCUS = 'http://jitsi.org/protocol/focus';

/** The focus's session: records what it sends, and plays the bridge and the clients' disco#info. */
class FakeLink implements ConferenceLink {
  readonly sent: Element[] = [];
  /** Jingle requests the focus sent, by occupant nick. */
  readonly jingle = new Map<string, Jingle[]>();
  readonly colibri: ConferenceModify[] = [];
  /** The bridge each entry of `colibri` was sent to. */
  readonly colibriTo: string[] = [];
  /** Bridges that do not answer (dead, or cut off). */
  readonly silent = new Set<string>();
  /** An error the bridge answers the next request matching the predicate with. */
  failNext: { when: (modify: ConferenceModify) => boolean; error: Element } | undefined;
  iq!: IqCaller;
  features: string[] = [ClientFeature.audio, ClientFeature.video, ClientFeature.sctp, ClientFeature.jsonSources, ClientFeature.tcc];
  /**
   * While set, the bridges refuse a request for an endpoint they do not hold with unknown_endpoint,
   * as a bridge does, and {@link bridgeForceMute} says what each endpoint they hold is force-muted for.
   */
  strictBridge = false;
  /** By bridge, the endpoints it holds and their force-mute, kept while {@link strictBridge} is set. */
  readonly bridgeForceMute = new Map<string, Map<string, { audio: boolean; video: boolean }>>();
  /** While set, the bridges' answers wait, in order, for {@link releaseBridge} (a slow bridge). */
  holdBridge = false;
  private readonly heldAnswers: Array<() => void> = [];

  releaseBridge(): void {
    this.holdBridge = false;
    for (const answer of this.heldAnswers.splice(0)) answer();
  }

  /** Participants whose answer to their session-initiate waits for {@link answerSessionInitiate}. */
  readonly holdSessionInitiate = new Set<string>();
  private readonly heldSessionInitiates = new Map<string, (error?: StanzaError) => void>();

  /** Answers `nick`'s held session-initiate: with `error`, or a result. */
  answerSessionInitiate(nick: string, error?: StanzaError): void {
    const answer = this.heldSessionInitiates.get(nick);
    assert.ok(answer, `${nick}'s session-initiate is held`);
    this.heldSessionInitiates.delete(nick);
    answer(error);
  }

  send(stanza: Element): void {
    this.sent.push(stanza);
    if (stanza.name !== 'iq' || (stanza.attrs.type !== 'set' && stanza.attrs.type !== 'get')) return;
    // Answer asynchronously, as the network would.
    queueMicrotask(() => this.answer(stanza));
  }

  private answer(iq: Element): void {
    const to = String(iq.attrs.to);
    const reply = (payload?: Element) => {
      const result = new Element('iq', { type: 'result', id: iq.attrs.id, from: to, to: FOCUS });
      if (payload) result.cnode(payload);
      this.iq.handleReply(result);
    };
    const payload = iq.getChildElements()[0]!;
    if (to.startsWith('jvb@auth.meet.jitsi/')) {
      const modify = parseConferenceModify(payload);
      this.colibri.push(modify);
      this.colibriTo.push(to);
      if (this.silent.has(to)) return;
      if (this.holdBridge) {
        this.heldAnswers.push(() => this.answerBridge(iq, modify));
        return;
      }
      return this.answerBridge(iq, modify);
    }
    if (payload.name === 'query' && to === ROOM) {
      // the room's disco#info: Jitsi's meeting id in the muc#roominfo form
      return reply(buildDiscoInfo({ identities: [], features: [], forms: [{ type: 'result', fields: [
        { var: 'FORM_TYPE', type: 'hidden', values: ['http://jabber.org/protocol/muc#roominfo'] },
        { var: 'muc#roominfo_meetingId', values: ['meeting-1'] },
      ] }] }));
    }
    if (payload.name === 'query') return reply(buildDiscoInfo({ identities: [], features: this.features }));
    if (payload.name === 'jingle') {
      const nick = to.slice(ROOM.length + 1);
      this.jingle.set(nick, [...(this.jingle.get(nick) ?? []), parseJingle(payload)]);
      if (payload.attrs.action === 'session-initiate' && this.holdSessionInitiate.has(nick)) {
        this.heldSessionInitiates.set(nick, (error) => (error
          ? this.iq.handleReply(new Element('iq', { type: 'error', id: iq.attrs.id, from: to, to: FOCUS }).cnode(error.toElement()).root())
          : reply()));
        return;
      }
      return reply();
    }
    reply();
  }

  /** The bridge's answer: the error asked for, else the endpoints it was asked to create. */
  private answerBridge(iq: Element, modify: ConferenceModify): void {
    const to = String(iq.attrs.to);
    if (this.strictBridge) {
      const unknown = this.applyToBridge(to, modify);
      if (unknown !== undefined) {
        this.iq.handleReply(new Element('iq', { type: 'error', id: iq.attrs.id, from: to, to: FOCUS }).cnode(Colibri2Error.unknownEndpoint(unknown).toElement()).root());
        return;
      }
    }
    if (this.failNext?.when(modify)) {
      const error = new Element('iq', { type: 'error', id: iq.attrs.id, from: to, to: FOCUS }).cnode(this.failNext.error).root();
      this.failNext = undefined;
      this.iq.handleReply(error);
      return;
    }
    const prefix = to === BRIDGE ? 'bridge' : to.split('/')[1]!;
    const created = modify.endpoints.filter((e) => e.create);
    const modified = buildConferenceModified({
      endpoints: created.map((e) => ({
        id: e.id, media: [], capabilities: [],
        transport: {
          iceUdp: buildIceUdpTransport({
            ufrag: `${prefix}-${e.id}`, pwd: 'bridgepassword0123456789', rtcpMux: true, extensions: [], webSockets: [],
            fingerprints: [{ hash: 'sha-256', value: 'AB:CD:EF', setup: 'actpass' }],
            candidates: [{ component: 1, foundation: '1', generation: 0, id: 'c1', ip: '192.0.2.1', port: 10000, priority: 1, protocol: 'udp', type: 'host', network: 0 }],
          }),
          sctp: { port: 5000 },
        },
      })),
      relays: [],
    });
    this.iq.handleReply(new Element('iq', { type: 'result', id: iq.attrs.id, from: to, to: FOCUS }).cnode(modified).root());
  }

  /** Applies `modify` to {@link bridgeForceMute}; returns the endpoint it names that `bridge` does not hold. */
  private applyToBridge(bridge: string, modify: ConferenceModify): string | undefined {
    if (modify.expire) {
      this.bridgeForceMute.delete(bridge);
      return undefined;
    }
    const held = this.bridgeForceMute.get(bridge) ?? new Map<string, { audio: boolean; video: boolean }>();
    this.bridgeForceMute.set(bridge, held);
    for (const e of modify.endpoints) {
      if (!e.create && !held.has(e.id)) return e.id;
      if (e.expire) held.delete(e.id);
      else if (e.create || e.forceMute) held.set(e.id, { audio: e.forceMute?.audio === true, video: e.forceMute?.video === true });
    }
    return undefined;
  }

  jingleTo(nick: string, action: string): Jingle[] {
    return (this.jingle.get(nick) ?? []).filter((j) => j.action === action);
  }
}

/** Lets the chain of fake answers (microtasks and promise continuations) run to the end. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

function occupant(nick: string, opts: { type?: string; role?: string; statuses?: number[]; jid?: string; features?: string[] } = {}): Element {
  const presence = new Element('presence', { from: `${ROOM}/${nick}`, to: FOCUS, type: opts.type });
  const x = presence.c('x', { xmlns: NS_MUC_USER });
  x.c('item', { affiliation: 'none', role: opts.role ?? 'participant', jid: opts.jid ?? `${nick}@meet.jitsi/web` });
  for (const code of opts.statuses ?? []) x.c('status', { code: String(code) });
  presence.c('stats-id').t(`stats-${nick}`);
  if (opts.features) {
    const features = presence.c('features');
    for (const feature of opts.features) features.c('feature', { var: feature });
  }
  return presence;
}

function breweryPresence(id = 'jvb1', stress = '0.1'): Element {
  const presence = new Element('presence', { from: `jvbbrewery@internal-muc.meet.jitsi/${id}`, to: FOCUS });
  presence.c('x', { xmlns: NS_MUC_USER }).c('item', { jid: `jvb@auth.meet.jitsi/${id}`, role: 'participant', affiliation: 'none' });
  presence.cnode(buildColibriStats({ stress_level: stress, drain: 'false' }));
  return presence;
}

/** A client's transport-info in content `content`; by default lib-jitsi-meet's credentials and one srflx candidate. */
function transportInfoIq(nick: string, sid: string, transport: Partial<IceUdpTransport> = {}, content = '0'): Element {
  const info = new Element('jingle', { xmlns: 'urn:xmpp:jingle:1', action: 'transport-info', sid });
  info.c('content', { creator: 'responder', name: content }).cnode(buildIceUdpTransport({
    ufrag: 'Zb1x', pwd: 'q9V0aB3cD4eF5gH6iJ7kL8mN', rtcpMux: false, extensions: [], webSockets: [], fingerprints: [],
    candidates: [{ component: 1, foundation: '9', generation: 0, id: 'x', ip: '198.51.100.9', port: 5555, priority: 5, protocol: 'udp', type: 'srflx', network: 0 }],
    ...transport,
  }));
  return jingleIq(nick, info);
}

function jingleIq(nick: string, jingle: Element): Element {
  return new Element('iq', { type: 'set', from: `${ROOM}/${nick}`, to: FOCUS, id: `j-${nick}` }).cnode(jingle).root();
}

describe('focus/conference-media (Jingle and Colibri2 through the conference)', () => {
  let link: FakeLink;
  let iq: IqCaller;
  let selector: BridgeSelector;
  let conference: Conference;

  beforeEach(() => {
    link = new FakeLink();
    iq = new IqCaller((s) => link.send(s), 60_000);
    link.iq = iq;
    selector = new BridgeSelector();
    selector.onBreweryPresence(breweryPresence());
    conference = new Conference(link, pino({ level: 'silent' }), {
      roomJid: ROOM, focusVersion: 'test', idleTimeoutMs: 3_600_000, onEnded: () => undefined,
      media: { iq, selector, focusJid: FOCUS },
    });
    conference.onPresence(occupant('focus', { jid: FOCUS, role: 'moderator', statuses: [110] }));
  });

  afterEach(() => {
    conference.end('test over');
    iq.close();
  });

  type MediaOptions = NonNullable<ConstructorParameters<typeof Conference>[2]['media']>;

  /** Replaces the conference with one whose media has these options too, the focus in the room. */
  function withMediaOptions(options: Partial<MediaOptions>): void {
    conference.end('replaced');
    conference = new Conference(link, pino({ level: 'silent' }), {
      roomJid: ROOM, focusVersion: 'test', idleTimeoutMs: 3_600_000, onEnded: () => undefined,
      media: { iq, selector, focusJid: FOCUS, ...options },
    });
    conference.onPresence(occupant('focus', { jid: FOCUS, role: 'moderator', statuses: [110] }));
  }

  /** Replaces the conference with one whose restart requests have these limits, the focus in the room. */
  function withRestartLimits(restartRequestLimits: MediaOptions['restartRequestLimits']): void {
    withMediaOptions({ restartRequestLimits });
  }

  /** Ms from `since` (performance.now()) until `nick` has had `count` session-initiates; fails after `timeoutMs`. */
  async function offerAfter(nick: string, count: number, since: number, timeoutMs = 5_000): Promise<number> {
    while (link.jingleTo(nick, 'session-initiate').length < count) {
      assert.ok(performance.now() - since < timeoutMs, `${nick} has had ${count} session-initiates within ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    return performance.now() - since;
  }

  async function twoJoined(): Promise<void> {
    conference.onPresence(occupant('alice'));
    conference.onPresence(occupant('bob'));
    await settle();
  }

  async function accept(nick: string, offset: number): Promise<void> {
    const sid = link.jingleTo(nick, 'session-initiate')[0]!.sid;
    conference.handleIq(jingleIq(nick, sessionAcceptFor(nick, sid, offset)), iq);
    await settle();
  }

  it('sends no offer to a lone participant', async () => {
    conference.onPresence(occupant('alice'));
    await settle();
    assert.equal(link.jingle.size, 0);
    assert.equal(link.colibri.length, 0);
  });

  it('offers both participants a session with the bridge transport once two are present', async () => {
    await twoJoined();
    for (const nick of ['alice', 'bob']) {
      const [offer] = link.jingleTo(nick, 'session-initiate');
      assert.ok(offer, `${nick} got a session-initiate`);
      assert.equal(offer.initiator, FOCUS);
      const transport = offer.contents[0]!.transport!;
      assert.equal(transport.ufrag, `bridge-${nick}`);
      assert.equal(transport.fingerprints[0]?.setup, 'actpass');
      assert.deepEqual(offer.groups[0]?.contents, ['audio', 'video', 'data']);
      assert.equal(offer.contents.find((c) => c.name === 'data')?.transport?.sctpMap?.port, 5000);
    }
    const allocations = link.colibri.flatMap((m) => m.endpoints.filter((e) => e.create));
    assert.deepEqual(allocations.map((e) => [e.id, e.statsId]).sort(), [['alice', 'stats-alice'], ['bob', 'stats-bob']]);
    assert.equal(link.colibri.filter((m) => m.create).length, 1, 'one Colibri2 conference');
    assert.ok(link.colibri.every((m) => m.meetingId === 'meeting-1'), 'the bridge conference is named after the room\'s meeting id');
    assert.equal(selector.correctedStress(selector.select()!), 0.1 + 2 * 0.01, 'the two endpoints count in the bridge\'s load until its stress level shows them');
  });

  it('asks the bridge for the source-names capability only for clients that advertise source names', async () => {
    // link.features: no http://jitsi.org/source-name (a lib-jitsi-meet before source names).
    await twoJoined();
    const legacy = link.colibri.flatMap((m) => m.endpoints.filter((e) => e.create));
    assert.deepEqual(legacy.map((e) => [e.id, e.capabilities]).sort(), [['alice', []], ['bob', []]]);
    restartWith(DEFAULT_CODECS);
    link.features = [...link.features, ClientFeature.sourceNames];
    conference.onPresence(occupant('carol'));
    conference.onPresence(occupant('dave'));
    await settle();
    const named = link.colibri.flatMap((m) => m.endpoints.filter((e) => e.create));
    assert.deepEqual(named.map((e) => [e.id, e.capabilities]).sort(), [['carol', ['source-names']], ['dave', ['source-names']]]);
  });

  /** Ends the conference and starts another on a fresh link (clients with RTX), offering `codecs`. */
  function restartWith(codecs: CodecTable): void {
    conference.end('replaced');
    iq.close();
    link = new FakeLink();
    link.features = [...link.features, ClientFeature.rtx];
    iq = new IqCaller((s) => link.send(s), 60_000);
    link.iq = iq;
    conference = new Conference(link, pino({ level: 'silent' }), {
      roomJid: ROOM, focusVersion: 'test', idleTimeoutMs: 3_600_000, onEnded: () => undefined,
      media: { iq, selector, focusJid: FOCUS, codecs },
    });
    conference.onPresence(occupant('focus', { jid: FOCUS, role: 'moderator', statuses: [110] }));
  }

  it('offers VP9 to clients and gives it to the bridge only with the VP9 table (ENABLE_CODEC_VP9)', async () => {
    const videoPayloads = (ids: Element[]) => ids.map((e) => `${e.attrs.id} ${e.attrs.name}`);
    await twoJoined();
    const plain = link.colibri.flatMap((m) => m.endpoints.filter((e) => e.create));
    assert.deepEqual(plain.map((e) => videoPayloads(e.media.find((m) => m.type === 'video')!.payloadTypes)), [['100 VP8'], ['100 VP8']]);
    assert.deepEqual(link.jingleTo('alice', 'session-initiate')[0]!.contents.find((c) => c.name === 'video')!.description!.payloadTypes.map((p) => p.name), ['VP8']);

    restartWith(codecTable({ vp9: true }));
    await twoJoined();
    const allocations = link.colibri.flatMap((m) => m.endpoints.filter((e) => e.create));
    assert.equal(allocations.length, 2);
    for (const endpoint of allocations) {
      assert.deepEqual(videoPayloads(endpoint.media.find((m) => m.type === 'video')!.payloadTypes), ['100 VP8', '101 VP9', '96 rtx', '97 rtx']);
    }
    for (const nick of ['alice', 'bob']) {
      const video = link.jingleTo(nick, 'session-initiate')[0]!.contents.find((c) => c.name === 'video')!.description!;
      assert.deepEqual(video.payloadTypes.map((p) => `${p.id} ${p.name}`), ['100 VP8', '101 VP9', '96 rtx', '97 rtx']);
    }
  });

  it('offers AV1 and its dependency descriptor to clients and the bridge only with the AV1 table (ENABLE_CODEC_AV1)', async () => {
    const DD = HeaderExtensionUri.av1DependencyDescriptor;
    const ids = (els: Element[]) => els.map((e) => `${e.attrs.id} ${e.attrs.name ?? e.attrs.uri}`);
    await twoJoined();
    const plain = link.colibri.flatMap((m) => m.endpoints.filter((e) => e.create));
    assert.ok(plain.every((e) => e.media.every((m) => !m.rtpHdrExts.some((h) => h.attrs.uri === DD))));
    assert.ok(!link.jingleTo('alice', 'session-initiate')[0]!.contents.some((c) => c.description?.headerExtensions.some((h) => h.uri === DD)));

    restartWith(codecTable({ vp9: true, av1: true }));
    await twoJoined();
    const allocations = link.colibri.flatMap((m) => m.endpoints.filter((e) => e.create));
    assert.equal(allocations.length, 2);
    for (const endpoint of allocations) {
      const video = endpoint.media.find((m) => m.type === 'video')!;
      assert.deepEqual(ids(video.payloadTypes), ['100 VP8', '101 VP9', '41 AV1', '96 rtx', '97 rtx', '42 rtx']);
      assert.deepEqual(ids(video.rtpHdrExts).filter((h) => h.endsWith(DD)), [`11 ${DD}`]);
      assert.ok(!endpoint.media.find((m) => m.type === 'audio')!.rtpHdrExts.some((h) => h.attrs.uri === DD));
    }
    for (const nick of ['alice', 'bob']) {
      const offer = link.jingleTo(nick, 'session-initiate')[0]!;
      const video = offer.contents.find((c) => c.name === 'video')!.description!;
      assert.deepEqual(video.payloadTypes.map((p) => `${p.id} ${p.name}`), ['100 VP8', '101 VP9', '41 AV1', '96 rtx', '97 rtx', '42 rtx']);
      assert.deepEqual(video.headerExtensions.filter((h) => h.uri === DD).map((h) => h.id), [11]);
      assert.ok(!offer.contents.find((c) => c.name === 'audio')!.description!.headerExtensions.some((h) => h.uri === DD));
    }
  });

  it('passes a session-accept to the bridge and its sources to the other participant', async () => {
    await twoJoined();
    await accept('alice', 0);
    const update = link.colibri.at(-1)!.endpoints[0]!;
    assert.equal(update.id, 'alice');
    assert.equal(parseIceUdpTransport(update.transport!.iceUdp!).ufrag, 'Zb1x');
    assert.ok(update.sources!.some((ms) => ms.id === 'alice-v0'));
    // bob has not accepted yet: nothing is sent to him before his session is active
    assert.equal(link.jingleTo('bob', 'source-add').length, 0);
    await accept('bob', 1);
    const [add] = link.jingleTo('bob', 'source-add');
    assert.ok(add, 'bob learns alice\'s sources when his session becomes active');
    assert.equal(add.sources?.[0]?.owner, 'alice');
    assert.ok(add.sources[0].video.length > 0 && add.sources[0].audio.length > 0);
    const [toAlice] = link.jingleTo('alice', 'source-add');
    assert.equal(toAlice?.sources?.[0]?.owner, 'bob');
  });

  it('puts earlier participants\' sources into a later offer', async () => {
    await twoJoined();
    await accept('alice', 0);
    conference.onPresence(occupant('carol'));
    await settle();
    const [offer] = link.jingleTo('carol', 'session-initiate');
    assert.deepEqual(offer?.sources?.map((s) => s.owner), ['alice']);
  });

  it('answers a malformed session-accept with bad-request, to that participant only', async () => {
    await twoJoined();
    const sid = link.jingleTo('alice', 'session-initiate')[0]!.sid;
    const bare = buildJingle({ action: 'session-accept', sid, contents: [], groups: [], extensions: [] });
    assert.throws(() => conference.handleIq(jingleIq('alice', bare), iq), (e: StanzaError) => e.condition === 'bad-request');
    await settle();
    assert.equal(link.jingleTo('bob', 'source-add').length, 0);
    await accept('alice', 0); // the session stays usable
    assert.equal(link.colibri.at(-1)!.endpoints[0]!.id, 'alice');
  });

  it('refuses an SSRC another participant owns, leaving the others untouched', async () => {
    await twoJoined();
    await accept('alice', 0);
    const sid = link.jingleTo('bob', 'session-initiate')[0]!.sid;
    const before = link.colibri.length;
    assert.throws(() => conference.handleIq(jingleIq('bob', sessionAcceptFor('bob', sid, 0)), iq), (e: StanzaError) => e.condition === 'bad-request' && /already used by alice/.test(e.text ?? ''));
    await settle();
    assert.equal(link.colibri.length, before, 'nothing sent to the bridge');
    assert.equal(link.jingleTo('alice', 'source-add').length, 0);
  });

  it('answers an unknown sid with item-not-found and <unknown-session/>, an unsupported action with feature-not-implemented', async () => {
    await twoJoined();
    const wrong = buildJingle({ action: 'session-accept', sid: 'nope', contents: [], groups: [], extensions: [] });
    assert.throws(() => conference.handleIq(jingleIq('alice', wrong), iq),
      (e: StanzaError) => e.condition === 'item-not-found' && e.application?.name === 'unknown-session');
    const sid = link.jingleTo('alice', 'session-initiate')[0]!.sid;
    const info = buildJingle({ action: 'content-modify', sid, contents: [], groups: [], extensions: [] });
    assert.throws(() => conference.handleIq(jingleIq('alice', info), iq), (e: StanzaError) => e.condition === 'feature-not-implemented');
  });

  it('forwards transport-info to the bridge', async () => {
    await twoJoined();
    await accept('alice', 0);
    const sid = link.jingleTo('alice', 'session-initiate')[0]!.sid;
    conference.handleIq(transportInfoIq('alice', sid), iq);
    await settle();
    const update = link.colibri.at(-1)!.endpoints[0]!;
    assert.equal(parseIceUdpTransport(update.transport!.iceUdp!).candidates[0]?.ip, '198.51.100.9');
  });

  it('takes a session-accept whose transport has only its fingerprint after transport-infos that gave the ICE credentials and candidates (Jigasi)', async () => {
    await twoJoined();
    const sid = link.jingleTo('alice', 'session-initiate')[0]!.sid;
    // jitsi-desktop's Jingle, as Jigasi runs it: credentials and candidates trickled first, in a
    // transport-info; then the accept, its transport carrying the DTLS fingerprint alone.
    conference.handleIq(transportInfoIq('alice', sid, {
      ufrag: 'jg1x', pwd: 'jigasiPassword0123456789', rtcpMux: true,
      candidates: [{ component: 1, foundation: '1', generation: 0, id: 'j1', ip: '198.51.100.20', port: 10000, priority: 2130706431, protocol: 'udp', type: 'host', network: 0 }],
    }, 'audio'), iq);
    await settle();
    const answer = sessionAcceptFor('alice', sid, 0);
    for (const content of answer.getChildren('content')) {
      const transport = content.getChild('transport');
      if (!transport) continue;
      delete transport.attrs.ufrag;
      delete transport.attrs.pwd;
      transport.remove('rtcp-mux');
      for (const candidate of transport.getChildren('candidate')) transport.remove(candidate);
    }
    conference.handleIq(jingleIq('alice', answer), iq);
    await settle();
    const update = link.colibri.at(-1)!.endpoints.find((e) => e.id === 'alice')!;
    const transport = parseIceUdpTransport(update.transport!.iceUdp!);
    assert.deepEqual([transport.ufrag, transport.pwd, transport.rtcpMux], ['jg1x', 'jigasiPassword0123456789', true], 'the credentials of its transport-info');
    assert.deepEqual(transport.candidates.map((c) => c.ip), ['198.51.100.20']);
    assert.equal(transport.fingerprints.length, 1, 'the fingerprint of its accept');
    assert.ok(update.sources, 'its sources go to the bridge');
    await accept('bob', 1);
    assert.ok(link.jingleTo('bob', 'source-add').some((add) => add.sources?.some((owned) => owned.owner === 'alice')), 'bob is told of alice\'s sources');
  });

  it('on leave expires the endpoint and sends source-remove to the others; the conference end expires the bridge conference', async () => {
    await twoJoined();
    await accept('alice', 0);
    await accept('bob', 1);
    conference.onPresence(occupant('alice', { type: 'unavailable', role: 'none' }));
    await settle();
    assert.ok(link.colibri.some((m) => m.endpoints.some((e) => e.id === 'alice' && e.expire)));
    const [remove] = link.jingleTo('bob', 'source-remove');
    assert.equal(remove?.sources?.[0]?.owner, 'alice');
    const removed = remove.sources[0].video.map((s) => s.ssrc).concat(remove.sources[0].audio.map((s) => s.ssrc));
    assert.ok(removed.every((ssrc) => fixtureSsrcs(0).includes(ssrc)));
    conference.onPresence(occupant('bob', { type: 'unavailable', role: 'none' }));
    await settle();
    assert.ok(link.colibri.some((m) => m.expire), 'Colibri2 conference expired');
    assert.equal(iq.pendingCount, 0);
  });

  it('does not put a participant on the bridge who left while its allocation waited for the conference creation', async () => {
    link.holdBridge = true; // the conference creation is slow to answer
    conference.onPresence(occupant('alice'));
    conference.onPresence(occupant('bob'));
    conference.onPresence(occupant('carol'));
    await settle();
    conference.onPresence(occupant('carol', { type: 'unavailable', role: 'none' }));
    await settle();
    link.releaseBridge();
    await settle();
    const carol = link.colibri.flatMap((m) => m.endpoints.filter((e) => e.id === 'carol').map((e) => (e.create ? 'create' : e.expire ? 'expire' : 'update')));
    assert.equal(carol.at(-1), undefined, `the bridge is never asked for carol (asked: ${carol.join(', ')})`);
    assert.deepEqual(link.colibri.flatMap((m) => m.endpoints.filter((e) => e.create).map((e) => e.id)), ['alice', 'bob']);
    assert.equal(link.jingleTo('carol', 'session-initiate').length, 0);
  });

  it('force-mutes at the bridge a participant muted by A/V moderation while the bridge conference is created, once his endpoint exists there', async () => {
    link.strictBridge = true;
    link.holdBridge = true; // the conference creation is slow to answer
    conference.onPresence(occupant('alice', { role: 'moderator' }));
    conference.onPresence(occupant('bob'));
    await settle();
    assert.deepEqual(link.colibri.map((m) => m.endpoints.map((e) => e.id)), [['alice']], 'bob\'s allocation waits for the conference');
    conference.onAvModeration({ kind: 'enabled', room: ROOM, mediaType: 'audio', enabled: true, actor: `${ROOM}/alice` });
    await settle();
    link.releaseBridge();
    await settle();
    assert.deepEqual(link.bridgeForceMute.get(BRIDGE)?.get('bob'), { audio: true, video: false }, 'the bridge drops bob\'s audio');
    assert.deepEqual(link.bridgeForceMute.get(BRIDGE)?.get('alice'), { audio: false, video: false });
    const bob = link.colibri.flatMap((m) => m.endpoints.filter((e) => e.id === 'bob').map((e) => (e.create ? 'create' : e.expire ? 'expire' : 'update')));
    assert.deepEqual(bob, ['create', 'update'], 'bob is allocated once, then muted: the bridge never refused the mute (unknown_endpoint), which would re-invite him');
    assert.equal(link.jingleTo('bob', 'session-initiate').length, 1);
  });

  it('on an invitation failing after its session-accept, takes its sources back from the others and invites it afresh later', async () => {
    withMediaOptions({ invitationRetry: { firstMs: 150, maxMs: 150 } });
    link.holdSessionInitiate.add('bob');
    await twoJoined();
    await accept('alice', 0);
    await accept('bob', 1); // bob answers before the focus has the answer to its session-initiate
    assert.equal(link.jingleTo('alice', 'source-add').at(-1)?.sources?.[0]?.owner, 'bob', 'alice was told of bob\'s sources');
    link.answerSessionInitiate('bob', new StanzaError('cancel', 'bad-request')); // or the focus's IQ timeout
    await settle();
    assert.ok(link.colibri.some((m) => m.endpoints.some((e) => e.id === 'bob' && e.expire)), 'bob\'s endpoint is expired');
    const [remove] = link.jingleTo('alice', 'source-remove');
    assert.equal(remove?.sources?.[0]?.owner, 'bob', 'alice is told bob\'s sources are gone');
    const failedAt = performance.now();
    link.holdSessionInitiate.clear();
    conference.onPresence(occupant('bob')); // a presence does not invite him at once: the wait after a failure does
    await settle();
    assert.equal(link.jingleTo('bob', 'session-initiate').length, 1, 'not invited again before the wait is over');
    assert.ok(await offerAfter('bob', 2, failedAt) >= 148, 'invited again once the wait is over');
    const offers = link.jingleTo('bob', 'session-initiate');
    assert.equal(offers.length, 2);
    assert.deepEqual(offers[1]!.sources?.map((s) => s.owner), ['alice']);
    conference.handleIq(jingleIq('bob', sessionAcceptFor('bob', offers[1]!.sid, 1)), iq); // the same SSRCs are his again
    await settle();
    assert.equal(link.jingleTo('alice', 'source-add').at(-1)?.sources?.[0]?.owner, 'bob');
  });

  it('invites a client refusing every session-initiate again on a doubling wait, not at every presence, and starts the wait afresh after a session-accept', async () => {
    withMediaOptions({ invitationRetry: { firstMs: 100, maxMs: 800 } });
    link.holdSessionInitiate.add('bob');
    await twoJoined();
    await accept('alice', 0);
    const allocations = () => link.colibri.filter((m) => m.endpoints.some((e) => e.id === 'bob' && e.create)).length;
    const refuse = async () => {
      await settle();
      link.answerSessionInitiate('bob', new StanzaError('cancel', 'bad-request'));
      await settle();
      return performance.now();
    };
    let failedAt = await refuse();
    // The room's presences while he waits (twenty of them, his own and alice's) invite nobody.
    for (let i = 0; i < 10; i++) {
      conference.onPresence(occupant('bob'));
      conference.onPresence(occupant('alice'));
    }
    await settle();
    assert.equal(link.jingleTo('bob', 'session-initiate').length, 1, 'presences do not invite him again');
    assert.equal(allocations(), 1, 'nor allocate him on the bridge again');
    const waits: number[] = [];
    for (let offers = 2; offers <= 6; offers++) {
      waits.push(await offerAfter('bob', offers, failedAt));
      failedAt = await refuse();
    }
    // 100, 200, 400, then 800 ms (the most) twice; a timer may fire a millisecond early, never sooner.
    for (const [i, least] of [100, 200, 400, 800, 800].entries()) assert.ok(waits[i]! >= least - 2, `wait ${i + 1}: ${waits[i]!.toFixed(0)} ms, at least ${least}`);
    assert.equal(allocations(), 6, 'one allocation per invitation');
    // He accepts the next one; a later failure waits the first wait again, not the longest.
    link.holdSessionInitiate.clear();
    await offerAfter('bob', 7, failedAt);
    await settle();
    const accepted = link.jingleTo('bob', 'session-initiate')[6]!;
    conference.handleIq(jingleIq('bob', sessionAcceptFor('bob', accepted.sid, 1)), iq);
    await settle();
    link.holdSessionInitiate.add('bob');
    const terminate = buildJingle({ action: 'session-terminate', sid: accepted.sid, contents: [], groups: [], extensions: [], reason: { condition: 'success', extensions: [] }, bridgeSession: { restart: true } });
    conference.handleIq(jingleIq('bob', terminate), iq);
    await settle();
    assert.equal(link.jingleTo('bob', 'session-initiate').length, 8, 'his restart is granted at once');
    failedAt = await refuse();
    const afresh = await offerAfter('bob', 9, failedAt);
    assert.ok(afresh >= 98 && afresh < 600, `after a session-accept the wait is the first one again (${afresh.toFixed(0)} ms, not 800)`);
  });

  it('counts a session-accept only once its session-initiate is acknowledged: accepting, then refusing the offer, still doubles the wait', async () => {
    withMediaOptions({ invitationRetry: { firstMs: 100, maxMs: 800 } });
    link.holdSessionInitiate.add('bob');
    await twoJoined();
    await accept('alice', 0);
    let failedAt = 0;
    for (let offers = 1; offers <= 3; offers++) {
      if (offers > 1) await offerAfter('bob', offers, failedAt);
      await settle();
      const offer = link.jingleTo('bob', 'session-initiate')[offers - 1]!;
      conference.handleIq(jingleIq('bob', sessionAcceptFor('bob', offer.sid, 1)), iq); // accepted first…
      await settle();
      link.answerSessionInitiate('bob', new StanzaError('cancel', 'bad-request')); // …then refused
      await settle();
      failedAt = performance.now();
    }
    const third = await offerAfter('bob', 4, failedAt);
    assert.ok(third >= 398, `the third wait is 400 ms (${third.toFixed(0)}), not the first one again`);
    // This time he accepts first and acknowledges the offer after: that invitation succeeded, the count starts afresh.
    await settle();
    const fourth = link.jingleTo('bob', 'session-initiate')[3]!;
    conference.handleIq(jingleIq('bob', sessionAcceptFor('bob', fourth.sid, 1)), iq);
    await settle();
    link.answerSessionInitiate('bob');
    await settle();
    const terminate = buildJingle({ action: 'session-terminate', sid: fourth.sid, contents: [], groups: [], extensions: [], reason: { condition: 'success', extensions: [] }, bridgeSession: { restart: true } });
    conference.handleIq(jingleIq('bob', terminate), iq);
    await settle();
    assert.equal(link.jingleTo('bob', 'session-initiate').length, 5, 'his restart is granted at once');
    await settle();
    link.answerSessionInitiate('bob', new StanzaError('cancel', 'bad-request'));
    await settle();
    const afresh = await offerAfter('bob', 6, performance.now());
    assert.ok(afresh < 600, `the first wait again (${afresh.toFixed(0)} ms, not 800)`);
  });

  it('invites a participant who failed an invitation, left and rejoined during the wait once for the rejoin, not again when the old wait ends', async () => {
    withMediaOptions({ invitationRetry: { firstMs: 100, maxMs: 100 } });
    link.holdSessionInitiate.add('bob');
    await twoJoined();
    await accept('alice', 0);
    await settle();
    link.answerSessionInitiate('bob', new StanzaError('cancel', 'bad-request'));
    await settle();
    conference.onPresence(occupant('bob', { type: 'unavailable', role: 'none' }));
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(link.jingleTo('bob', 'session-initiate').length, 1, 'no invitation after he left');
    conference.onPresence(occupant('bob'));
    await settle();
    await settle();
    assert.equal(link.jingleTo('bob', 'session-initiate').length, 2, 'a rejoin is invited at once');
    // He leaves again during his new wait and comes back at once: one invitation for that rejoin, none from the wait.
    link.answerSessionInitiate('bob', new StanzaError('cancel', 'bad-request'));
    await settle();
    conference.onPresence(occupant('bob', { type: 'unavailable', role: 'none' }));
    conference.onPresence(occupant('bob'));
    await settle();
    await settle();
    assert.equal(link.jingleTo('bob', 'session-initiate').length, 3, 'the rejoin is invited');
    await new Promise((resolve) => setTimeout(resolve, 250));
    assert.equal(link.jingleTo('bob', 'session-initiate').length, 3, 'and the wait of the participant who left invites nobody');
  });

  it('re-invites with a new session after session-terminate with restart', async () => {
    await twoJoined();
    await accept('alice', 0);
    const sid = link.jingleTo('alice', 'session-initiate')[0]!.sid;
    const terminate = buildJingle({ action: 'session-terminate', sid, contents: [], groups: [], extensions: [], reason: { condition: 'success', extensions: [] }, bridgeSession: { restart: true } });
    conference.handleIq(jingleIq('alice', terminate), iq);
    await settle();
    const offers = link.jingleTo('alice', 'session-initiate');
    assert.equal(offers.length, 2);
    assert.notEqual(offers[1]!.sid, sid);
    assert.ok(link.colibri.some((m) => m.endpoints.some((e) => e.id === 'alice' && e.expire)));
  });

  it('refuses a restart sooner than 5 s after the last with resource-constraint, ending the session, and invites again once the limit allows', async () => {
    let now = 1_000_000;
    withRestartLimits({ now: () => now });
    await twoJoined();
    await accept('alice', 0);
    await accept('bob', 1);
    const restart = () => {
      const sid = link.jingleTo('alice', 'session-initiate').at(-1)!.sid;
      const terminate = buildJingle({ action: 'session-terminate', sid, contents: [], groups: [], extensions: [], reason: { condition: 'success', extensions: [] }, bridgeSession: { restart: true } });
      conference.handleIq(jingleIq('alice', terminate), iq);
    };
    const acceptLatest = async () => {
      conference.handleIq(jingleIq('alice', sessionAcceptFor('alice', link.jingleTo('alice', 'session-initiate').at(-1)!.sid, 0)), iq);
      await settle();
    };
    restart();
    await settle();
    assert.equal(link.jingleTo('alice', 'session-initiate').length, 2, 'the first restart is granted');
    await acceptLatest();
    now += 4_000;
    const expiries = () => link.colibri.filter((m) => m.endpoints.some((e) => e.id === 'alice' && e.expire)).length;
    const before = { expiries: expiries(), removes: link.jingleTo('bob', 'source-remove').length };
    assert.throws(restart, (e: StanzaError) => e.type === 'wait' && e.condition === 'resource-constraint' && e.text === 'rate-limited');
    await settle();
    assert.equal(expiries(), before.expiries + 1, 'the session still ends: its endpoint is expired');
    assert.equal(link.jingleTo('bob', 'source-remove').length, before.removes + 1, 'and bob is told alice\'s sources are gone');
    conference.onPresence(occupant('bob'));
    await settle();
    assert.equal(link.jingleTo('alice', 'session-initiate').length, 2, 'no new session yet');
    // 5 s after the granted restart (1 s later), the limit allows one: she is invited again (Jicofo would leave her without media).
    now += 1_000;
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    await settle();
    assert.equal(link.jingleTo('alice', 'session-initiate').length, 3, 'invited again once the limit allows');
    await acceptLatest();
    // Refused again at once (within 5 s), then she leaves and rejoins before the limit allows: the rejoin's session, no other.
    now += 1_000;
    assert.throws(restart, (e: StanzaError) => e.condition === 'resource-constraint');
    conference.onPresence(occupant('alice', { type: 'unavailable', role: 'none' }));
    conference.onPresence(occupant('alice'));
    await settle();
    assert.equal(link.jingleTo('alice', 'session-initiate').length, 4, 'a new session once she rejoins');
    now += 10_000;
    await new Promise((resolve) => setTimeout(resolve, 4_100));
    await settle();
    assert.equal(link.jingleTo('alice', 'session-initiate').length, 4, 'the left participant\'s deferred invitation was cancelled');
    await acceptLatest();
    restart();
    await settle();
    assert.equal(link.jingleTo('alice', 'session-initiate').length, 5, 'the rejoined participant\'s restarts are counted afresh');
  });

  it('never invites again after a refused restart when the limit allows none (maxRequests 0)', async () => {
    withRestartLimits({ maxRequests: 0 });
    await twoJoined();
    await accept('alice', 0);
    const sid = link.jingleTo('alice', 'session-initiate').at(-1)!.sid;
    const terminate = buildJingle({ action: 'session-terminate', sid, contents: [], groups: [], extensions: [], reason: { condition: 'success', extensions: [] }, bridgeSession: { restart: true } });
    assert.throws(() => conference.handleIq(jingleIq('alice', terminate), iq), (e: StanzaError) => e.condition === 'resource-constraint');
    await new Promise((resolve) => setTimeout(resolve, 50));
    conference.onPresence(occupant('bob'));
    await settle();
    assert.equal(link.jingleTo('alice', 'session-initiate').length, 1);
  });

  it('leaves the session of a participant notifying its ICE failure as it is, answering resource-constraint, when the limit allows no restart', async () => {
    withRestartLimits({ maxRequests: 0 });
    await twoJoined();
    await accept('alice', 0);
    await accept('bob', 1);
    const offer = link.jingleTo('alice', 'session-initiate')[0]!;
    const info = buildJingle({ action: 'session-info', sid: offer.sid, contents: [], groups: [], extensions: [], iceState: 'failed', bridgeSession: { id: offer.bridgeSession!.id! } });
    assert.throws(() => conference.handleIq(jingleIq('alice', info), iq), (e: StanzaError) => e.type === 'wait' && e.condition === 'resource-constraint');
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(link.jingleTo('alice', 'session-terminate').length, 0, 'her session is not ended');
    assert.equal(link.colibri.filter((m) => m.endpoints.some((e) => e.id === 'alice' && e.expire)).length, 0, 'nor her endpoint');
    assert.equal(link.jingleTo('alice', 'session-initiate').length, 1);
  });

  /** A bridge session the focus no longer has. */
  const STALE = '5e1d0c2b-aaaa-4bbb-8ccc-0d9e8f7a6b5c';
  /** Alice's bridge session, as her latest offer names it. */
  const current = () => link.jingleTo('alice', 'session-initiate').at(-1)!.bridgeSession!.id!;
  const aliceExpiries = () => link.colibri.filter((m) => m.endpoints.some((e) => e.id === 'alice' && e.expire)).length;

  /**
   * Before each test of the calling describe: alice and bob each in an accepted session, restart
   * requests limited on a clock the test moves (`clock.now`, ms).
   */
  function bothAcceptedOnClock(): { now: number } {
    const clock = { now: 0 };
    beforeEach(async () => {
      clock.now = 1_000_000;
      withRestartLimits({ now: () => clock.now });
      await twoJoined();
      await accept('alice', 0);
      await accept('bob', 1);
    });
    return clock;
  }

  describe('the bridge session a session-terminate names (Jicofo\'s terminateSession)', () => {
    bothAcceptedOnClock();

    /** Alice's session-terminate for her current Jingle session, with `bridgeSession` as given. */
    const terminate = (bridgeSession?: { id?: string; restart?: boolean }) => {
      const sid = link.jingleTo('alice', 'session-initiate').at(-1)!.sid;
      const jingle = buildJingle({
        action: 'session-terminate', sid, contents: [], groups: [], extensions: [], reason: { condition: 'success', extensions: [] },
        ...(bridgeSession ? { bridgeSession } : {}),
      });
      conference.handleIq(jingleIq('alice', jingle), iq);
    };
    /** A stale request is refused as Jicofo refuses it, and changes nothing. */
    async function refusedStale(bridgeSession: { id: string; restart?: boolean }): Promise<void> {
      assert.notEqual(current(), STALE);
      assert.throws(() => terminate(bridgeSession), (e: StanzaError) =>
        e.type === 'cancel' && e.condition === 'item-not-found' && e.text === `${STALE} is not a currently active session`);
      await settle();
      assert.equal(link.jingleTo('alice', 'session-initiate').length, 1, 'no new session');
      assert.equal(aliceExpiries(), 0, 'her endpoint is not expired');
      assert.equal(link.jingleTo('bob', 'source-remove').length, 0, 'bob still has her sources');
    }

    it('refuses a restart naming another bridge session with item-not-found; the current session goes on and the restart is not counted', async () => {
      await refusedStale({ id: STALE, restart: true });
      // At once (a counted request would make this one too soon): naming her bridge session, it restarts.
      terminate({ id: current(), restart: true });
      await settle();
      const offers = link.jingleTo('alice', 'session-initiate');
      assert.equal(offers.length, 2, 'the restart naming her bridge session is granted');
      assert.notEqual(offers[1]!.sid, offers[0]!.sid);
      assert.equal(aliceExpiries(), 1);
    });

    it('refuses a session-terminate without restart naming another bridge session, and the session is not ended', async () => {
      await refusedStale({ id: STALE });
      conference.onPresence(occupant('carol'));
      await settle();
      assert.equal(link.jingleTo('alice', 'session-initiate').length, 1);
      // Her session is still the focus's: a terminate naming her bridge session ends it.
      terminate({ id: current(), restart: false });
      await settle();
      assert.equal(aliceExpiries(), 1);
      assert.equal(link.jingleTo('bob', 'source-remove').at(-1)?.sources?.[0]?.owner, 'alice');
    });

    it('takes a restart naming no bridge session as for the current session (its sid names it)', async () => {
      await refusedStale({ id: STALE, restart: true });
      terminate({ restart: true });
      await settle();
      assert.equal(link.jingleTo('alice', 'session-initiate').length, 2, 'restarted');
      assert.equal(aliceExpiries(), 1);
    });
  });

  describe('an ICE failure notified in a session-info (Jicofo\'s onSessionInfo → iceFailed)', () => {
    const clock = bothAcceptedOnClock();

    /** Alice's session-info for her latest Jingle session, as lib-jitsi-meet's sendIceFailedNotification writes it. */
    const sessionInfo = (fields: { iceState?: string; bridgeSession?: Jingle['bridgeSession']; extensions?: Element[] }) => {
      const sid = link.jingleTo('alice', 'session-initiate').at(-1)!.sid;
      const jingle = buildJingle({ action: 'session-info', sid, contents: [], groups: [], extensions: fields.extensions ?? [], ...(fields.iceState === undefined ? {} : { iceState: fields.iceState }), ...(fields.bridgeSession ? { bridgeSession: fields.bridgeSession } : {}) });
      conference.handleIq(jingleIq('alice', jingle), iq);
    };
    const offers = () => link.jingleTo('alice', 'session-initiate').length;

    /** Nothing happened to alice's session or to what bob knows of her. */
    async function unchanged(): Promise<void> {
      await settle();
      assert.equal(offers(), 1, 'no new session');
      assert.equal(link.jingleTo('alice', 'session-terminate').length, 0, 'her session is not ended');
      assert.equal(aliceExpiries(), 0, 'her endpoint is not expired');
      assert.equal(link.jingleTo('bob', 'source-remove').length, 0, 'bob still has her sources');
    }

    it('ends the session ("moving") and invites the participant afresh, answering with a result', async () => {
      const first = link.jingleTo('alice', 'session-initiate')[0]!;
      sessionInfo({ iceState: 'failed', bridgeSession: { id: current() } });
      await settle();
      const [terminate] = link.jingleTo('alice', 'session-terminate');
      assert.equal(terminate?.sid, first.sid);
      assert.deepEqual(terminate?.reason && { condition: terminate.reason.condition, text: terminate.reason.text }, { condition: 'success', text: 'moving' });
      assert.equal(aliceExpiries(), 1, 'her endpoint is expired at the bridge');
      assert.equal(link.jingleTo('bob', 'source-remove').at(-1)?.sources?.[0]?.owner, 'alice', 'bob is told her sources are gone');
      assert.equal(offers(), 2, 'a new session is offered');
      assert.notEqual(link.jingleTo('alice', 'session-initiate')[1]!.sid, first.sid);
      assert.equal(link.jingleTo('bob', 'session-terminate').length, 0, 'bob keeps his session');
    });

    it('takes the state without regard to case, and a notification naming no bridge session as for the current one', async () => {
      sessionInfo({ iceState: 'FAILED' });
      await settle();
      assert.equal(offers(), 2);
      assert.equal(aliceExpiries(), 1);
    });

    it('ignores a notification for a bridge session already replaced, and other ICE states, with a result', async () => {
      sessionInfo({ iceState: 'failed', bridgeSession: { id: STALE } });
      sessionInfo({ iceState: 'connected', bridgeSession: { id: current() } });
      sessionInfo({ iceState: '', bridgeSession: { id: current() } });
      await unchanged();
    });

    it('refuses an in-place ICE restart with feature-not-implemented (Jicofo\'s answer when it is disabled)', async () => {
      assert.throws(() => sessionInfo({ bridgeSession: { id: current(), iceRestart: true } }),
        (e: StanzaError) => e.type === 'cancel' && e.condition === 'feature-not-implemented' && /in-place ICE restart/.test(e.text ?? ''));
      await unchanged();
    });

    it('answers an empty session-info (a ping) with a result, and one with an unknown payload, or a bridge session alone, with <unsupported-info/>', async () => {
      sessionInfo({});
      const unsupported = (e: StanzaError) => e.condition === 'feature-not-implemented' && e.application?.name === 'unsupported-info' && e.application.attrs.xmlns === 'urn:xmpp:jingle:errors:1';
      assert.throws(() => sessionInfo({ extensions: [new Element('ringing', { xmlns: 'urn:xmpp:jingle:apps:rtp:info:1' })] }), unsupported);
      assert.throws(() => sessionInfo({ bridgeSession: { id: current(), restart: true } }), unsupported);
      await unchanged();
    });


    it('counts notifications against the restart limit: one too soon ends the session, and the invitation follows once the limit allows', async () => {
      sessionInfo({ iceState: 'failed', bridgeSession: { id: current() } });
      await settle();
      assert.equal(offers(), 2);
      conference.handleIq(jingleIq('alice', sessionAcceptFor('alice', link.jingleTo('alice', 'session-initiate').at(-1)!.sid, 0)), iq);
      await settle();
      clock.now += 4_000;
      sessionInfo({ iceState: 'failed', bridgeSession: { id: current() } });
      await settle();
      assert.equal(link.jingleTo('alice', 'session-terminate').length, 2, 'the failed session is ended');
      assert.equal(aliceExpiries(), 2);
      conference.onPresence(occupant('bob'));
      await settle();
      assert.equal(offers(), 2, 'no new session yet');
      clock.now += 1_000;
      await new Promise((resolve) => setTimeout(resolve, 1_100));
      await settle();
      assert.equal(offers(), 3, 'invited again once the limit allows');
    });
  });

  it('after session-terminate without restart expires the endpoint and invites the participant again only once it rejoins', async () => {
    await twoJoined();
    await accept('alice', 0);
    await accept('bob', 1);
    const sid = link.jingleTo('alice', 'session-initiate')[0]!.sid;
    const terminate = buildJingle({ action: 'session-terminate', sid, contents: [], groups: [], extensions: [], reason: { condition: 'success', extensions: [] } });
    conference.handleIq(jingleIq('alice', terminate), iq);
    await settle();
    assert.ok(link.colibri.some((m) => m.endpoints.some((e) => e.id === 'alice' && e.expire)));
    assert.equal(link.jingleTo('bob', 'source-remove').at(-1)?.sources?.[0]?.owner, 'alice');
    conference.onPresence(occupant('bob')); // any presence (bob mutes)
    conference.onPresence(occupant('carol'));
    await settle();
    assert.equal(link.jingleTo('alice', 'session-initiate').length, 1, 'alice, who ended her session, is not invited again');
    assert.equal(link.jingleTo('carol', 'session-initiate').length, 1);
    conference.onPresence(occupant('alice', { type: 'unavailable', role: 'none' }));
    conference.onPresence(occupant('alice'));
    await settle();
    assert.equal(link.jingleTo('alice', 'session-initiate').length, 2, 'she is invited again when she rejoins');
  });

  it('says bridgeNotAvailable in the focus presence when no bridge is known, and invites once one appears', async () => {
    selector.onBreweryPresence(new Element('presence', { from: 'jvbbrewery@internal-muc.meet.jitsi/jvb1', type: 'unavailable' }));
    link.sent.length = 0;
    await twoJoined();
    const flagged = link.sent.find((s) => s.name === 'presence' && s.getChild('bridgeNotAvailable', NS_FOCUS));
    assert.ok(flagged, 'focus presence with bridgeNotAvailable');
    assert.equal(link.jingle.size, 0);
    selector.onBreweryPresence(breweryPresence());
    conference.bridgesChanged();
    await settle();
    assert.equal(link.jingleTo('alice', 'session-initiate').length, 1);
    const last = link.sent.filter((s) => s.name === 'presence').at(-1)!;
    assert.equal(last.getChild('bridgeNotAvailable', NS_FOCUS), undefined);
  });

  it('forwards a moderator\'s mute to the target with the actor, and refuses a non-moderator', async () => {
    conference.onPresence(occupant('alice', { role: 'moderator' }));
    conference.onPresence(occupant('bob'));
    const mute = (from: string, target: string) => new Element('iq', { type: 'set', from: `${ROOM}/${from}`, to: `${ROOM}/focus`, id: 'm1' })
      .c('mute', { xmlns: 'http://jitsi.org/jitmeet/audio', jid: `${ROOM}/${target}` }).t('true').root();
    assert.throws(() => conference.handleIq(mute('bob', 'alice'), iq), (e: StanzaError) => e.condition === 'forbidden');
    link.sent.length = 0;
    conference.handleIq(mute('alice', 'bob'), iq);
    const forwarded = link.sent.find((s) => s.name === 'iq' && s.getChild('mute'));
    assert.equal(forwarded?.attrs.to, `${ROOM}/bob`);
    assert.equal(forwarded?.getChild('mute')?.attrs.actor, `${ROOM}/alice`);
    assert.equal(forwarded?.getChild('mute')?.getText(), 'true');
  });

  it('leaves a recorder and a SIP gateway without audio mute out of moderation, as Jicofo: no mute asked, none at the bridge, a moderator\'s mute refused', async () => {
    const JIGASI = 'http://jitsi.org/protocol/jigasi';
    link.strictBridge = true;
    conference.onPresence(occupant('alice', { role: 'moderator' }));
    conference.onPresence(occupant('bob'));
    conference.onPresence(occupant('sip', { features: [JIGASI] }));
    conference.onPresence(occupant('sipmute', { features: [JIGASI, 'http://jitsi.org/protocol/audio-mute'] }));
    conference.onPresence(occupant('recorder', { features: ['http://jitsi.org/protocol/jibri'] }));
    await settle();
    link.sent.length = 0;
    conference.onAvModeration({ kind: 'enabled', room: ROOM, mediaType: 'audio', enabled: true, actor: `${ROOM}/alice` });
    await settle();
    const asked = link.sent.filter((s) => s.name === 'iq' && s.getChild('mute')).map((s) => String(s.attrs.to).slice(ROOM.length + 1)).sort();
    assert.deepEqual(asked, ['bob', 'sipmute'], 'asked to mute: the participant, and the gateway that can');
    const muted = link.bridgeForceMute.get(BRIDGE)!;
    assert.deepEqual(muted.get('bob'), { audio: true, video: false });
    assert.deepEqual(muted.get('sipmute'), { audio: true, video: false });
    assert.deepEqual(muted.get('sip'), NOT_FORCE_MUTED, 'the caller on the SIP side stays heard');
    assert.deepEqual(muted.get('recorder'), NOT_FORCE_MUTED);
    const mute = (target: string) => new Element('iq', { type: 'set', from: `${ROOM}/alice`, to: `${ROOM}/focus`, id: 'm2' })
      .c('mute', { xmlns: 'http://jitsi.org/jitmeet/audio', jid: `${ROOM}/${target}` }).t('true').root();
    for (const target of ['sip', 'recorder']) assert.throws(() => conference.handleIq(mute(target), iq), (e: StanzaError) => e.condition === 'not-allowed', target);
    link.sent.length = 0;
    conference.handleIq(mute('sipmute'), iq);
    assert.equal(link.sent.find((s) => s.name === 'iq' && s.getChild('mute'))?.attrs.to, `${ROOM}/sipmute`);
  });
});

describe('focus/conference-media moving a conference off a failed bridge (Jicofo bridgeRemoved → re-invite)', () => {
  const JVB2 = 'jvb@auth.meet.jitsi/jvb2';
  let link: FakeLink;
  let iq: IqCaller;
  let selector: BridgeSelector;
  let conference: Conference;

  function setup(timeoutMs = 60_000): void {
    link = new FakeLink();
    iq = new IqCaller((s) => link.send(s), timeoutMs);
    link.iq = iq;
    selector = new BridgeSelector();
    selector.onBreweryPresence(breweryPresence('jvb1', '0.1'));
    selector.onBreweryPresence(breweryPresence('jvb2', '0.5'));
    conference = new Conference(link, pino({ level: 'silent' }), {
      roomJid: ROOM, focusVersion: 'test', idleTimeoutMs: 3_600_000, onEnded: () => undefined,
      media: { iq, selector, focusJid: FOCUS },
    });
    conference.onPresence(occupant('focus', { jid: FOCUS, role: 'moderator', statuses: [110] }));
  }

  afterEach(() => {
    conference.end('test over');
    iq.close();
  });

  /** Polls (the fake answers and IqCaller timeouts run on their own) until `check` holds. */
  async function until(check: () => boolean, what: string): Promise<void> {
    const deadline = Date.now() + 5_000;
    while (!check()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  /** The participant accepts its latest session-initiate. */
  async function acceptLatest(nick: string, offset: number): Promise<void> {
    const sid = link.jingleTo(nick, 'session-initiate').at(-1)!.sid;
    conference.handleIq(jingleIq(nick, sessionAcceptFor(nick, sid, offset)), iq);
    await settle();
  }

  async function bothOnJvb1(): Promise<void> {
    conference.onPresence(occupant('alice'));
    conference.onPresence(occupant('bob'));
    await settle();
    await acceptLatest('alice', 0);
    await acceptLatest('bob', 1);
    assert.ok(link.colibriTo.every((to) => to === BRIDGE), 'the least stressed bridge was chosen');
  }

  function transportInfo(nick: string): Element {
    return transportInfoIq(nick, link.jingleTo(nick, 'session-initiate').at(-1)!.sid);
  }

  /** The participant's Jingle requests, in order, as `action sid`. */
  const script = (nick: string) => (link.jingle.get(nick) ?? []).map((j) => `${j.action} ${j.sid}`);

  function assertMoved(nick: string, prefix: string, sameBridge = false): void {
    const offers = link.jingleTo(nick, 'session-initiate');
    assert.equal(offers.length, 2, `${nick} is invited again`);
    const [terminate] = link.jingleTo(nick, 'session-terminate');
    assert.ok(terminate, `${nick} gets session-terminate`);
    assert.equal(terminate.sid, offers[0]!.sid, 'for its old session');
    assert.deepEqual([terminate.reason?.condition, terminate.reason?.text], ['success', 'moving'], 'Jicofo\'s reason when it moves a participant');
    assert.equal(terminate.initiator, FOCUS);
    const order = script(nick);
    assert.ok(order.indexOf(`session-terminate ${offers[0]!.sid}`) < order.indexOf(`session-initiate ${offers[1]!.sid}`), 'terminate first, then the new offer');
    assert.notEqual(offers[1]!.sid, offers[0]!.sid);
    assert.equal(offers[1]!.contents[0]!.transport!.ufrag, `${prefix}-${nick}`, 'the new offer carries the other bridge\'s transport');
    if (sameBridge) assert.equal(offers[1]!.bridgeSession?.id, offers[0]!.bridgeSession?.id, 'the same bridge session');
    else assert.notEqual(offers[1]!.bridgeSession?.id, offers[0]!.bridgeSession?.id, 'a new bridge session');
  }

  it('moves every participant to another bridge when its bridge leaves the brewery, and Colibri2 follows', async () => {
    setup();
    await bothOnJvb1();
    const before = link.colibri.length;
    selector.onBreweryPresence(new Element('presence', { from: 'jvbbrewery@internal-muc.meet.jitsi/jvb1', type: 'unavailable' }));
    conference.bridgesChanged();
    await settle();
    assertMoved('alice', 'jvb2');
    assertMoved('bob', 'jvb2');
    const after = link.colibri.slice(before).map((m, i) => ({ m, to: link.colibriTo[before + i] }));
    assert.deepEqual(after.filter(({ to }) => to === BRIDGE).map(({ m }) => m.expire), [true], 'the old bridge is only told to expire the conference');
    const created = after.filter(({ to }) => to === JVB2);
    assert.equal(created.filter(({ m }) => m.create).length, 1, 'one new Colibri2 conference on the other bridge');
    assert.deepEqual(created.flatMap(({ m }) => m.endpoints.filter((e) => e.create).map((e) => e.id)).sort(), ['alice', 'bob']);
    assert.ok(created.every(({ m }) => m.meetingId === 'meeting-1'));
    // the new sessions run on the new bridge: same sources accepted again, updates go to jvb2
    await acceptLatest('alice', 0);
    await acceptLatest('bob', 1);
    assert.equal(link.colibriTo.at(-1), JVB2);
    assert.equal(link.colibri.at(-1)!.endpoints[0]!.sources!.length > 0, true);
    const add = link.jingleTo('bob', 'source-add').at(-1);
    assert.equal(add?.sid, link.jingleTo('bob', 'session-initiate')[1]!.sid, 'bob learns alice\'s sources on his new session');
  });

  it('moves every participant to another bridge when its bridge says it is unhealthy (Jicofo bridgeFailedHealthCheck)', async () => {
    setup();
    await bothOnJvb1();
    const unhealthy = new Element('presence', { from: 'jvbbrewery@internal-muc.meet.jitsi/jvb1', to: FOCUS });
    unhealthy.c('x', { xmlns: NS_MUC_USER }).c('item', { jid: BRIDGE, role: 'participant', affiliation: 'none' });
    unhealthy.cnode(buildColibriStats({ stress_level: '0.1', drain: 'false', healthy: 'false' }));
    selector.onBreweryPresence(unhealthy);
    conference.bridgesChanged();
    await settle();
    assertMoved('alice', 'jvb2');
    assertMoved('bob', 'jvb2');
  });

  it('marks a bridge that stops answering Colibri2 as failed and moves the conference off it', async () => {
    setup(40);
    await bothOnJvb1();
    link.silent.add(BRIDGE);
    conference.handleIq(transportInfo('alice'), iq);
    await until(() => link.jingleTo('bob', 'session-initiate').length === 2 && link.jingleTo('alice', 'session-initiate').length === 2, 'both re-invited');
    assert.equal(selector.isOperational(BRIDGE), false, 'its presence is still there, but it is not operational');
    assert.equal(selector.select()?.jid, JVB2);
    assertMoved('alice', 'jvb2');
    assertMoved('bob', 'jvb2');
  });

  it('re-invites only the participant whose endpoint the bridge expired (unknown_endpoint)', async () => {
    setup();
    await bothOnJvb1();
    link.failNext = {
      when: (m) => m.endpoints.some((e) => e.id === 'alice' && !e.create && !e.expire),
      error: Colibri2Error.unknownEndpoint('alice').toElement(),
    };
    conference.handleIq(transportInfo('alice'), iq);
    await settle();
    assertMoved('alice', 'bridge', true);
    assert.equal(link.jingleTo('bob', 'session-initiate').length, 1, 'bob keeps his session');
    assert.equal(link.jingleTo('bob', 'session-terminate').length, 0);
    assert.equal(link.jingleTo('bob', 'source-remove').at(-1)?.sources?.[0]?.owner, 'alice', 'bob is told alice\'s sources are gone until she accepts again');
    assert.ok(link.colibriTo.every((to) => to === BRIDGE), 'the bridge stays');
    assert.equal(selector.isOperational(BRIDGE), true);
  });

  it('leaves alone the session that replaced an endpoint when the bridge answers a late update of the old one with unknown_endpoint', async () => {
    setup();
    await bothOnJvb1();
    const creates = () => link.colibri.flatMap((m) => m.endpoints).filter((e) => e.id === 'alice' && e.create).length;
    assert.equal(creates(), 1);
    // A bridge that answers slowly (another machine), which expired alice's endpoint on its own.
    link.holdBridge = true;
    link.failNext = { when: (m) => m.endpoints.some((e) => e.id === 'alice' && !e.create && !e.expire), error: Colibri2Error.unknownEndpoint('alice').toElement() };
    // Her transport-info goes to the bridge for the old endpoint; before its answer, her client restarts the session.
    conference.handleIq(transportInfo('alice'), iq);
    await settle();
    const sid = link.jingleTo('alice', 'session-initiate').at(-1)!.sid;
    const terminate = buildJingle({ action: 'session-terminate', sid, contents: [], groups: [], extensions: [], reason: { condition: 'success', extensions: [] }, bridgeSession: { restart: true } });
    conference.handleIq(jingleIq('alice', terminate), iq);
    await settle();
    // The bridge answers in order: unknown_endpoint for the old endpoint's update, then the restart's expire and create.
    link.releaseBridge();
    for (let i = 0; i < 5; i++) await settle();
    assert.equal(creates(), 2, 'one new allocation for the one restart, not a second for the late error');
    assert.equal(link.jingleTo('alice', 'session-initiate').length, 2, 'one new offer');
  });

  it('waits with bridgeNotAvailable when no other bridge is left, and invites everyone on the next one', async () => {
    setup();
    selector.onBreweryPresence(new Element('presence', { from: 'jvbbrewery@internal-muc.meet.jitsi/jvb2', type: 'unavailable' }));
    await bothOnJvb1();
    link.sent.length = 0;
    selector.onBreweryPresence(new Element('presence', { from: 'jvbbrewery@internal-muc.meet.jitsi/jvb1', type: 'unavailable' }));
    conference.bridgesChanged();
    await settle();
    for (const nick of ['alice', 'bob']) {
      assert.equal(link.jingleTo(nick, 'session-terminate').length, 1);
      assert.equal(link.jingleTo(nick, 'session-initiate').length, 1, 'nowhere to go yet');
    }
    assert.ok(link.sent.some((s) => s.name === 'presence' && s.getChild('bridgeNotAvailable', NS_FOCUS)), 'the focus presence says bridgeNotAvailable');
    selector.onBreweryPresence(breweryPresence('jvb2'));
    conference.bridgesChanged();
    await settle();
    assertMoved('alice', 'jvb2');
    assertMoved('bob', 'jvb2');
    assert.equal(link.sent.filter((s) => s.name === 'presence').at(-1)!.getChild('bridgeNotAvailable', NS_FOCUS), undefined);
  });

  it('takes back its own stale conference when the bridge still holds the meeting id (conference_already_exists)', async () => {
    setup();
    link.failNext = { when: (m) => m.create === true, error: Colibri2Error.conferenceAlreadyExists('meeting-1').toElement() };
    conference.onPresence(occupant('alice'));
    conference.onPresence(occupant('bob'));
    await settle();
    const kinds = link.colibri.map((m) => (m.create ? 'create' : m.expire ? 'expire' : m.endpoints.map((e) => e.id).join()));
    assert.deepEqual(kinds, ['create', 'expire', 'create', 'bob'], 'expire, then create again, before the second allocation');
    assert.equal(link.jingleTo('alice', 'session-initiate').length, 1);
    assert.equal(link.jingleTo('bob', 'session-initiate').length, 1);
    assert.equal(link.jingleTo('alice', 'session-terminate').length + link.jingleTo('bob', 'session-terminate').length, 0);
  });

  it('expires on the conference it creates again the endpoint of a creator who left meanwhile (conference_already_exists)', async () => {
    setup();
    link.holdBridge = true;
    link.failNext = { when: (m) => m.create === true, error: Colibri2Error.conferenceAlreadyExists('meeting-1').toElement() };
    conference.onPresence(occupant('alice'));
    conference.onPresence(occupant('bob'));
    conference.onPresence(occupant('carol'));
    await settle();
    const creator = link.colibri.find((m) => m.create)!.endpoints[0]!.id;
    conference.onPresence(occupant(creator, { type: 'unavailable', role: 'none' }));
    await settle();
    link.releaseBridge();
    for (let i = 0; i < 8; i++) await settle();
    const recreated = link.colibri.findLastIndex((m) => m.create === true);
    assert.ok(recreated > 0 && link.colibri[recreated]!.endpoints.some((e) => e.id === creator), 'the retried creation carries it (sent before it left)');
    const expiredAfter = link.colibri.slice(recreated + 1).some((m) => m.endpoints.some((e) => e.id === creator && e.expire));
    assert.ok(expiredAfter, `${creator} is expired on the new conference, not left on the bridge`);
    const others = ['alice', 'bob', 'carol'].filter((nick) => nick !== creator);
    for (const nick of others) assert.equal(link.jingleTo(nick, 'session-initiate').length, 1, `${nick} is offered a session`);
  });
});
