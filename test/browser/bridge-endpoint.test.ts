/**
 * Bridge media transport with a real browser: headless Chromium ↔ Endpoints of one MediaTransport
 * on one shared UDP port on 127.0.0.1. The endpoint is the controlling ICE agent that nominates and
 * the DTLS server; each page answers a hand-built offer (as LJM answers the focus's session-initiate
 * built from Colibri2, jitsi-protocol.md §5.1/§6.2), sends its fake camera and microphone, and gets
 * its own video echoed back on the bridge's SSRC, which it decodes.
 */
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import pino from 'pino';
import type { Page } from 'playwright-core';
import type { Endpoint, EndpointState, LocalTransportInfo } from '../../bridge/endpoint.ts';
import { MediaTransport } from '../../bridge/transport/index.ts';
import type { IceCandidate } from '../../xmpp/protocol/jingle-ice.ts';
import { launchBrowser, type BrowserHarness } from './chromium.ts';
import { startPageServer, type PageServer } from './page-server.ts';

/** The bridge's own video SSRC (like `jvb-v0`), on which the browser's video comes back. */
const ECHO_SSRC = 0x1b0b_0001;
const OPUS_PT = 111;
const VP8_PT = 96;
const MID_EXT_ID = 4;

const PAGE = `<!doctype html><html><body><video id="echo" autoplay muted playsinline></video><script>
window.t = {
  candidates: [],
  gathered: false,
  async start(offer) {
    const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: { width: 640, height: 360, frameRate: 30 } });
    const pc = new RTCPeerConnection({ iceServers: [], bundlePolicy: 'max-bundle', rtcpMuxPolicy: 'require' });
    this.pc = pc;
    pc.onicecandidate = (e) => { if (e.candidate) this.candidates.push(e.candidate.candidate); else this.gathered = true; };
    pc.ontrack = (e) => { if (e.track.kind === 'video') document.getElementById('echo').srcObject = new MediaStream([e.track]); };
    await pc.setRemoteDescription({ type: 'offer', sdp: offer });
    for (const track of stream.getTracks()) pc.addTrack(track, stream);
    await pc.setLocalDescription(await pc.createAnswer());
    return pc.localDescription.sdp;
  },
  async waitFor(predicate, timeoutMs) {
    const until = performance.now() + timeoutMs;
    for (;;) {
      const value = await predicate();
      if (value) return value;
      if (performance.now() > until) throw new Error('page wait timed out: ' + predicate);
      await new Promise((r) => setTimeout(r, 50));
    }
  },
  async candidatesWhenGathered() {
    await this.waitFor(() => this.gathered, 10000);
    return this.candidates;
  },
  async inboundVideo() {
    for (const s of (await this.pc.getStats()).values()) {
      if (s.type === 'inbound-rtp' && s.kind === 'video') {
        return { ssrc: s.ssrc, bytesReceived: s.bytesReceived ?? 0, framesDecoded: s.framesDecoded ?? 0, frameWidth: s.frameWidth };
      }
    }
    return undefined;
  },
  async transport() {
    for (const s of (await this.pc.getStats()).values()) if (s.type === 'transport') return { dtlsState: s.dtlsState, dtlsRole: s.dtlsRole, srtpCipher: s.srtpCipher };
    return undefined;
  },
  async framesDecodedAtLeast(n, timeoutMs) {
    return this.waitFor(async () => { const v = await this.inboundVideo(); return v && v.framesDecoded >= n ? v : undefined; }, timeoutMs);
  },
};
</script></body></html>`;

interface InboundVideo {
  ssrc: number;
  bytesReceived: number;
  framesDecoded: number;
  frameWidth?: number;
}

type TestWindow = {
  t: {
    start(offer: string): Promise<string>;
    candidatesWhenGathered(): Promise<string[]>;
    framesDecodedAtLeast(n: number, timeoutMs: number): Promise<InboundVideo>;
    transport(): Promise<Record<string, string> | undefined>;
  };
};

