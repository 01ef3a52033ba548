// Micro-benchmark of SRTP on the bridge's media path: µs per 1 100-byte RTP packet to protect,
// and to check against the replay window and unprotect, for both profiles browsers negotiate.
// Not a test: `node --import tsx bench/bridge-srtp.ts [--packets N]` (best of three rounds).

import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import type { SrtpKeyingMaterial } from '../bridge/transport/dtls-link.ts';
import { SrtpProtection } from '../bridge/transport/srtp-protection.ts';

const { values } = parseArgs({ options: { packets: { type: 'string', default: '20000' } } });
const N = Number(values.packets);

function rtp(sequence: number): Buffer {
  const packet = Buffer.concat([Buffer.alloc(12), randomBytes(1_100)]);
  packet[0] = 0x80;
  packet[1] = 100;
  packet.writeUInt16BE(sequence & 0xffff, 2);
  packet.writeUInt32BE(sequence * 3000, 4);
  packet.writeUInt32BE(0x11223344, 8);
  return packet;
}

for (const { profile, name, saltLength } of [
  { profile: 7 as const, name: 'AEAD_AES_128_GCM', saltLength: 12 },
  { profile: 1 as const, name: 'AES128_CM_HMAC_SHA1_80', saltLength: 14 },
]) {
  let bestProtect = Infinity;
  let bestUnprotect = Infinity;
  for (let round = 0; round < 3; round++) {
    const [k1, s1, k2, s2] = [randomBytes(16), randomBytes(saltLength), randomBytes(16), randomBytes(saltLength)];
    const a: SrtpKeyingMaterial = { profile, localMasterKey: k1, localMasterSalt: s1, remoteMasterKey: k2, remoteMasterSalt: s2 };
    const b: SrtpKeyingMaterial = { profile, localMasterKey: k2, localMasterSalt: s2, remoteMasterKey: k1, remoteMasterSalt: s1 };
    const sender = new SrtpProtection(a);
    const receiver = new SrtpProtection(b);
    const plain = Array.from({ length: N }, (_, i) => rtp(round * N + i));
    let started = process.hrtime.bigint();
    const wire = plain.map((p) => sender.protectRtp(p)!);
    bestProtect = Math.min(bestProtect, Number(process.hrtime.bigint() - started) / 1000 / N);
    started = process.hrtime.bigint();
    let ok = 0;
    for (const packet of wire) if (receiver.unprotectRtp(packet).ok) ok++;
    bestUnprotect = Math.min(bestUnprotect, Number(process.hrtime.bigint() - started) / 1000 / N);
    if (ok !== N) throw new Error(`${name}: ${N - ok} packets failed`);
  }
  console.log(`${name.padEnd(24)} protect ${bestProtect.toFixed(1)} µs   replay check + unprotect ${bestUnprotect.toFixed(1)} µs   per 1 100-byte packet (${N} packets)`);
}
