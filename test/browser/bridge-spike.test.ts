/**
 * Media-transport spike (bridge/spike/): headless Chromium ↔ a werift-based endpoint on one shared
 * UDP port on 127.0.0.1. The endpoint is the ICE controlling agent that nominates and the DTLS
 * server; the browser answers a hand-built offer (as LJM answers the focus's session-initiate built
 * from Colibri2, jitsi-protocol.md §5.1/§6.2), sends its fake camera and microphone, and gets its own
 * video echoed back on the bridge's SSRC, which it decodes.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Page } from 'playwright-core';
import { DtlsClient, RtpHeader, RtpPacket, SrtpSession, type Transport } from 'werift';
import {
  DtlsLink,
  generateCertificate,
  ReplayWindow,
  SpikeEndpoint,
  UdpMux,
  type DtlsCertificate,
  type EndpointState,
  type IceCandidate,
  type LocalTransportParameters,
} from '../../bridge/spike/index.ts';
import { launchBrowser, type BrowserHarness } from './chromium.ts';
import { startPageServer, type PageServer } from './page-server.ts';

/** The bridge's own video SSRC (like `jvb-v0`), on which the browser's video comes back. */
const ECHO_SSRC = 0x1b0b_0001;
const OPUS_PT = 111;
const VP8_PT = 96;
const MID_EXT_ID = 4;

const PAGE = `<!doctype html><html><body><video id="echo" autoplay muted playsinline></video><script>
window.spike = {
  marks: {},
  candidates: [],
  gathered: false,
  mark(name) { if (!(name in this.marks)) this.marks[name] = performance.timeOrigin + performance.now(); },
  async start(offer) {
    const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: { width: 640, height: 360, frameRate: 30 } });
    const pc = new RTCPeerConnection({ iceServers: [], bundlePolicy: 'max-bundle', rtcpMuxPolicy: 'require' });
    this.pc = pc;
    pc.onicecandidate = (e) => { if (e.candidate) this.candidates.push(e.candidate.candidate); else this.gathered = true; };
    pc.oniceconnectionstatechange = () => this.mark('ice-' + pc.iceConnectionState);
    pc.onconnectionstatechange = () => this.mark('pc-' + pc.connectionState);
    pc.ontrack = (e) => { if (e.track.kind === 'video') document.getElementById('echo').srcObject = new MediaStream([e.track]); };
    this.mark('setRemoteDescription');
    await pc.setRemoteDescription({ type: 'offer', sdp: offer });
    for (const track of stream.getTracks()) pc.addTrack(track, stream);
    await pc.setLocalDescription(await pc.createAnswer());
    const dtls = pc.getTransceivers()[0].sender.transport;
    dtls.onstatechange = () => this.mark('dtls-' + dtls.state);
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
        return { ssrc: s.ssrc, bytesReceived: s.bytesReceived ?? 0, packetsReceived: s.packetsReceived ?? 0,
          framesDecoded: s.framesDecoded ?? 0, frameWidth: s.frameWidth, pliCount: s.pliCount ?? 0 };
      }
    }
    return undefined;
  },
  async outboundStats() {
    const out = {};
    for (const s of (await this.pc.getStats()).values()) {
      if (s.type === 'outbound-rtp') out[s.kind] = { ssrc: s.ssrc, packetsSent: s.packetsSent, pliCount: s.pliCount ?? 0, firCount: s.firCount ?? 0 };
      if (s.type === 'transport') out.transport = { dtlsState: s.dtlsState, srtpCipher: s.srtpCipher, dtlsRole: s.dtlsRole, tlsVersion: s.tlsVersion };
    }
    return out;
  },
  async framesDecodedAtLeast(n, timeoutMs) {
    return this.waitFor(async () => { const v = await this.inboundVideo(); return v && v.framesDecoded >= n ? v : undefined; }, timeoutMs);
  },
};
</script></body></html>`;

interface InboundVideo {
  ssrc: number;
  bytesReceived: number;
  packetsReceived: number;
  framesDecoded: number;
  frameWidth?: number;
  pliCount: number;
}

