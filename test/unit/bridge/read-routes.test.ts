/**
 * Which packets the conference lets the media socket's read forward itself (conference.ts
 * refreshRoutes): an endpoint's forwarded audio, to the send targets of the receivers the plan
 * sends it to — and nothing where the per-packet JavaScript still decides (route loudest only,
 * force-muted audio, a receiver without a send target, a clock other than the process's).
 */
import assert from 'node:assert/strict';
import pino from 'pino';
import { BridgeConference } from '../../../bridge/conference.ts';
import type { ReadRoutes } from '../../../bridge/endpoint.ts';
import type { NamedSource } from '../../../bridge/forwarding.ts';
import type { SendTarget } from '../../../bridge/native/index.ts';
import { systemClock } from '../../../bridge/transport/clock.ts';
import type { LayerRouteRing } from '../../../bridge/video-projection.ts';
import type { LoggedRtp, ReceiveLogReader } from '../../../bridge/transport/receive-log.ts';
import type { BridgeToClientMessage } from '../../../xmpp/protocol/bridge-channel.ts';
import { FakeEndpoint } from './fake-endpoint.ts';

const log = pino({ level: 'silent' });
const FEEDBACK = { audio: 0xa0, video: 0xb0 };

/** A FakeEndpoint with a send target (its handle alone) that records the routes it is given. */
class RoutedEndpoint extends FakeEndpoint {
  routes: ReadRoutes | undefined;
  readonly sendTarget: SendTarget;
  constructor(id: string, handle: number) {
    super(id);
    const log = { times: new Float64Array(4), fields: new Int32Array(8), state: new Int32Array(3), counters: new Float64Array(3) };
    this.sendTarget = { handle, log, monotonicOffset: () => 0 } as unknown as SendTarget;
  }
  setRoutes(routes: ReadRoutes | undefined): void {
    this.routes = routes;
  }
}

function conferenceOf(ids: string[], options: { loudestAudio?: number; clock?: typeof systemClock } = {}): { conference: BridgeConference; endpoints: RoutedEndpoint[] } {
  const conference = new BridgeConference('m', undefined, log, () => undefined, () => undefined, { feedbackSsrcs: FEEDBACK, ...options });
  const endpoints = ids.map((id, i) => new RoutedEndpoint(id, 100 + i));
  for (const endpoint of endpoints) conference.addEndpoint(endpoint);
  for (const [i, endpoint] of endpoints.entries()) {
    const audio: NamedSource = { name: `${endpoint.id}-a0`, media: 'audio', desktop: false };
    const video: NamedSource = { name: `${endpoint.id}-v0`, media: 'video', desktop: false };
    const [a, v] = [0x1000 + i, 0x2000 + i];
    conference.setSources(endpoint.id, { all: new Set([a, v]), forwarded: new Set([a, v]), sourceOf: new Map([[a, audio], [v, video]]), named: [audio, video] });
  }
  return { conference, endpoints };
}

const targetsOf = (endpoint: RoutedEndpoint, ssrc: number): number[] => [...(endpoint.routes?.routes.get(ssrc) ?? [])];

