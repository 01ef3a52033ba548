/**
 * The bridge channel's bridge-side messages over real sockets: the focus account allocates
 * endpoints over XMPP (Colibri2) on a bridge whose media endpoints are stand-ins carrying real RTP
 * bytes, and each endpoint opens its colibri-ws WebSocket. Receivers' ReceiverVideoConstraints
 * decide which RTP copies the stand-ins are handed; audio levels elect the dominant speaker.
 * The speech clock is manual, so nothing waits on wall-clock time but the sockets themselves.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import WebSocket from 'ws';
import { inProcessLink, startBridge, type Bridge } from '../../bridge/index.ts';
import { parseConferenceModified } from '../../xmpp/protocol/colibri2.ts';
import { parseIceUdpTransport } from '../../xmpp/protocol/jingle-ice.ts';
import { rtxRtp } from '../unit/bridge/rtp/fixtures.ts';
import { connectClient, startTestServer, stopClient, xml, type TestServer } from './harness.ts';
import { FakeEndpoint } from '../unit/bridge/fake-endpoint.ts';
import { openChannel, until, type Channel } from './channel-client.ts';

const BRIDGE = 'jvb-channel-test';
const NS_SSMA = 'urn:xmpp:jingle:apps:rtp:ssma:0';
const A = 'aaaa1111';
const B = 'bbbb2222';
/** SSRCs of A: microphone, camera (with RTX), screen share; and of B: microphone, camera. */
const A_AUDIO = 1111;
const A_CAMERA = 1200;
const A_CAMERA_RTX = 1201;
const A_SCREEN = 1300;
const B_AUDIO = 2111;
const B_CAMERA = 2200;


/** RTP with the RFC 6464 audio level in one-byte header extension 1 when `level` is given. */
function rtp(ssrc: number, seq: number, level?: number): Buffer {
  const header = Buffer.alloc(12);
  header[0] = level === undefined ? 0x80 : 0x90;
  header[1] = level === undefined ? 100 : 111;
  header.writeUInt16BE(seq & 0xffff, 2);
  header.writeUInt32BE(seq * 960, 4);
  header.writeUInt32BE(ssrc, 8);
  const extension = level === undefined ? Buffer.alloc(0) : Buffer.from([0xbe, 0xde, 0x00, 0x01, 0x10, level, 0x00, 0x00]);
  return Buffer.concat([header, extension, Buffer.alloc(40, 0xab)]);
}