type SpikeWindow = {
  spike: {
    marks: Record<string, number>;
    start(offer: string): Promise<string>;
    candidatesWhenGathered(): Promise<string[]>;
    inboundVideo(): Promise<InboundVideo | undefined>;
    outboundStats(): Promise<{ video?: { pliCount: number }; transport?: Record<string, string> }>;
    framesDecodedAtLeast(n: number, timeoutMs: number): Promise<InboundVideo>;
  };
};

/** The SDP the focus would derive from Colibri2 + Jingle: bridge offers, setup actpass, full ICE. */
function buildOffer(local: LocalTransportParameters): string {
  const transport = [
    `a=ice-ufrag:${local.ufrag}`,
    `a=ice-pwd:${local.pwd}`,
    `a=fingerprint:${local.fingerprint.hash} ${local.fingerprint.value}`,
    `a=setup:${local.fingerprint.setup}`,
    ...local.candidates.map((c) => `a=candidate:${c.foundation} 1 udp ${c.priority} ${c.host} ${c.port} typ ${c.type} generation 0`),
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
    `a=fmtp:${OPUS_PT} minptime=10;useinbandfec=1`,
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

interface ParsedAnswer {
  ufrag: string;
  pwd: string;
  fingerprint: { hash: string; value: string };
  setup: string;
  /** First SSRC of each m-section, by media kind. */
  ssrcs: { audio?: number; video?: number };
}

function parseAnswer(sdp: string): ParsedAnswer {
  const lines = sdp.split(/\r?\n/);
  const value = (prefix: string): string => {
    const line = lines.find((l) => l.startsWith(prefix));
    assert.ok(line, `answer has ${prefix}`);
    return line.slice(prefix.length).trim();
  };
  const [hash = '', fingerprint = ''] = value('a=fingerprint:').split(' ');
  const ssrcs: ParsedAnswer['ssrcs'] = {};
  let kind: 'audio' | 'video' | undefined;
  for (const line of lines) {
    if (line.startsWith('m=')) kind = line.startsWith('m=audio') ? 'audio' : 'video';
    const ssrc = /^a=ssrc:(\d+) /.exec(line)?.[1];
    if (kind && ssrc && ssrcs[kind] === undefined) ssrcs[kind] = Number(ssrc);
  }
  return { ufrag: value('a=ice-ufrag:'), pwd: value('a=ice-pwd:'), fingerprint: { hash, value: fingerprint }, setup: value('a=setup:'), ssrcs };
}

/** `candidate:…` lines from the browser, UDP on loopback only (this test sends nowhere else). */
function loopbackCandidates(lines: readonly string[]): IceCandidate[] {
  return lines.flatMap((line) => {
    const [foundation, , protocol, priority, host, port, , type] = line.replace(/^candidate:/, '').split(' ');
    if (protocol?.toLowerCase() !== 'udp' || host !== '127.0.0.1' || !foundation || type !== 'host') return [];
    return [{ foundation, priority: Number(priority), host, port: Number(port), type }];
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

/** Media SSRCs of PLI/FIR requests in a compound RTCP packet. */
function keyframeRequests(rtcp: Buffer): number[] {
  const ssrcs: number[] = [];
  for (let offset = 0; offset + 4 <= rtcp.length; ) {
    const fmt = (rtcp[offset] ?? 0) & 0x1f;
    const type = rtcp[offset + 1];
    const length = (rtcp.readUInt16BE(offset + 2) + 1) * 4;
    if (type === 206 && fmt === 1 && offset + 12 <= rtcp.length) ssrcs.push(rtcp.readUInt32BE(offset + 8));
    if (type === 206 && fmt === 4 && offset + 16 <= rtcp.length) ssrcs.push(rtcp.readUInt32BE(offset + 12));
    offset += length;
  }
  return ssrcs;
}

function waitForState(endpoint: SpikeEndpoint, wanted: EndpointState, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    if (endpoint.state === wanted) return resolve('already');
    const timer = setTimeout(() => {
      off();
      reject(new Error(`endpoint still ${endpoint.state}, wanted ${wanted}`));
    }, timeoutMs);
    const off = endpoint.on('state', (state, reason) => {
      if (state !== wanted) return;
      clearTimeout(timer);
      off();
      resolve(reason);
    });
  });
}

describe('bridge media-transport spike: Chromium ↔ werift endpoint on one UDP port (browser)', function () {
  this.timeout(60_000);
  let browser: BrowserHarness;
  let pages: PageServer;
  let mux: UdpMux;
  let certificate: DtlsCertificate;
  const endpoints: SpikeEndpoint[] = [];
  const openPages: Page[] = [];
  const listenerErrors: unknown[] = [];

  before(async () => {
    pages = await startPageServer({ '/': PAGE }, {});
    browser = await launchBrowser({
      // Gather a 127.0.0.1 candidate; never hide it behind mDNS (no multicast off the machine).
      extraArgs: ['--allow-loopback-in-peer-connection', '--disable-features=WebRtcHideLocalIpsWithMdns'],
    });
    certificate = await generateCertificate();
  });
  beforeEach(async () => {
    mux = await UdpMux.open({ host: '127.0.0.1', port: 0, acceptSource: (host) => host.startsWith('127.') });
  });
  afterEach(async function () {
    if (this.currentTest?.state === 'failed') console.error(browser.dumpLogs().split('\n').slice(-60).join('\n'));
    for (const page of openPages.splice(0)) await page.context().close();
    for (const endpoint of endpoints.splice(0)) endpoint.close('test-done');
    assert.deepEqual(mux.routes, { ufrags: 0, addresses: 0, transactions: 0 }, 'the mux holds no route after close');
    await mux.close();
    assert.deepEqual(listenerErrors, []);
  });
  after(async () => {
    await browser?.close();
    await pages?.close();
  });

  function newEndpoint(id: string): SpikeEndpoint {
    const endpoint = new SpikeEndpoint({
      id,
      mux,
      certificate,
      onListenerError: (event, error) => listenerErrors.push({ event, error }),
      debug: process.env.SALON_SPIKE_DEBUG === '1' ? (m) => console.error(`[${id}] ${m}`) : undefined,
    });
    endpoints.push(endpoint);
    return endpoint;
  }

  async function newPage(label: string): Promise<Page> {
    const page = await browser.newPage(`${pages.origin}/`, { label });
    openPages.push(page);
    return page;
  }

  /** Offer → browser answer → remote parameters and loopback candidates into the endpoint. */
  async function negotiate(page: Page, endpoint: SpikeEndpoint, mangleFingerprint = false): Promise<ParsedAnswer> {
    const answerSdp = await page.evaluate((offer) => (window as unknown as SpikeWindow).spike.start(offer), buildOffer(endpoint.local));
    const answer = parseAnswer(answerSdp);
    const value = mangleFingerprint ? answer.fingerprint.value.replace(/^../, (b) => (b === '00' ? '01' : '00')) : answer.fingerprint.value;
    endpoint.setRemote({ ufrag: answer.ufrag, pwd: answer.pwd, fingerprints: [{ hash: answer.fingerprint.hash, value }] });
    const candidates = await page.evaluate(() => (window as unknown as SpikeWindow).spike.candidatesWhenGathered());
    for (const candidate of loopbackCandidates(candidates)) endpoint.addRemoteCandidate(candidate);
    return answer;
  }

  async function reportTimings(page: Page, endpoint: SpikeEndpoint, label: string): Promise<void> {
    const marks = await page.evaluate(() => (window as unknown as SpikeWindow).spike.marks);
    const t0 = marks.setRemoteDescription ?? 0;
    const rel = (mark: number | undefined): string => (mark === undefined ? '?' : `${Math.round(mark - t0)}`);
    const t = endpoint.timings;
    console.log(`      ${label}, ms after the browser's setRemoteDescription(offer): answer at bridge ${rel(t.remoteSet)}, ` +
      `browser ICE checking ${rel(marks['ice-checking'])} / connected ${rel(marks['ice-connected'])}, bridge nominated ${rel(t.iceConnected)}, ` +
      `bridge DTLS done+fingerprint+CertificateVerify ok ${rel(t.dtlsConnected)}, browser DTLS connected ${rel(marks['dtls-connected'])}, pc connected ${rel(marks['pc-connected'])}`);
  }

  /** Echo the browser's video back on ECHO_SSRC; forward its keyframe requests to the sender. */
  function startEcho(endpoint: SpikeEndpoint, videoSsrc: number): { echoed: number; plisForwarded: number } {
    const counts = { echoed: 0, plisForwarded: 0 };
    endpoint.on('rtp', (packet: RtpPacket) => {
      if (packet.header.ssrc !== videoSsrc || packet.payload.length === 0) return;
      packet.header.ssrc = ECHO_SSRC;
      if (endpoint.sendRtp(packet)) counts.echoed++;
    });
    endpoint.on('rtcp', (rtcp) => {
      if (!keyframeRequests(rtcp).includes(ECHO_SSRC)) return;
      if (endpoint.sendRtcp(pli(ECHO_SSRC, videoSsrc))) counts.plisForwarded++;
    });
    return counts;
  }

  it('connects ICE (bridge controlling) and DTLS (bridge server), decrypts the browser’s SRTP and echoes video it decodes', async () => {
    const endpoint = newEndpoint('alice');
    const page = await newPage('alice');
    const connected = waitForState(endpoint, 'connected', 15_000);
    const answer = await negotiate(page, endpoint);
    assert.equal(answer.setup, 'active', 'the browser answers setup:active, so the bridge is the DTLS server');
    const videoSsrc = answer.ssrcs.video;
    const audioSsrc = answer.ssrcs.audio;
    assert.ok(videoSsrc !== undefined && audioSsrc !== undefined, 'the answer announces audio and video SSRCs');
    const echo = startEcho(endpoint, videoSsrc);
    const reason = await connected;
    // Ask for a keyframe right away so the echo starts with one (the bridge's own SRTCP, outbound).
    assert.ok(endpoint.sendRtcp(pli(ECHO_SSRC, videoSsrc)));

    const first = await page.evaluate(() => (window as unknown as SpikeWindow).spike.framesDecodedAtLeast(1, 15_000));
    const windowStart = { at: performance.now(), rtp: endpoint.stats.rtpPackets, rtcp: endpoint.stats.rtcpPackets, ns: endpoint.stats.decryptNs, cpu: process.cpuUsage() };
    const later = await page.evaluate((n) => (window as unknown as SpikeWindow).spike.framesDecodedAtLeast(n, 20_000), first.framesDecoded + 90);
    const windowEnd = { at: performance.now(), rtp: endpoint.stats.rtpPackets, rtcp: endpoint.stats.rtcpPackets, ns: endpoint.stats.decryptNs, cpu: process.cpuUsage(windowStart.cpu) };

    // The browser decodes the echoed video: bytesReceived and framesDecoded grow on inbound-rtp.
    assert.equal(later.ssrc, ECHO_SSRC);
    assert.ok(later.bytesReceived > first.bytesReceived, 'inbound-rtp video bytesReceived grows');
    assert.ok(later.framesDecoded >= first.framesDecoded + 90, 'inbound-rtp video framesDecoded grows');
    // The bridge decrypted both of the browser's streams with the negotiated payload types.
    const audio = endpoint.stats.perSsrc.get(audioSsrc);
    const video = endpoint.stats.perSsrc.get(videoSsrc);
    assert.ok(audio && audio.packets > 50, 'audio RTP decrypted');
    assert.ok(video && video.packets > 50, 'video RTP decrypted');
    assert.deepEqual([...audio.payloadTypes], [OPUS_PT]);
    assert.deepEqual([...video.payloadTypes], [VP8_PT]);
    assert.ok(endpoint.stats.rtcpPackets > 0, 'SRTCP from the browser decrypted');
    assert.equal(endpoint.stats.authFailures, 0);
    assert.equal(endpoint.stats.replayed, 0);
    assert.ok(echo.echoed > 50);
    // The browser decrypted our SRTCP PLI: its outbound video counts it.
    const outbound = await page.evaluate(() => (window as unknown as SpikeWindow).spike.outboundStats());
    assert.ok((outbound.video?.pliCount ?? 0) >= 1, `browser saw the bridge's PLI (${JSON.stringify(outbound.video)})`);

    const seconds = (windowEnd.at - windowStart.at) / 1000;
    const packets = windowEnd.rtp - windowStart.rtp + (windowEnd.rtcp - windowStart.rtcp);
    const usPerPacket = Number(windowEnd.ns - windowStart.ns) / 1000 / packets;
    const cpuPercent = ((windowEnd.cpu.user + windowEnd.cpu.system) / 1000 / (windowEnd.at - windowStart.at)) * 100;
    console.log(`      ${reason}; browser transport ${JSON.stringify(outbound.transport)}`);
    await reportTimings(page, endpoint, 'first endpoint in this process (cold code)');
    console.log(`      decrypted ${(packets / seconds).toFixed(0)} pkt/s over ${seconds.toFixed(1)} s (audio ${audio.packets}, video ${video.packets}, rtcp ${endpoint.stats.rtcpPackets} total), ` +
      `${usPerPacket.toFixed(1)} µs/packet in decrypt+parse+replay check (wall, CPU shared with Chromium); ` +
      `node process CPU ${cpuPercent.toFixed(1)} % over the window (all work: receive, decrypt, echo encrypt+send, timers)`);
    console.log(`      echoed ${echo.echoed} video packets (${(Number(endpoint.stats.encryptNs) / 1000 / endpoint.stats.rtpSent).toFixed(1)} µs/packet encrypt), ` +
      `browser framesDecoded ${later.framesDecoded} at width ${later.frameWidth}, browser PLIs forwarded ${echo.plisForwarded}`);
    console.log(`      mux: ${JSON.stringify(mux.stats)}`);
  });

  it('drops a replayed SRTP packet and random bytes after DTLS, and keeps decrypting', async () => {
    const endpoint = newEndpoint('bob');
    const page = await newPage('bob');
    await negotiate(page, endpoint);
    const captured = new Promise<Buffer>((resolve) => {
      const off = endpoint.on('srtp', (raw) => {
        if ((raw[1] ?? 0) >= 192 && (raw[1] ?? 0) <= 223) return; // RTCP
        off();
        resolve(Buffer.from(raw));
      });
    });
    await waitForState(endpoint, 'connected', 15_000);
    await reportTimings(page, endpoint, 'second endpoint (warm code)');
    const original = await captured;
    const from = endpoint.selectedAddress;
    assert.ok(from);
    const before = endpoint.stats.rtpPackets;
    endpoint.handleDatagram('media', original, from);
    assert.equal(endpoint.stats.replayed, 1, 'the replayed packet is counted and dropped');
    const garbage = Buffer.concat([Buffer.from([0x80, VP8_PT]), randomBytes(200)]);
    garbage.writeUInt32BE(0xdeadbeef, 8);
    endpoint.handleDatagram('media', garbage, from);
    assert.equal(endpoint.stats.authFailures, 1, 'random bytes fail authentication and are dropped');
    await new Promise<void>((resolve) => {
      const off = endpoint.on('rtp', () => {
        if (endpoint.stats.rtpPackets < before + 20) return;
        off();
        resolve();
      });
    });
    assert.ok(endpoint.stats.rtpPackets >= before + 20, 'decryption continues after the bad packets');
  });

  it('fails the endpoint and derives no SRTP keys when the DTLS client certificate does not match the signalled fingerprint', async () => {
    const endpoint = newEndpoint('mallory');
    const page = await newPage('mallory');
    const failed = waitForState(endpoint, 'failed', 15_000);
    await negotiate(page, endpoint, true);
    assert.match(await failed, /fingerprint/);
    assert.equal(endpoint.stats.rtpPackets, 0);
    assert.equal(endpoint.sendRtcp(pli(ECHO_SSRC, 1)), false, 'nothing can be sent without SRTP keys');
  });

  it('decrypts and re-encrypts 1 100-byte SRTP packets with werift-rtp well above one conference’s rate (synthetic, per core)', () => {
    for (const profile of [7, 1] as const) {
      const saltLength = profile === 7 ? 12 : 14;
      const [k1, s1, k2, s2] = [randomBytes(16), randomBytes(saltLength), randomBytes(16), randomBytes(saltLength)];
      const sender = new SrtpSession({ profile, keys: { localMasterKey: k1, localMasterSalt: s1, remoteMasterKey: k2, remoteMasterSalt: s2 } });
      const receiver = new SrtpSession({ profile, keys: { localMasterKey: k2, localMasterSalt: s2, remoteMasterKey: k1, remoteMasterSalt: s1 } });
      const replay = new ReplayWindow();
      const payload = randomBytes(1_100);
      const count = 20_000;
      const wire: Buffer[] = [];
      let started = process.hrtime.bigint();
      for (let i = 0; i < count; i++) {
        wire.push(sender.encrypt(payload, new RtpHeader({ payloadType: VP8_PT, sequenceNumber: (40_000 + i) & 0xffff, timestamp: i * 3_000, ssrc: 1234 })));
      }
      const encryptNs = Number(process.hrtime.bigint() - started) / count;
      started = process.hrtime.bigint();
      let ok = 0;
      for (const packet of wire) {
        const verdict = replay.check(1234, packet.readUInt16BE(2));
        if (!verdict.ok) continue;
        RtpPacket.deSerialize(receiver.decrypt(packet));
        replay.commit(1234, verdict.index);
        ok++;
      }
      const decryptNs = Number(process.hrtime.bigint() - started) / count;
      assert.equal(ok, count, 'every packet authenticated, across the 16-bit sequence wrap');
      const rate = 1e9 / decryptNs;
      console.log(`      profile ${profile === 7 ? 'AEAD_AES_128_GCM' : 'AES128_CM_HMAC_SHA1_80'}: encrypt ${(encryptNs / 1000).toFixed(1)} µs, ` +
        `replay check + decrypt + parse ${(decryptNs / 1000).toFixed(1)} µs → ${Math.round(rate)} pkt/s per core`);
      assert.ok(rate > 5_000, 'decrypts more than 5 000 packets per second');
    }
  });

  it('rejects a DTLS client that presents the signalled certificate but signs with another key (werift alone would accept it)', async () => {
    const victim = await generateCertificate();
    const attacker = await generateCertificate();
    const results: string[] = [];
    for (const keyPem of [victim.keyPem, attacker.keyPem]) {
      // An in-memory datagram pair: werift's DtlsClient ↔ the spike's DtlsLink (the bridge side).
      let toClient: (data: Buffer) => void = () => undefined;
      const link = new DtlsLink({
        certificate,
        localAddress: { address: '127.0.0.1', port: 0, family: 'IPv4' },
        send: (data) => setImmediate(() => toClient(data)),
        onListenerError: (event, error) => listenerErrors.push({ event, error }),
      });
      const transport: Transport = {
        type: 'memory',
        closed: false,
        address: { address: '127.0.0.1', port: 0, family: 'IPv4' },
        onData: () => undefined,
        send: async (data: Buffer) => void setImmediate(() => link.handle(data)),
        close: async () => undefined,
      };
      toClient = (data) => transport.onData(data, ['127.0.0.1', 0]);
      link.setRemoteFingerprints([victim.fingerprint]);
      const outcome = new Promise<string>((resolve) => {
        link.on('connected', () => resolve('connected'));
        link.on('failed', (error) => resolve(error.message));
      });
      const client = new DtlsClient({ transport, cert: victim.certPem, key: keyPem, signatureHash: victim.signatureHash, srtpProfiles: [7, 1], extendedMasterSecret: true });
      client.connect().catch((error: unknown) => results.push(`client: ${String(error)}`));
      results.push(await outcome);
      link.close();
      client.close();
    }
    assert.deepEqual(results, ['connected', 'DTLS client CertificateVerify: bad signature']);
  });
});