/** The SDP the focus would derive from Colibri2 + Jingle: bridge offers, setup actpass, full ICE. */
function buildOffer(local: LocalTransportInfo): string {
  const transport = [
    `a=ice-ufrag:${local.ufrag}`,
    `a=ice-pwd:${local.pwd}`,
    `a=fingerprint:${local.fingerprint.hash} ${local.fingerprint.value}`,
    `a=setup:${local.fingerprint.setup}`,
    ...local.candidates.map((c) => `a=candidate:${c.foundation} ${c.component} ${c.protocol} ${c.priority} ${c.ip} ${c.port} typ ${c.type} generation ${c.generation}`),
    'a=end-of-candidates',
    'a=rtcp-mux',
    `a=extmap:${MID_EXT_ID} urn:ietf:params:rtp-hdrext:sdes:mid`,
  ];
  return [
    'v=0',
    `o=- ${Date.now()} 2 IN IP4 127.0.0.1`,
    's=-',
    't=0 0',
    'a=group:BUNDLE 0 1',
    'a=msid-semantic: WMS *',
    `m=audio 9 UDP/TLS/RTP/SAVPF ${OPUS_PT}`,
    'c=IN IP4 0.0.0.0',
    'a=mid:0',
    ...transport,
    'a=recvonly',
    `a=rtpmap:${OPUS_PT} opus/48000/2`,
    `m=video 9 UDP/TLS/RTP/SAVPF ${VP8_PT}`,
    'c=IN IP4 0.0.0.0',
    'a=mid:1',
    ...transport,
    'a=sendrecv',
    'a=msid:bridge bridge-v0',
    `a=rtpmap:${VP8_PT} VP8/90000`,
    `a=rtcp-fb:${VP8_PT} ccm fir`,
    `a=rtcp-fb:${VP8_PT} nack pli`,
    `a=ssrc:${ECHO_SSRC} cname:bridge`,
    `a=ssrc:${ECHO_SSRC} msid:bridge bridge-v0`,
    '',
  ].join('\r\n');
}

interface Answer {
  ufrag: string;
  pwd: string;
  fingerprint: { hash: string; value: string };
  setup: string;
  videoSsrc: number;
}

function parseAnswer(sdp: string): Answer {
  const lines = sdp.split(/\r?\n/);
  const value = (prefix: string): string => {
    const line = lines.find((l) => l.startsWith(prefix));
    assert.ok(line, `answer has ${prefix}`);
    return line.slice(prefix.length).trim();
  };
  const [hash = '', fingerprint = ''] = value('a=fingerprint:').split(' ');
  const video = lines.slice(lines.findIndex((l) => l.startsWith('m=video')));
  const ssrc = video.map((l) => /^a=ssrc:(\d+) /.exec(l)?.[1]).find((s) => s !== undefined);
  assert.ok(ssrc, 'the answer announces a video SSRC');
  return { ufrag: value('a=ice-ufrag:'), pwd: value('a=ice-pwd:'), fingerprint: { hash, value: fingerprint }, setup: value('a=setup:'), videoSsrc: Number(ssrc) };
}

/** The browser's `candidate:` lines as Jingle candidates (what LJM's transport-info carries). */
function jingleCandidates(lines: readonly string[]): IceCandidate[] {
  return lines.flatMap((line, i) => {
    const [foundation, component, protocol, priority, ip, port, , type] = line.replace(/^candidate:/, '').split(' ');
    if (!foundation || !ip || (type !== 'host' && type !== 'srflx' && type !== 'prflx' && type !== 'relay')) return [];
    const proto = protocol?.toLowerCase();
    if (proto !== 'udp' && proto !== 'tcp') return [];
    return [{ component: Number(component), foundation, generation: 0, id: `c${i}`, ip, port: Number(port), priority: Number(priority), protocol: proto, type }];
  });
}