describe('the bridge channel drives forwarding (colibri-ws, Colibri2 over XMPP)', function () {
  this.timeout(30_000);
  let server: TestServer;
  let bridge: Bridge;
  let channelServer: Server;
  let channelOrigin: string;
  let speechClock = 0;
  const endpoints = new Map<string, FakeEndpoint>();
  let focus: Awaited<ReturnType<typeof connectClient>>;
  const open: WebSocket[] = [];
  let meeting = 0;

  before(async () => {
    server = await startTestServer();
    bridge = startBridge(inProcessLink(server.salon.xmpp), pino({ level: 'silent' }), {
      id: BRIDGE, user: 'jvb@auth.meet.jitsi', brewery: 'jvbbrewery@internal-muc.meet.jitsi', version: '0.1.0',
      publicWebSocketOrigin: 'wss://meet.example',
      createEndpoint: (id) => {
        const endpoint = new FakeEndpoint(id);
        endpoints.set(id, endpoint);
        return endpoint;
      },
      now: () => speechClock,
    });
    channelServer = createServer((_req, res) => res.writeHead(404).end());
    channelServer.on('upgrade', (req, socket, head) => bridge.channel.handleUpgrade(req, socket, head));
    await new Promise<void>((resolve) => channelServer.listen(0, '127.0.0.1', resolve));
    channelOrigin = `ws://127.0.0.1:${(channelServer.address() as AddressInfo).port}`;
    focus = await connectClient({ service: server.wsUrl, domain: 'auth.meet.jitsi', username: 'focus', password: server.salon.secrets.focusPassword, resource: 'channel-forwarding' });
  });

  afterEach(() => {
    for (const ws of open.splice(0)) ws.terminate();
    endpoints.clear();
  });

  after(async () => {
    await stopClient(focus.client);
    bridge.close();
    await new Promise((resolve) => channelServer.close(resolve));
    await server.close();
  });

  const source = (ssrc: number, name: string, videoType?: string) => xml('source', { xmlns: NS_SSMA, ssrc: String(ssrc), name, ...(videoType ? { videoType } : {}) });
  const mediaSource = (type: string, id: string, ...children: ReturnType<typeof xml>[]) => xml('media-source', { type, id }, ...children);

  /** Allocates A (microphone, camera + RTX, screen share) and B (microphone, camera) and opens both channels. */
  async function conference(): Promise<{ a: Channel; b: Channel; epA: FakeEndpoint; epB: FakeEndpoint }> {
    const meetingId = `meeting-${++meeting}`;
    const audioLevel = xml('media', { type: 'audio' },
      xml('rtp-hdrext', { xmlns: 'urn:xmpp:jingle:apps:rtp:rtp-hdrext:0', id: '1', uri: 'urn:ietf:params:rtp-hdrext:ssrc-audio-level' }));
    // Both media, as Jicofo allocates a client with a camera (one allocated audio only is sent no video).
    const endpoint = (id: string, ...sources: ReturnType<typeof xml>[]) =>
      xml('endpoint', { id, create: 'true' }, audioLevel, xml('media', { type: 'video' }), xml('transport', { 'ice-controlling': 'true' }), xml('sources', {}, ...sources));
    const modify = xml('conference-modify', { xmlns: 'jitsi:colibri2', 'meeting-id': meetingId, create: 'true', name: 'room@muc.meet.jitsi' },
      endpoint(A,
        mediaSource('audio', `${A}-a0`, source(A_AUDIO, `${A}-a0`)),
        mediaSource('video', `${A}-v0`, source(A_CAMERA, `${A}-v0`, 'camera'), source(A_CAMERA_RTX, `${A}-v0`, 'camera'),
          xml('ssrc-group', { xmlns: NS_SSMA, semantics: 'FID' }, xml('source', { ssrc: String(A_CAMERA) }), xml('source', { ssrc: String(A_CAMERA_RTX) }))),
        mediaSource('video', `${A}-v1`, source(A_SCREEN, `${A}-v1`, 'desktop'))),
      endpoint(B,
        mediaSource('audio', `${B}-a0`, source(B_AUDIO, `${B}-a0`)),
        mediaSource('video', `${B}-v0`, source(B_CAMERA, `${B}-v0`, 'camera'))));
    const answer = await focus.client.iqCaller.request(xml('iq', { type: 'set', to: bridge.jid }, modify));
    const modified = parseConferenceModified(answer.getChild('conference-modified', 'jitsi:colibri2')!);
    const urlOf = (id: string) => {
      const url = new URL(parseIceUdpTransport(modified.endpoints.find((e) => e.id === id)!.transport!.iceUdp!).webSockets[0]!.url);
      return `${channelOrigin}${url.pathname}${url.search}`;
    };
    const a = await connect(urlOf(A));
    const b = await connect(urlOf(B));
    await until(() => a.messages.some((m) => m.colibriClass === 'ServerHello') && b.messages.some((m) => m.colibriClass === 'ServerHello'), 'ServerHello');
    return { a, b, epA: endpoints.get(A)!, epB: endpoints.get(B)! };
  }

  async function connect(url: string): Promise<Channel> {
    const channel = await openChannel(url);
    open.push(channel.ws);
    return channel;
  }


  /** Waits for the next message of a class after `from` messages; returns it. */
  async function next(channel: Channel, colibriClass: string, from: number): Promise<Record<string, unknown>> {
    let found: Record<string, unknown> | undefined;
    await until(() => (found = channel.messages.slice(from).find((m) => m.colibriClass === colibriClass)) !== undefined, colibriClass);
    return found!;
  }

  it('stops a receiver\'s video copies on lastN 0 while its audio goes on, and says ForwardedSources []', async () => {
    const { a, b, epA, epB } = await conference();
    let seq = 0;
    const sendAll = () => {
      for (const ssrc of [A_AUDIO, A_CAMERA, A_CAMERA_RTX, A_SCREEN]) epA.emit('rtp', ssrc === A_CAMERA_RTX ? rtxRtp(rtp(A_CAMERA, seq), A_CAMERA_RTX, seq) : rtp(ssrc, ++seq));
    };
    let mark = epB.sentRtp.length;
    sendAll();
    // (the camera's retransmission was asked by nobody: unsolicited RTX stops at the bridge)
    assert.deepEqual(epB.ssrcsSince(mark), [A_AUDIO, A_CAMERA, A_SCREEN], 'before any constraints, everything');

    const fromB = b.messages.length;
    const fromA = a.messages.length;
    b.ws.send(JSON.stringify({ colibriClass: 'ReceiverVideoConstraints', lastN: 0, defaultConstraints: { maxHeight: 720 } }));
    assert.deepEqual(await next(b, 'ForwardedSources', fromB), { colibriClass: 'ForwardedSources', forwardedSources: [] });
    mark = epB.sentRtp.length;
    sendAll();
    assert.deepEqual(epB.ssrcsSince(mark), [A_AUDIO], 'audio only');
    await until(() => a.messages.slice(fromA).filter((m) => m.colibriClass === 'SenderSourceConstraints').length === 2, 'A told twice');
    assert.deepEqual(a.messages.slice(fromA).filter((m) => m.colibriClass === 'SenderSourceConstraints'), [
      { colibriClass: 'SenderSourceConstraints', sourceName: `${A}-v0`, maxHeight: 0 },
      { colibriClass: 'SenderSourceConstraints', sourceName: `${A}-v1`, maxHeight: 0 },
    ], 'nobody wants A\'s video any more');
    assert.equal(epA.ssrcsSince(0).filter((s) => s === A_CAMERA).length, 0, 'nothing of A comes back to A');
  });

  it('drops a flood of channel messages from one endpoint past its allowance; the channel and the others go on', async () => {
    const { a, b } = await conference();
    const fromA = a.messages.length;
    // 500 messages of 16 KiB: 8 MB, where the allowance reads 512 KiB at once and 128 KiB a second.
    const blob = 'x'.repeat(16 * 1024);
    for (let i = 0; i < 500; i++) b.ws.send(JSON.stringify({ colibriClass: 'EndpointMessage', to: '', msgPayload: { n: i, blob } }));
    await until(() => a.messages.slice(fromA).some((m) => m.colibriClass === 'EndpointMessage'), 'some of the flood arrives');
    await new Promise((r) => setTimeout(r, 300));
    const relayed = a.messages.slice(fromA).filter((m) => m.colibriClass === 'EndpointMessage').length;
    assert.ok(relayed >= 25 && relayed <= 45, `the burst (512 KiB) and what the rate refilled passed, not 500: ${relayed}`);
    assert.equal(b.ws.readyState, WebSocket.OPEN, 'the flooder is throttled, not cut off');
    await new Promise((r) => setTimeout(r, 200));
    const fromHello = b.messages.length;
    b.ws.send(JSON.stringify({ colibriClass: 'ClientHello' }));
    await next(b, 'ServerHello', fromHello);
  });

  it('hears nothing more from a channel once a newer one of its endpoint replaced it, and reconnecting does not refill the allowance', async () => {
    const { a, b } = await conference();
    const urlOfB = b.ws.url;
    const fromA = a.messages.length;
    const blob = 'x'.repeat(16 * 1024);
    // The read allowance (512 KiB at once) spent on the first channel.
    for (let i = 0; i < 40; i++) b.ws.send(JSON.stringify({ colibriClass: 'EndpointMessage', to: '', msgPayload: { first: i, blob } }));
    await until(() => a.messages.slice(fromA).filter((m) => m.colibriClass === 'EndpointMessage').length >= 25, 'the burst relayed');
    const replaced = b.ws;
    const again = await connect(urlOfB);
    await until(() => again.messages.some((m) => m.colibriClass === 'ServerHello'), 'ServerHello on the new channel');
    const mark = a.messages.length;
    // The old socket is closing (the bridge sent its close); until the client answers, what it sends is not relayed.
    for (let i = 0; i < 20; i++) if (replaced.readyState === WebSocket.OPEN) replaced.send(JSON.stringify({ colibriClass: 'EndpointMessage', to: '', msgPayload: { stale: i } }));
    for (let i = 0; i < 40; i++) again.ws.send(JSON.stringify({ colibriClass: 'EndpointMessage', to: '', msgPayload: { second: i, blob } }));
    await new Promise((r) => setTimeout(r, 400));
    const relayed = a.messages.slice(mark).filter((m) => m.colibriClass === 'EndpointMessage');
    assert.equal(relayed.filter((m) => (m.msgPayload as Record<string, unknown>).stale !== undefined).length, 0, 'nothing from the replaced channel');
    const second = relayed.filter((m) => (m.msgPayload as Record<string, unknown>).second !== undefined).length;
    assert.ok(second <= 12, `the new channel has what the rate refilled since the burst, not a new burst of 32: ${second}`);
    // And it is the endpoint's channel now: once the rate refilled, it is heard.
    await new Promise((r) => setTimeout(r, 200));
    const afterMark = a.messages.length;
    again.ws.send(JSON.stringify({ colibriClass: 'EndpointMessage', to: '', msgPayload: { after: 1 } }));
    await until(() => a.messages.slice(afterMark).some((m) => m.colibriClass === 'EndpointMessage'), 'the new channel relayed');
  });

  it('hears nothing more from the channel of an endpoint that expired', async () => {
    const { a, b } = await conference();
    const meetingId = `meeting-${meeting}`;
    bridge.channel.closeEndpoint(meetingId, B);
    const mark = a.messages.length;
    if (b.ws.readyState === WebSocket.OPEN) for (let i = 0; i < 5; i++) b.ws.send(JSON.stringify({ colibriClass: 'EndpointMessage', to: '', msgPayload: { late: i } }));
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(a.messages.slice(mark).filter((m) => m.colibriClass === 'EndpointMessage').length, 0);
  });

  it('stops just the source a receiver constrains to maxHeight 0', async () => {
    const { b, epA, epB } = await conference();
    const fromB = b.messages.length;
    b.ws.send(JSON.stringify({ colibriClass: 'ReceiverVideoConstraints', constraints: { [`${A}-v1`]: { maxHeight: 0 }, [`${A}-v0`]: { maxHeight: 360 } } }));
    assert.deepEqual(await next(b, 'ForwardedSources', fromB), { colibriClass: 'ForwardedSources', forwardedSources: [`${A}-v0`] });
    const mark = epB.sentRtp.length;
    for (const ssrc of [A_SCREEN, A_CAMERA, A_CAMERA_RTX, A_AUDIO]) epA.emit('rtp', ssrc === A_CAMERA_RTX ? rtxRtp(rtp(A_CAMERA, 7), A_CAMERA_RTX, 7) : rtp(ssrc, 7));
    assert.deepEqual(epB.ssrcsSince(mark), [A_CAMERA, A_AUDIO], 'the camera (its unsolicited retransmission stops at the bridge) and the audio');
  });

  it('makes the endpoint whose audio levels show speech the dominant speaker at the others', async () => {
    const { a, b, epA, epB } = await conference();
    const fromB = b.messages.length;
    // B is heard first, in silence (127 = −127 dBov), so B takes the floor as the only one heard…
    epB.emit('rtp', rtp(B_AUDIO, 1, 127));
    assert.deepEqual(await next(b, 'DominantSpeakerEndpointChangeEvent', fromB),
      { colibriClass: 'DominantSpeakerEndpointChangeEvent', dominantSpeakerEndpoint: B, previousSpeakers: [], silence: false });
    // …then A talks (−30 dBov words, −75 dBov pauses) for 1.5 s of speech clock while B stays silent.
    const fromA = a.messages.length;
    const fromB2 = b.messages.length;
    for (let i = 0; i < 75; i++) {
      speechClock += 20;
      epB.emit('rtp', rtp(B_AUDIO, i + 2, 127));
      epA.emit('rtp', rtp(A_AUDIO, i + 1, i % 13 < 10 ? 0x80 | 30 : 75));
    }
    const event = { colibriClass: 'DominantSpeakerEndpointChangeEvent', dominantSpeakerEndpoint: A, previousSpeakers: [B], silence: false };
    assert.deepEqual(await next(b, 'DominantSpeakerEndpointChangeEvent', fromB2), event);
    assert.deepEqual(await next(a, 'DominantSpeakerEndpointChangeEvent', fromA), event);
    assert.ok(epB.sentRtp.some((p) => p.readUInt32BE(8) === A_AUDIO && p[17] === (0x80 | 30)), 'A\'s audio reached B with its level');
  });

  it('ignores malformed constraints, keeps the socket open and the last valid constraints in force', async () => {
    const { b, epA, epB } = await conference();
    const fromB = b.messages.length;
    b.ws.send(JSON.stringify({ colibriClass: 'ReceiverVideoConstraints', lastN: 1, onStageSources: [`${A}-v1`] }));
    assert.deepEqual(await next(b, 'ForwardedSources', fromB), { colibriClass: 'ForwardedSources', forwardedSources: [`${A}-v1`] });
    const malformed = [
      { colibriClass: 'ReceiverVideoConstraints', lastN: 'all' },
      { colibriClass: 'ReceiverVideoConstraints', lastN: -7 },
      { colibriClass: 'ReceiverVideoConstraints', constraints: { [`${A}-v0`]: { maxHeight: 'tall' } } },
      { colibriClass: 'ReceiverVideoConstraints', onStageSources: `${A}-v0` },
      { colibriClass: 'ReceiverVideoConstraints', lastN: 0.5 },
      { colibriClass: 'ReceiverAudioSubscription', mode: 'Some' },
      { colibriClass: 'SourceVideoTypeMessage', sourceName: `${A}-v0`, videoType: 'hologram' },
    ];
    for (const message of malformed) b.ws.send(JSON.stringify(message));
    b.ws.send('{"colibriClass":"ReceiverVideoConstraints","lastN":');
    // Valid but pointless: thousands of names nobody has (as many as the 64 KiB message cap allows).
    b.ws.send(JSON.stringify({ colibriClass: 'ReceiverVideoConstraints', selectedSources: Array.from({ length: 3500 }, (_, i) => `ghost${i}-v0`) }));
    const fromHello = b.messages.length;
    b.ws.send(JSON.stringify({ colibriClass: 'ClientHello' }));
    await next(b, 'ServerHello', fromHello);
    assert.equal(b.ws.readyState, WebSocket.OPEN);
    assert.equal(b.messages.slice(fromB).filter((m) => m.colibriClass === 'ForwardedSources').length, 1, 'nothing changed what B gets');
    const mark = epB.sentRtp.length;
    for (const ssrc of [A_CAMERA, A_SCREEN]) epA.emit('rtp', rtp(ssrc, 9));
    assert.deepEqual(epB.ssrcsSince(mark), [A_SCREEN], 'still lastN 1 with A\'s screen on stage');

    const fromAbsurd = b.messages.length;
    b.ws.send(JSON.stringify({ colibriClass: 'ReceiverVideoConstraints', lastN: Number.MAX_SAFE_INTEGER }));
    assert.deepEqual(await next(b, 'ForwardedSources', fromAbsurd), { colibriClass: 'ForwardedSources', forwardedSources: [`${A}-v1`, `${A}-v0`] },
      'an absurd lastN is "all"');
  });
});
