// Micro-benchmark of SRTP on the bridge's media path: µs per 1 100-byte RTP packet to protect,
// and to check against the replay window and unprotect, for both profiles browsers negotiate —
// SrtpProtection on the TypeScript path (srtp-cipher.ts, long-lived crypto contexts) and on the
// native path (bridge/native), against werift's SrtpSession used the way the bridge used it before
// (header parse + encrypt; replay check + decrypt). Also the two ways of computing HMAC-SHA1 that
// srtp-cipher.ts chose between, and a datagram's send on loopback: dgram's send against the
// native batch (sendmmsg), kernel time included.
// Not a test: `node --import tsx bench/bridge-srtp.ts [--packets N]`. Figures are CPU time (user +
// system) of this process, best of five rounds, so that other load on the machine skews them less.

import { createHash, createHmac, hash, randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { parseArgs } from 'node:util';
import { RtpHeader, SrtpSession } from 'werift';
import { estimateSrtpIndex, ReplayWindow } from '../bridge/rtp/replay.ts';
import { nativeMedia, NativeMediaSocket, UdpSendBatch } from '../bridge/native/index.ts';
import type { SrtpKeyingMaterial } from '../bridge/transport/dtls-link.ts';
import { SrtpProtection } from '../bridge/transport/srtp-protection.ts';

const { values } = parseArgs({ options: { packets: { type: 'string', default: '20000' } } });
const N = Number(values.packets);
const ROUNDS = 5;

/** CPU µs this process used since `started`. */
function cpuMicroseconds(started: NodeJS.CpuUsage): number {
  const { user, system } = process.cpuUsage(started);
  return user + system;
}

interface Protector {
  protectRtp(packet: Buffer): Buffer | undefined;
  unprotectRtp(packet: Buffer): { ok: boolean };
}

/** werift's SRTP session with a replay window per SSRC around it, as the bridge ran it before. */
class WeriftSrtp implements Protector {
  readonly #session: SrtpSession;
  readonly #windows = new Map<number, ReplayWindow>();

  constructor(keys: SrtpKeyingMaterial) {
    const { profile, localMasterKey, localMasterSalt, remoteMasterKey, remoteMasterSalt } = keys;
    this.#session = new SrtpSession({ profile, keys: { localMasterKey, localMasterSalt, remoteMasterKey, remoteMasterSalt } });
  }

  protectRtp(packet: Buffer): Buffer {
    const header = RtpHeader.deSerialize(packet);
    return this.#session.encrypt(packet.subarray(header.payloadOffset), header);
  }

  unprotectRtp(packet: Buffer): { ok: boolean } {
    const ssrc = packet.readUInt32BE(8);
    let window = this.#windows.get(ssrc);
    const index = estimateSrtpIndex(window?.highest ?? -1, packet.readUInt16BE(2));
    if (window && window.check(index) !== 'ok') return { ok: false };
    try {
      this.#session.decrypt(packet);
    } catch {
      return { ok: false };
    }
    if (!window) this.#windows.set(ssrc, (window = new ReplayWindow()));
    window.update(index);
    return { ok: true };
  }
}

function rtp(sequence: number): Buffer {
  const packet = Buffer.concat([Buffer.alloc(12), randomBytes(1_100)]);
  packet[0] = 0x80;
  packet[1] = 100;
  packet.writeUInt16BE(sequence & 0xffff, 2);
  packet.writeUInt32BE((sequence * 3000) >>> 0, 4);
  packet.writeUInt32BE(0x11223344, 8);
  return packet;
}

function measure(create: (keys: SrtpKeyingMaterial) => Protector, profile: 1 | 7, saltLength: number): { protect: number; unprotect: number } {
  let protect = Infinity;
  let unprotect = Infinity;
  for (let round = 0; round < ROUNDS; round++) {
    const [k1, s1, k2, s2] = [randomBytes(16), randomBytes(saltLength), randomBytes(16), randomBytes(saltLength)];
    const sender = create({ profile, localMasterKey: k1, localMasterSalt: s1, remoteMasterKey: k2, remoteMasterSalt: s2 });
    const receiver = create({ profile, localMasterKey: k2, localMasterSalt: s2, remoteMasterKey: k1, remoteMasterSalt: s1 });
    const plain = Array.from({ length: N }, (_, i) => rtp(round * N + i));
    let started = process.cpuUsage();
    const wire = plain.map((p) => sender.protectRtp(p)!);
    protect = Math.min(protect, cpuMicroseconds(started) / N);
    started = process.cpuUsage();
    let ok = 0;
    for (const packet of wire) if (receiver.unprotectRtp(packet).ok) ok++;
    unprotect = Math.min(unprotect, cpuMicroseconds(started) / N);
    if (ok !== N) throw new Error(`profile ${profile}: ${N - ok} packets failed`);
  }
  return { protect, unprotect };
}

const us = (value: number): string => `${value.toFixed(1).padStart(5)} µs`;

const addon = nativeMedia().native;
console.log(`CPU µs per 1 100-byte RTP packet, best of ${ROUNDS} rounds of ${N}${addon ? '' : ' (native path not built)'}:`);
for (const { profile, name, saltLength } of [
  { profile: 7 as const, name: 'AEAD_AES_128_GCM', saltLength: 12 },
  { profile: 1 as const, name: 'AES128_CM_HMAC_SHA1_80', saltLength: 14 },
]) {
  const before = measure((keys) => new WeriftSrtp(keys), profile, saltLength);
  const after = measure((keys) => new SrtpProtection(keys), profile, saltLength);
  const native = addon ? measure((keys) => new SrtpProtection(keys, addon), profile, saltLength) : undefined;
  console.log(
    `${name.padEnd(24)} protect: werift ${us(before.protect)}  TypeScript ${us(after.protect)}  native ${native ? us(native.protect) : '  -'}   ` +
      `replay check + unprotect: werift ${us(before.unprotect)}  TypeScript ${us(after.unprotect)}  native ${native ? us(native.unprotect) : '  -'}`,
  );
}

// HMAC-SHA1 over a 1 116-byte authenticated portion: a new Hmac per packet; copies of the
// precomputed inner and outer SHA-1 states (RFC 2104) and two digests; or two one-shot hashes over
// buffers that hold the pads (what srtp-cipher.ts does).
const key = randomBytes(20);
const message = randomBytes(1_116);
const inner = createHash('sha1').update(Buffer.alloc(64, 0x36).map((b, i) => (i < key.length ? b ^ key[i]! : b)));
const outer = createHash('sha1').update(Buffer.alloc(64, 0x5c).map((b, i) => (i < key.length ? b ^ key[i]! : b)));
const viaStates = (): Buffer => outer.copy().update(inner.copy().update(message).digest()).digest();
const padded = Buffer.concat([Buffer.alloc(64, 0x36).map((b, i) => (i < key.length ? b ^ key[i]! : b)), message]);
const outerPadded = Buffer.concat([Buffer.alloc(64, 0x5c).map((b, i) => (i < key.length ? b ^ key[i]! : b)), Buffer.alloc(20)]);
const viaOneShots = (): Buffer => {
  hash('sha1', padded, 'buffer').copy(outerPadded, 64);
  return hash('sha1', outerPadded, 'buffer');
};
const reference = createHmac('sha1', key).update(message).digest();
if (!viaStates().equals(reference) || !viaOneShots().equals(reference)) throw new Error('HMAC variants disagree');
for (const [name, run] of [
  ['createHmac per packet', () => createHmac('sha1', key).update(message).digest()],
  ['copied SHA-1 states', viaStates],
  ['two one-shot hashes', viaOneShots],
] as const) {
  let best = Infinity;
  for (let round = 0; round < ROUNDS; round++) {
    const started = process.cpuUsage();
    for (let i = 0; i < N; i++) run();
    best = Math.min(best, cpuMicroseconds(started) / N);
  }
  console.log(`HMAC-SHA1 ${name.padEnd(22)} ${us(best)}`);
}

// One 1 128-byte datagram to a socket on loopback, CPU of this process (the kernel's delivery on
// loopback is done in the sender's system call, so it counts): dgram's send, one call each, against
// the native batch flushed after each burst — with and without UDP GSO (salon_media.cc
// UdpBatch::SendAll), for three shapes of burst: 20 datagrams to one peer, a room of three's (5
// packets of a frame to each of 2 receivers, interleaved) and a frame's first packet to 19
// receivers (nothing to coalesce: what grouping costs when it finds nothing).
const sender = createSocket('udp4');
await new Promise<void>((resolve) => sender.bind(0, '127.0.0.1', resolve));
const sinks = await Promise.all(Array.from({ length: 19 }, async () => {
  const sink = createSocket({ type: 'udp4', recvBufferSize: 4 << 20 });
  await new Promise<void>((resolve) => sink.bind(0, '127.0.0.1', resolve));
  sink.on('message', () => undefined);
  return { host: '127.0.0.1', port: sink.address().port, sink };
}));
const datagram = randomBytes(1_128);
const batches = addon ? [false, true].map((segmentation) => UdpSendBatch.forSocket(addon, sender, () => undefined, segmentation)!) : [];
const shapes: Array<[string, number[]]> = [
  ['20 to one peer', Array(20).fill(0)],
  ['5 each to 2 peers', Array.from({ length: 10 }, (_, i) => i % 2)],
  ['1 each to 19 peers', Array.from({ length: 19 }, (_, i) => i)],
];
/** Datagrams sent in bursts of `shape` (peer indexes), each followed by the end of the event loop turn (which flushes the batch and lets the sinks read); best CPU µs per datagram. */
async function sendBursts(shape: number[], send: (peer: number) => void): Promise<number> {
  let best = Infinity;
  const bursts = Math.ceil(N / 4 / shape.length);
  for (let round = 0; round < ROUNDS; round++) {
    const started = process.cpuUsage();
    for (let burst = 0; burst < bursts; burst++) {
      for (const peer of shape) send(peer);
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    best = Math.min(best, cpuMicroseconds(started) / (bursts * shape.length));
  }
  return best;
}
console.log(`UDP ${'dgram send per datagram'.padEnd(40)} ${us(await sendBursts(shapes[0]![1], () => sender.send(datagram, sinks[0]!.port, sinks[0]!.host)))} (sender and sinks in this process)`);
for (const [shape, peers] of shapes) {
  for (const [i, batch] of batches.entries()) {
    const name = `sendmmsg, ${shape}${i === 1 ? ', GSO' : ''}`;
    console.log(`UDP ${name.padEnd(40)} ${us(await sendBursts(peers, (peer) => batch.queue(datagram, sinks[peer]!)))}`);
  }
}
for (const batch of batches) batch.close();

// Reading SRTP on the media socket (NativeMediaSocket, recvmmsg): bursts of 20 datagrams of
// 1 128 bytes, a room of three's shape (10 senders' packets, interleaved), sent with the native
// batch; CPU of this process per datagram read, the send included (the same in both rows):
// unprotected by the handler (SrtpProtection.unprotectRtp: a call into the addon per packet, a
// result object and a shorter view), against by the read itself (bindReceiver: the handler gets
// the plaintext and the outcome).
if (addon) {
  const PEERS = 10;
  const BURST = 20;
  const media = new NativeMediaSocket(addon, '127.0.0.1', 0, 4 << 20);
  const peers = await Promise.all(Array.from({ length: PEERS }, async () => {
    const socket = createSocket({ type: 'udp4', sendBufferSize: 4 << 20 });
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    return { socket, batch: UdpSendBatch.forSocket(addon, socket, () => undefined, false)!, to: { host: '127.0.0.1', port: media.port } };
  }));
  const [k1, s1, k2, s2] = [randomBytes(16), randomBytes(12), randomBytes(16), randomBytes(12)];
  const sending = { profile: 7 as const, localMasterKey: k1, localMasterSalt: s1, remoteMasterKey: k2, remoteMasterSalt: s2 };
  const receiving = { profile: 7 as const, localMasterKey: k2, localMasterSalt: s2, remoteMasterKey: k1, remoteMasterSalt: s1 };
  const bursts = Math.ceil(N / BURST);
  let mode: 'handler' | 'read' = 'handler';
  let current: Map<number, SrtpProtection> = new Map();
  let received = 0;
  let refused = 0;
  media.receive((data, from, _arrival, unprotected) => {
    received++;
    if (mode === 'read') {
      if (unprotected === undefined || unprotected.outcome < 0) refused++;
      return;
    }
    if (!current.get(from.port)!.unprotectRtp(data).ok) refused++;
  });
  const rows: Array<[string, number]> = [];
  for (const row of ['handler', 'read'] as const) {
    let best = Infinity;
    for (let round = 0; round < ROUNDS; round++) {
      // Fresh keys and windows each round: every packet is new to its receiver.
      const senders = peers.map(() => new SrtpProtection(sending, addon));
      current = new Map(peers.map((peer) => [peer.socket.address().port, new SrtpProtection(receiving, addon)]));
      mode = row;
      for (const peer of peers) media.bindReceiver({ host: '127.0.0.1', port: peer.socket.address().port }, row === 'read' ? current.get(peer.socket.address().port)!.nativeReceiver : undefined);
      const wire = Array.from({ length: bursts * BURST }, (_, i) => senders[i % PEERS]!.protectRtp(rtp(Math.floor(i / PEERS)))!);
      received = 0;
      const started = process.cpuUsage();
      for (let burst = 0; burst < bursts; burst++) {
        for (let i = burst * BURST; i < (burst + 1) * BURST; i++) peers[i % PEERS]!.batch.queue(wire[i]!, peers[i % PEERS]!.to);
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
      for (let i = 0; i < 100 && received < bursts * BURST; i++) await new Promise<void>((resolve) => setImmediate(resolve));
      best = Math.min(best, cpuMicroseconds(started) / (bursts * BURST));
    }
    rows.push([row, best]);
  }
  if (refused > 0) throw new Error(`${refused} SRTP datagrams refused`);
  console.log(`SRTP read, unprotected by the handler            ${us(rows[0]![1])} (send included)`);
  console.log(`SRTP read, unprotected by the read (bindReceiver) ${us(rows[1]![1])}`);
  media.close();
  for (const peer of peers) {
    peer.batch.close();
    peer.socket.close();
  }
}
sender.close();
for (const { sink } of sinks) sink.close();
