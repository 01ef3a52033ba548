import assert from 'node:assert/strict';
import { Element } from 'ltx';
import { ColibriSession, colibriFailure } from '../../../focus/colibri-session.ts';
import { IqCaller } from '../../../focus/iq-caller.ts';
import { StanzaError } from '../../../xmpp/errors.ts';
import { buildConferenceModified, Colibri2Error, parseConferenceModify, type ConferenceModify } from '../../../xmpp/protocol/colibri2.ts';
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

  /** Each request as `create`, `expire` (the conference) and `id+` / `id-` per endpoint. */
  script(): string[] {
    return this.requests.map(({ modify: m }) => [m.create ? 'create' : '', m.expire ? 'expire' : '', ...m.endpoints.map((e) => `${e.id}${e.create ? '+' : e.expire ? '-' : ''}`)].filter(Boolean).join(' '));
  }
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