describe('the routes of the media socket\'s read (conference.ts refreshRoutes)', () => {
  it('routes each endpoint\'s audio, not its video, to the send targets of the others', () => {
    const { conference, endpoints: [a, b, c] } = conferenceOf(['a', 'b', 'c']);
    conference.setTransportCcExtensionId(5);
    conference.setAudioLevelExtensionId(1);
    conference.setSenderScopedExtensionIds([3, 12]);
    assert.deepEqual([...a!.routes!.routes.keys()], [0x1000]);
    assert.deepEqual(targetsOf(a!, 0x1000), [101, 102]);
    assert.deepEqual(targetsOf(b!, 0x1001), [100, 102]);
    assert.deepEqual(targetsOf(c!, 0x1002), [100, 101]);
    assert.equal(a!.routes!.transportCcExtensionId, 5);
    assert.equal(a!.routes!.audioLevelExtensionId, 1);
    assert.deepEqual([...a!.routes!.blanked].flatMap((byte, i) => [0, 1, 2, 3, 4, 5, 6, 7].filter((bit) => byte & (1 << bit)).map((bit) => 8 * i + bit)), [3, 12]);

    conference.removeEndpoint('b', 'left');
    assert.deepEqual(targetsOf(a!, 0x1000), [102], 'a receiver that left is no longer a target');
    assert.equal(b!.routes, undefined, 'nor is its own audio routed');
    conference.close('done');
    assert.equal(a!.routes, undefined);
  });

  it('routes nothing of a force-muted sender until unmuted', () => {
    const { conference, endpoints: [a] } = conferenceOf(['a', 'b']);
    conference.setForceMute('a', { audio: true });
    assert.equal(a!.routes?.routes.size, 0);
    conference.setForceMute('a', { audio: false });
    assert.deepEqual(targetsOf(a!, 0x1000), [101]);
    conference.close('done');
  });

  it('routes nothing while each packet is judged in JavaScript or a receiver cannot be sent to by the read', () => {
    const loudest = conferenceOf(['a', 'b'], { loudestAudio: 1 });
    assert.equal(loudest.endpoints[0]!.routes?.routes.size, 0, 'route loudest only');
    loudest.conference.close('done');

    const other = conferenceOf(['a', 'b'], { clock: { now: () => 0 } as typeof systemClock });
    assert.equal(other.endpoints[0]!.routes, undefined, 'a clock other than the process\'s');
    other.conference.close('done');

    const { conference, endpoints: [a] } = conferenceOf(['a', 'b']);
    assert.deepEqual(targetsOf(a!, 0x1000), [101]);
    const plain = new FakeEndpoint('c'); // no send target (the TypeScript media path)
    conference.addEndpoint(plain);
    assert.equal(a!.routes?.routes.size, 0, 'one receiver without a send target: the whole stream through JavaScript');
    conference.close('done');
  });

  it('hands a video layer to the read once a packet of it came (to nobody while nobody is on it), and takes it back when its source goes', () => {
    /** Records the video routes it is given; the ring handed back is never written. */
    class VideoRoutedEndpoint extends RoutedEndpoint {
      readonly videoRoutes = new Map<number, number[]>();
      setVideoRoute(ssrc: number, params: Float64Array | undefined): LayerRouteRing | undefined {
        if (!params) {
          this.videoRoutes.delete(ssrc);
          return undefined;
        }
        this.videoRoutes.set(ssrc, [...params]);
        return { meta: new Float64Array(256 * 8), bytes: new Uint8Array(256 * 1500), state: new Int32Array(4), monotonicOffset: () => 0 };
      }
    }
    const conference = new BridgeConference('m', undefined, log, () => undefined, () => undefined, { feedbackSsrcs: FEEDBACK });
    const [a, b] = [new VideoRoutedEndpoint('a', 100), new VideoRoutedEndpoint('b', 101)];
    conference.addEndpoint(a);
    conference.addEndpoint(b);
    conference.setTransportCcExtensionId(5);
    conference.setVideoPayloadTypes([{ id: 100, name: 'VP8' }]);
    const layers = [0x3000, 0x3001];
    const video: NamedSource = { name: 'a-v0', media: 'video', desktop: false, primarySsrc: layers[0]!, layers: { layers, rtx: new Map() } };
    conference.setSources('a', { all: new Set(layers), forwarded: new Set(layers), sourceOf: new Map(layers.map((ssrc) => [ssrc, video])), named: [video] });
    conference.onChannelMessage('b', { colibriClass: 'ReceiverVideoConstraints', defaultConstraints: { maxHeight: 0 } });
    assert.deepEqual([...a.videoRoutes], [], 'no packet yet');
    // A VP8 delta packet of the top layer: RTP header, then a descriptor with a 15-bit PictureID.
    const packet = Buffer.alloc(12 + 4 + 20);
    packet[0] = 0x80;
    packet[1] = 100;
    packet.writeUInt16BE(500, 2);
    packet.writeUInt32BE(90_000, 4);
    packet.writeUInt32BE(layers[1]!, 8);
    packet.set([0x90, 0x80, 0x80, 0x07, 0x11], 12);
    a.emit('rtp', packet);
    assert.deepEqual([...a.videoRoutes], [[layers[1], [501, 0]]], 'from the next packet on, to nobody');
    conference.setSources('a', { all: new Set(), forwarded: new Set(), sourceOf: new Map(), named: [] });
    assert.deepEqual([...a.videoRoutes], [], 'taken back with its source');
    conference.close('done');
  });

  describe('what comes back from the receive logs of packets the read forwarded', () => {
    /** An endpoint whose receive log the test fills: the records of audio the read forwarded. */
    class LoggedEndpoint extends RoutedEndpoint {
      readonly records: Array<Parameters<LoggedRtp>> = [];
      readonly log: ReceiveLogReader = ((records) => ({
        get waiting() {
          return records.length;
        },
        drain: (onPacket: LoggedRtp) => {
          for (const record of records.splice(0)) onPacket(...record);
        },
      }))(this.records);
      receiveLog(): ReceiveLogReader {
        return this.log;
      }
      /** A forwarded packet of `ssrc` with audio level `level`, arrived at `arrival`. */
      forwarded(ssrc: number, sequence: number, level: number, arrival: number): void {
        this.records.push([-1, ssrc, sequence, sequence * 960, 111, arrival, 100, level]);
      }
    }

    it('hears the logged levels at their packets\' arrival, all speakers in arrival order, however late the logs are read', async () => {
      const conference = new BridgeConference('m', undefined, log, () => undefined, () => undefined, { feedbackSsrcs: FEEDBACK });
      const messages: BridgeToClientMessage[] = [];
      conference.useBridgeChannel({ send: (_to, message) => messages.push(message) });
      const [a, b] = [new LoggedEndpoint('a', 100), new LoggedEndpoint('b', 101)];
      for (const endpoint of [a, b, new RoutedEndpoint('c', 102)]) conference.addEndpoint(endpoint);
      for (const [endpoint, ssrc] of [[a, 0xa], [b, 0xb]] as const) {
        const audio: NamedSource = { name: `${endpoint.id}-a0`, media: 'audio', desktop: false };
        conference.setSources(endpoint.id, { all: new Set([ssrc]), forwarded: new Set([ssrc]), sourceOf: new Map([[ssrc, audio]]), named: [audio] });
      }
      assert.ok(a.routes && b.routes, 'their audio routed: the feedback period\'s tick reads their logs');
      try {
        // Both send a packet every 20 ms for 3 s, a speaking, then b alone from 1.2 s on; their logs
        // are read late (as by a bridge busy for 3 s), all at once, a's records first. (Their times
        // run from now on: speech activity counts from when the conference began.)
        const start = performance.now();
        for (let k = 0; k < 150; k++) a.forwarded(0xa, k, k >= 60 ? 127 : 0x80 | 10, start + 20 * k);
        for (let k = 0; k < 150; k++) b.forwarded(0xb, k, k >= 60 ? 0x80 | 10 : 127, start + 20 * k);
        await new Promise((resolve) => setTimeout(resolve, 150));
        // (The same speaker may be told again, its silence flag changed.)
        const speakers = messages.filter((m) => m.colibriClass === 'DominantSpeakerEndpointChangeEvent').map((m) => m.dominantSpeakerEndpoint).filter((id, i, all) => id !== all[i - 1]);
        assert.deepEqual(speakers, ['a', 'b'], 'a had the floor, then b: as had each packet been heard as it came');
        assert.equal(conference.mediaStats().rtpPacketsReceived, 300, 'every packet counted');
      } finally {
        conference.close('done');
      }
    });

    it('counts what an endpoint\'s log holds in the statistics at once, and when it is removed', () => {
      const conference = new BridgeConference('m', undefined, log, () => undefined, () => undefined, { feedbackSsrcs: FEEDBACK });
      const a = new LoggedEndpoint('a', 100);
      conference.addEndpoint(a);
      conference.addEndpoint(new RoutedEndpoint('b', 101));
      a.forwarded(0xa, 1, -1, performance.now());
      assert.equal(conference.mediaStats().rtpPacketsReceived, 1, 'the statistics read the logs before they are taken');
      for (let sequence = 2; sequence <= 4; sequence++) a.forwarded(0xa, sequence, -1, performance.now());
      conference.removeEndpoint('a', 'left');
      assert.equal(conference.mediaStats().rtpPacketsReceived, 4);
      assert.equal(a.records.length, 0);
      conference.close('done');
    });
  });
});
