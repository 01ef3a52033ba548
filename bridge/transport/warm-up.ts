// A DTLS handshake and an SRTP round trip between two in-memory links at start. The first handshake
// in a process is slow (cold code, lazy crypto setup): without this, a browser's first DTLS flights
// meet a server that blocks the event loop for tens of ms (measured in the transport spike). It also proves
// that both DTLS roles and both keying directions work with this certificate, and — when the
// native media path is in use — that its SRTP and the TypeScript one agree, both ways.

import type { Logger } from 'pino';
import type { NativeMedia } from '../native/index.ts';
import type { DtlsCertificate } from './certificate.ts';
import { DtlsLink, type SrtpKeyingMaterial } from './dtls-link.ts';
import { SrtpProtection } from './srtp-protection.ts';

/** Resolves with the milliseconds it took; rejects if the handshake fails or takes over `timeoutMs`. */
export async function warmUp(certificate: DtlsCertificate, log: Logger, native?: NativeMedia, timeoutMs = 10_000): Promise<number> {
  const started = performance.now();
  let toClient: (data: Buffer) => void = () => undefined;
  const server = new DtlsLink({ role: 'server', certificate, log, send: (data) => setImmediate(() => toClient(data)) });
  const client = new DtlsLink({ role: 'client', certificate, log, send: (data) => setImmediate(() => server.handle(data)) });
  toClient = (data) => client.handle(data);
  const keys = (link: DtlsLink): Promise<SrtpKeyingMaterial> =>
    new Promise((resolve, reject) => {
      link.events.on('connected', resolve);
      link.events.on('failed', reject);
    });
  let cancel: (() => void) | undefined;
  const timeout = new Promise<never>((_, reject) => {
    const timer = setTimeout(() => reject(new Error(`DTLS warm-up took over ${timeoutMs} ms`)), timeoutMs);
    cancel = () => clearTimeout(timer);
  });
  try {
    server.setRemoteFingerprints([certificate.fingerprint]);
    client.setRemoteFingerprints([certificate.fingerprint]);
    client.start();
    const [serverKeys, clientKeys] = await Promise.race([Promise.all([keys(server), keys(client)]), timeout]);
    const pairs: Array<[SrtpProtection, SrtpProtection]> = [
      [new SrtpProtection(clientKeys), new SrtpProtection(serverKeys, native)],
      [new SrtpProtection(serverKeys, native), new SrtpProtection(clientKeys)],
    ];
    const packet = Buffer.alloc(112);
    packet.writeUInt8(0x80, 0);
    packet.writeUInt8(96, 1);
    for (const [sender, receiver] of pairs) {
      for (let sequence = 0; sequence < 32; sequence++) {
        packet.writeUInt16BE(sequence, 2);
        const wire = sender.protectRtp(packet);
        const back = wire && receiver.unprotectRtp(wire);
        if (!back?.ok || !back.packet.equals(packet)) throw new Error('SRTP warm-up round trip failed');
      }
    }
    return performance.now() - started;
  } finally {
    cancel?.();
    server.close();
    client.close();
  }
}
