import assert from 'node:assert/strict';
import { Element } from 'ltx';
import { ColibriSession, colibriFailure } from '../../../focus/colibri-session.ts';
import { IqCaller } from '../../../focus/iq-caller.ts';
import { StanzaError } from '../../../xmpp/errors.ts';
import { buildConferenceModified, Colibri2Error, parseConferenceModify, type Colibri2Endpoint, type ConferenceModify } from '../../../xmpp/protocol/colibri2.ts';
import { buildIceUdpTransport } from '../../../xmpp/protocol/jingle-ice.ts';

const BRIDGE = 'jvb@auth.example/jvb1';
const FOCUS = 'focus@auth.example/focus';

/** A rejection as IqCaller makes it from an error reply. */
function rejected(error: StanzaError): StanzaError {
  const reply = new Element('iq', { type: 'error', from: 'jvb@auth.example/jvb1' }).cnode(error.toElement()).root();
  return Object.assign(new StanzaError(error.type, error.condition, error.text), { reply });
}

describe('what a failed Colibri2 request means (Jicofo ColibriV2SessionManager.handleResponse)', () => {
  const cases: Array<[string, unknown, string]> = [
    ['no answer (IqCaller timeout)', new StanzaError('wait', 'remote-server-timeout', 'no answer from jvb'), 'bridge-failed'],
    ['the focus stopping (no reply)', new StanzaError('wait', 'service-unavailable', 'the focus is stopping'), 'refused'],
    ['bad-request', rejected(StanzaError.badRequest('oops')), 'refused'],
    ['conference_not_found', rejected(Colibri2Error.conferenceNotFound('m')), 'session-lost'],
    ['item-not-found from the MUC (no reason)', rejected(new StanzaError('cancel', 'item-not-found')), 'refused'],
    ['conference_already_exists', rejected(Colibri2Error.conferenceAlreadyExists('m')), 'session-lost'],
    ['graceful_shutdown', rejected(Colibri2Error.gracefulShutdown()), 'session-lost'],
    ['service-unavailable from the server (bridge offline)', rejected(new StanzaError('cancel', 'service-unavailable')), 'bridge-failed'],
    ['internal-server-error', rejected(new StanzaError('wait', 'internal-server-error')), 'bridge-failed'],
    ['unknown_endpoint', rejected(Colibri2Error.unknownEndpoint('alice')), 'endpoint-lost'],
  ];
  for (const [what, err, kind] of cases) {
    it(`${what}: ${kind}`, () => assert.equal(colibriFailure(err).kind, kind));
  }

  it('names the endpoint the bridge lost, and marks a graceful shutdown', () => {
    assert.deepEqual(colibriFailure(rejected(Colibri2Error.unknownEndpoint('alice'))), { kind: 'endpoint-lost', endpointId: 'alice', reason: 'item-not-found (unknown_endpoint): Endpoint not found for ID: alice' });
    const shutdown = colibriFailure(rejected(Colibri2Error.gracefulShutdown()));
    assert.equal(shutdown.kind === 'session-lost' && shutdown.shuttingDown, true);
  });
});

/** The bridge, answered by the test: each request waits until the test answers or fails it. */
class AnsweredBridge {
  readonly requests: Array<{ id: string; modify: ConferenceModify }> = [];
  readonly iq = new IqCaller((iq) => this.requests.push({ id: String(iq.attrs.id), modify: parseConferenceModify(iq.getChildElements()[0]!) }), 60_000);

  /** Answers request `index` as a bridge that did what it asked. */
  answer(index: number): void {
    const { id, modify } = this.requests[index]!;
    const endpoints = modify.endpoints.filter((e) => e.create).map((e) => ({
      id: e.id, media: [], capabilities: [],
      transport: { iceUdp: buildIceUdpTransport({ ufrag: `u-${e.id}`, pwd: 'p'.repeat(24), rtcpMux: true, extensions: [], webSockets: [], fingerprints: [], candidates: [] }) },
    }));
    this.iq.handleReply(new Element('iq', { type: 'result', id, from: BRIDGE, to: FOCUS }).cnode(buildConferenceModified({ endpoints, relays: [] })).root());
  }

  fail(index: number, error: StanzaError): void {
    this.iq.handleReply(new Element('iq', { type: 'error', id: this.requests[index]!.id, from: BRIDGE, to: FOCUS }).cnode(error.toElement()).root());
  }