/** RTCP PLI (RFC 4585 §6.3.1), unencrypted. */
function pli(senderSsrc: number, mediaSsrc: number): Buffer {
  const buf = Buffer.alloc(12);
  buf.writeUInt8(0x81, 0);
  buf.writeUInt8(206, 1);
  buf.writeUInt16BE(2, 2);
  buf.writeUInt32BE(senderSsrc, 4);
  buf.writeUInt32BE(mediaSsrc >>> 0, 8);
  return buf;
}

/** Media SSRCs of PLI/FIR requests (RFC 4585 §6.3.1, RFC 5104 §4.3.1) in a compound RTCP packet. */
function keyframeRequests(rtcp: Buffer): number[] {
  const ssrcs: number[] = [];
  for (let offset = 0; offset + 4 <= rtcp.length; ) {
    const fmt = (rtcp[offset] ?? 0) & 0x1f;
    const type = rtcp[offset + 1];
    if (type === 206 && fmt === 1 && offset + 12 <= rtcp.length) ssrcs.push(rtcp.readUInt32BE(offset + 8));
    if (type === 206 && fmt === 4 && offset + 16 <= rtcp.length) ssrcs.push(rtcp.readUInt32BE(offset + 12));
    offset += (rtcp.readUInt16BE(offset + 2) + 1) * 4;
  }
  return ssrcs;
}

function waitForState(endpoint: Endpoint, wanted: EndpointState, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    if (endpoint.state === wanted) return resolve('already');
    const timer = setTimeout(() => {
      off();
      reject(new Error(`endpoint still ${endpoint.state}, wanted ${wanted}`));
    }, timeoutMs);
    const off = endpoint.events.on('state', (state, reason) => {
      if (state !== wanted) return;
      clearTimeout(timer);
      off();
      resolve(reason);
    });
  });
}