  /**
   * Each request as `create`, `expire` (the conference) and, per endpoint, `id+` / `id-`, or for an
   * update what it sets (`id:force-mute=audio`, `id:sources=…`, `id:transport`).
   */
  script(): string[] {
    return this.requests.map(({ modify: m }) => [m.create ? 'create' : '', m.expire ? 'expire' : '', ...m.endpoints.map(endpointScript)].filter(Boolean).join(' '));
  }
}

function endpointScript(e: Colibri2Endpoint): string {
  if (e.create) return `${e.id}+`;
  if (e.expire) return `${e.id}-`;
  return [
    e.id,
    ...(e.forceMute ? [`force-mute=${[e.forceMute.audio ? 'audio' : '', e.forceMute.video ? 'video' : ''].filter(Boolean).join(',') || 'none'}`] : []),
    ...(e.sources ? [`sources=${e.sources.map((source) => source.id).join(',')}`] : []),
    ...(e.transport ? ['transport'] : []),
  ].join(':');
}

const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('focus/colibri-session: the conference creation, and the allocations waiting for it', () => {
  let bridge: AnsweredBridge;
  let session: ColibriSession;

  beforeEach(() => {
    bridge = new AnsweredBridge();
    session = new ColibriSession(bridge.iq, BRIDGE, 'meeting-1', 'room@muc.example');
  });

  afterEach(() => bridge.iq.close());

  it('never sends the allocation of an endpoint expired while it waited for the creation, nor its expiry', async () => {
    const alice = session.allocate('alice', { media: [] });
    const refused = assert.rejects(session.allocate('carol', { media: [] }), /expired before it was sent/);
    await settle();
    assert.deepEqual(bridge.script(), ['create alice+'], 'carol waits for the conference');
    const expiry = session.expireEndpoint('carol'); // carol left
    bridge.answer(0);
    await alice;
    await settle();
    assert.ok(!bridge.script().includes('carol+'), 'carol is not created on the bridge after she left');
    assert.deepEqual(bridge.script(), ['create alice+'], 'nor expired: her allocation never went out');
    await expiry;
    await refused;
    assert.equal(session.endpointCount, 1);
  });

  it('sends the allocation made again under the same id, once, and not the expired one', async () => {
    const alice = session.allocate('alice', { media: [] });
    const refused = assert.rejects(session.allocate('carol', { media: [] }), /expired before it was sent/);
    await settle();
    const expiry = session.expireEndpoint('carol');
    const again = session.allocate('carol', { media: [] }); // carol rejoined under her nick
    bridge.answer(0);
    await alice;
    await settle();
    assert.deepEqual(bridge.script(), ['create alice+', 'carol+'], 'one allocation of carol: the one made again');
    await expiry;
    await refused;
    bridge.answer(1);
    assert.equal((await again).endpoint.id, 'carol');
    const lastExpiry = session.expireEndpoint('carol');
    assert.deepEqual(bridge.script(), ['create alice+', 'carol+', 'carol-'], 'the allocation that went out is expired');
    bridge.answer(2);
    await lastExpiry;
  });

  it('does not create the conference again after taking back a stale one if the session was expired meanwhile', async () => {
    const refused = assert.rejects(session.allocate('alice', { media: [] }), /was expired/);
    await settle();
    bridge.fail(0, Colibri2Error.conferenceAlreadyExists('meeting-1'));
    await settle();
    assert.deepEqual(bridge.script(), ['create alice+', 'expire'], 'the stale conference is expired first');
    const expiry = session.expire(); // the conference ended, or moved off the bridge
    assert.deepEqual(bridge.script(), ['create alice+', 'expire', 'expire']);
    bridge.answer(1);
    bridge.answer(2);
    await expiry;
    await settle();
    assert.deepEqual(bridge.script(), ['create alice+', 'expire', 'expire'], 'no conference is created after its expiry');
    await refused;
  });
});

describe('focus/colibri-session: updates made while the endpoint\'s allocation waits for the bridge', () => {
  let bridge: AnsweredBridge;
  let session: ColibriSession;
  const mute = { forceMute: { audio: true } };
  const sources = { sources: [{ type: 'audio' as const, id: 'bob-a0', sources: [], ssrcGroups: [] }] };

  beforeEach(() => {
    bridge = new AnsweredBridge();
    session = new ColibriSession(bridge.iq, BRIDGE, 'meeting-1', 'room@muc.example');
  });

  afterEach(() => bridge.iq.close());

  it('sends a force-mute and a sources update made while the conference is created after the endpoint\'s create is answered, in order', async () => {
    const alice = session.allocate('alice', { media: [] });
    const bob = session.allocate('bob', { media: [] });
    const updates = [session.update('bob', mute), session.update('bob', sources)];
    await settle();
    assert.deepEqual(bridge.script(), ['create alice+'], 'bob\'s updates wait with his allocation');
    bridge.answer(0);
    await alice;
    await settle();
    assert.deepEqual(bridge.script(), ['create alice+', 'bob+'], 'they wait for the answer to bob\'s create too');
    const later = session.update('bob', { forceMute: { audio: false } }); // lifted before bob is answered
    bridge.answer(1);
    await bob;
    await settle();
    assert.deepEqual(bridge.script(), ['create alice+', 'bob+', 'bob:force-mute=audio', 'bob:sources=bob-a0', 'bob:force-mute=none']);
    for (const index of [2, 3, 4]) bridge.answer(index);
    await Promise.all([...updates, later]);
  });

  it('sends a force-mute of the conference\'s first endpoint after the conference\'s creation is answered', async () => {
    const alice = session.allocate('alice', { media: [] });
    const update = session.update('alice', mute);
    await settle();
    assert.deepEqual(bridge.script(), ['create alice+']);
    bridge.answer(0);
    await alice;
    await settle();
    assert.deepEqual(bridge.script(), ['create alice+', 'alice:force-mute=audio']);
    bridge.answer(1);
    await update;
  });

  /** Each way bob's allocation ends before it is answered; each answers alice's creation too. */
  const expiries: Array<{ what: string; expire: () => Promise<void>; script: string[]; endpoints: number; allocated: boolean }> = [
    {
      what: 'the endpoint expired before its create went out',
      expire: async () => {
        const expiry = session.expireEndpoint('bob');
        bridge.answer(0);
        await expiry;
      },
      script: ['create alice+'],
      endpoints: 1,
      allocated: false,
    },
    {
      what: 'the endpoint expired while its create waited for its answer',
      expire: async () => {
        bridge.answer(0);
        await settle();
        const expiry = session.expireEndpoint('bob');
        bridge.answer(1);
        bridge.answer(2);
        await expiry;
      },
      script: ['create alice+', 'bob+', 'bob-'],
      endpoints: 1,
      allocated: true, // its caller, told of the expiry, drops it
    },
    {
      what: 'the conference expired (closed, or moved off the bridge)',
      expire: async () => {
        const expiry = session.expire();
        bridge.answer(0);
        bridge.answer(1);
        await expiry;
      },
      script: ['create alice+', 'expire'],
      endpoints: 0,
      allocated: false,
    },
  ];
  for (const { what, expire, script, endpoints, allocated } of expiries) {
    it(`never sends an update made while the allocation waited when ${what}`, async () => {
      const alice = session.allocate('alice', { media: [] });
      const bob = session.allocate('bob', { media: [] });
      const update = session.update('bob', mute);
      await settle();
      assert.deepEqual(bridge.script(), ['create alice+'], 'the update waits with the allocation');
      await expire();
      await alice;
      if (allocated) assert.equal((await bob).endpoint.id, 'bob');
      else await assert.rejects(bob, /expired/);
      await settle();
      assert.deepEqual(bridge.script(), script);
      await update; // settled, without an error
      assert.equal(session.endpointCount, endpoints);
    });
  }

  it('drops an update of an allocation the bridge refused, without an error', async () => {
    const alice = session.allocate('alice', { media: [] });
    const bob = assert.rejects(session.allocate('bob', { media: [] }), (err: StanzaError) => err.condition === 'bad-request');
    const update = session.update('bob', mute);
    await settle();
    assert.deepEqual(bridge.script(), ['create alice+'], 'the update waits with the allocation');
    bridge.answer(0);
    await alice;
    await settle();
    bridge.fail(1, StanzaError.badRequest('no such codec'));
    await bob;
    await settle();
    assert.deepEqual(bridge.script(), ['create alice+', 'bob+'], 'the update is not sent');
    await update;
  });

  it('drops an update of the first endpoint when the conference\'s creation fails, without an error', async () => {
    const alice = assert.rejects(session.allocate('alice', { media: [] }), (err: StanzaError) => err.condition === 'internal-server-error');
    const update = session.update('alice', mute);
    await settle();
    bridge.fail(0, new StanzaError('wait', 'internal-server-error'));
    await alice;
    await settle();
    assert.deepEqual(bridge.script(), ['create alice+']);
    await update;
  });
});