describe('bridge media transport: Chromium ↔ Endpoints of one MediaTransport on one UDP port (browser)', function () {
  this.timeout(60_000);
  const log = pino({ level: process.env.SALON_BRIDGE_LOG ?? 'silent' });
  let browser: BrowserHarness;
  let pages: PageServer;
  let transport: MediaTransport;
  const openPages: Page[] = [];

  before(async () => {
    pages = await startPageServer({ '/': PAGE }, {});
    browser = await launchBrowser({
      // Gather a 127.0.0.1 candidate; never hide it behind mDNS (no multicast off the machine).
      extraArgs: ['--allow-loopback-in-peer-connection', '--disable-features=WebRtcHideLocalIpsWithMdns'],
    });
  });
  beforeEach(async () => {
    const started = performance.now();
    transport = await MediaTransport.start({ host: '127.0.0.1', port: 0, advertiseIps: [], log });
    console.log(`      MediaTransport.start (certificate + warm-up handshake + bind): ${Math.round(performance.now() - started)} ms`);
  });
  afterEach(async function () {
    if (this.currentTest?.state === 'failed') console.error(browser.dumpLogs().split('\n').slice(-60).join('\n'));
    for (const page of openPages.splice(0)) await page.context().close();
    await transport.close();
    await transport.close();
    assert.deepEqual(transport.sizes, { endpoints: 0, ufrags: 0, addresses: 0, transactions: 0 }, 'nothing is left after close');
  });
  after(async () => {
    await browser?.close();
    await pages?.close();
  });

  async function newPage(label: string): Promise<Page> {
    const page = await browser.newPage(`${pages.origin}/`, { label });
    openPages.push(page);
    return page;
  }

  /** Offer → answer → setRemoteTransport (session-accept), then the candidates (transport-info). */
  async function negotiate(page: Page, endpoint: Endpoint, options: { mangleFingerprint?: boolean } = {}): Promise<{ answer: Answer; remoteSetAt: number }> {
    const answerSdp = await page.evaluate((offer) => (window as unknown as TestWindow).t.start(offer), buildOffer(endpoint.localTransport()));
    const answer = parseAnswer(answerSdp);
    const value = options.mangleFingerprint ? answer.fingerprint.value.replace(/^../, (b) => (b === '00' ? '01' : '00')) : answer.fingerprint.value;
    const remoteSetAt = performance.now();
    endpoint.setRemoteTransport({
      ufrag: answer.ufrag,
      pwd: answer.pwd,
      fingerprints: [{ hash: answer.fingerprint.hash, value, setup: answer.setup === 'passive' ? 'passive' : 'active' }],
      candidates: [],
    });
    const lines = await page.evaluate(() => (window as unknown as TestWindow).t.candidatesWhenGathered());
    endpoint.setRemoteTransport({ fingerprints: [], candidates: jingleCandidates(lines) });
    return { answer, remoteSetAt };
  }

  /** Echoes the browser's video back on ECHO_SSRC; forwards its keyframe requests to the sender. */
  function startEcho(endpoint: Endpoint, videoSsrc: number): { echoed: number; sendNs: bigint; packets: number; arrivals: number; lateArrivals: number } {
    const counts = { echoed: 0, sendNs: 0n, packets: 0, arrivals: 0, lateArrivals: 0 };
    endpoint.events.on('rtp', (packet, arrival) => {
      counts.packets++;
      if (arrival !== undefined) {
        counts.arrivals++;
        // The kernel's arrival is in the past of the process clock, by the packet's wait in the socket.
        const wait = performance.now() - arrival;
        if (!(wait >= 0 && wait < 1_000)) counts.lateArrivals++;
      }
      if (packet.readUInt32BE(8) !== videoSsrc) return;
      const echo = Buffer.from(packet);
      echo.writeUInt32BE(ECHO_SSRC, 8);
      const started = process.hrtime.bigint();
      endpoint.sendRtp(echo);
      counts.sendNs += process.hrtime.bigint() - started;
      counts.echoed++;
    });
    endpoint.events.on('rtcp', (rtcp) => {
      if (keyframeRequests(rtcp).includes(ECHO_SSRC)) endpoint.sendRtcp(pli(ECHO_SSRC, videoSsrc));
    });
    return counts;
  }

  /** Connects one page to a new endpoint, echoes its video; resolves when it decoded `frames` more frames. */
  async function connectAndEcho(label: string): Promise<{ endpoint: Endpoint; page: Page; connectMs: number; reason: string; echo: ReturnType<typeof startEcho> }> {
    const endpoint = transport.createEndpoint(label, log.child({ endpoint: label }));
    const page = await newPage(label);
    const connected = waitForState(endpoint, 'connected', 15_000);
    const { answer, remoteSetAt } = await negotiate(page, endpoint);
    assert.equal(answer.setup, 'active', 'the browser answers setup:active, so the bridge is the DTLS server');
    const echo = startEcho(endpoint, answer.videoSsrc);
    const reason = await connected;
    const connectMs = performance.now() - remoteSetAt;
    endpoint.sendRtcp(pli(ECHO_SSRC, answer.videoSsrc)); // a keyframe to start the echo with
    return { endpoint, page, connectMs, reason, echo };
  }

  // Both media paths: the native one (the addon's SRTP, batched sends; the default when it was
  // built) and the TypeScript one it falls back to.
  for (const native of ['auto', 'off'] as const) {
  it(`connects (ICE controlling, DTLS server), decrypts the browser’s SRTP and echoes video it decodes (media.native ${native})`, async () => {
    if (native === 'off') {
      await transport.close();
      transport = await MediaTransport.start({ host: '127.0.0.1', port: 0, advertiseIps: [], log, native });
    }
    const expectedPath = native === 'off' || process.env.SALON_BRIDGE_NATIVE === 'off' ? 'typescript' : 'native';
    assert.equal(transport.mediaPath, expectedPath);
    const { endpoint, page, connectMs, reason, echo } = await connectAndEcho('alice');
    const first = await page.evaluate(() => (window as unknown as TestWindow).t.framesDecodedAtLeast(1, 15_000));
    const start = { at: performance.now(), stats: endpoint.stats(), cpu: process.cpuUsage() };
    const later = await page.evaluate((n) => (window as unknown as TestWindow).t.framesDecodedAtLeast(n, 20_000), first.framesDecoded + 90);
    const end = { at: performance.now(), stats: endpoint.stats(), cpu: process.cpuUsage(start.cpu) };

    assert.equal(later.ssrc, ECHO_SSRC);
    assert.ok(later.bytesReceived > first.bytesReceived, 'inbound-rtp video bytesReceived grows');
    assert.ok(later.framesDecoded >= first.framesDecoded + 90, 'inbound-rtp video framesDecoded grows');
    const stats = endpoint.stats();
    assert.ok(stats.packetsIn > 100 && stats.packetsOut > 50);
    assert.equal(stats.authFailures, 0);
    assert.equal(stats.replays, 0);
    assert.equal(stats.malformed, 0);
    // The native socket tells each packet's kernel arrival (transport-cc, jitter); dgram does not.
    assert.ok(echo.packets > 100);
    if (expectedPath === 'native') assert.ok(echo.arrivals === echo.packets && echo.lateArrivals === 0, `${echo.arrivals} arrivals for ${echo.packets} RTP packets, ${echo.lateArrivals} implausible`);
    else assert.equal(echo.arrivals, 0);
    const browserTransport = await page.evaluate(() => (window as unknown as TestWindow).t.transport());
    assert.equal(browserTransport?.dtlsRole, 'client');

    const packets = end.stats.packetsIn - start.stats.packetsIn + (end.stats.packetsOut - start.stats.packetsOut);
    const seconds = (end.at - start.at) / 1000;
    const cpuUs = end.cpu.user + end.cpu.system;
    console.log(`      connected ${Math.round(connectMs)} ms after setRemoteTransport (${reason}); browser ${JSON.stringify(browserTransport)}`);
    console.log(`      ${Math.round(packets / seconds)} pkt/s in+out over ${seconds.toFixed(1)} s; sendRtp (protect + socket send) ` +
      `${(Number(echo.sendNs) / 1000 / echo.echoed).toFixed(1)} µs per packet over ${echo.echoed}; ` +
      `node process CPU ${((cpuUs / 1000 / (end.at - start.at)) * 100).toFixed(1)} % of a core (Playwright included)`);
    console.log(`      echoed frames decoded ${later.framesDecoded} at width ${later.frameWidth}; mux ${JSON.stringify(transport.muxStats)}`);
  });
  }

  it('serves two endpoints on the same port at once, each decoding its own echo', async () => {
    const [alice, bob] = await Promise.all([connectAndEcho('alice'), connectAndEcho('bob')]);
    assert.equal(transport.sizes.endpoints, 2);
    const decoded = await Promise.all(
      [alice, bob].map(({ page }) => page.evaluate(() => (window as unknown as TestWindow).t.framesDecodedAtLeast(30, 20_000))),
    );
    for (const video of decoded) assert.equal(video.ssrc, ECHO_SSRC);
    assert.notDeepEqual(alice.endpoint.selectedAddress, bob.endpoint.selectedAddress);
    console.log(`      two endpoints connected in ${Math.round(alice.connectMs)} / ${Math.round(bob.connectMs)} ms on port ${transport.port}`);
    alice.endpoint.close('alice left');
    assert.equal(transport.sizes.endpoints, 1, 'a closed endpoint leaves the transport');
    const bobBefore = bob.endpoint.stats().packetsIn;
    await bob.page.evaluate(() => (window as unknown as TestWindow).t.framesDecodedAtLeast(60, 20_000));
    assert.ok(bob.endpoint.stats().packetsIn > bobBefore, 'the other endpoint keeps flowing');
  });

  it('fails the endpoint when the browser’s certificate does not match the signalled fingerprint', async () => {
    const endpoint = transport.createEndpoint('mallory', log);
    const page = await newPage('mallory');
    const failed = waitForState(endpoint, 'failed', 15_000);
    await negotiate(page, endpoint, { mangleFingerprint: true });
    assert.match(await failed, /fingerprint/);
    assert.equal(endpoint.stats().packetsIn, 0);
  });
});
