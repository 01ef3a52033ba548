/**
 * A client of our own for one bridge endpoint on a real MediaTransport, on a plain UDP socket: a
 * scripted ICE agent (the controlled side, answering the bridge's checks), werift's DTLS client
 * through DtlsLink, and SrtpProtection once keyed. For integration tests below the focus, where a
 * browser would be more than the test needs.
 */
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import type { Logger } from 'pino';
import { classes } from 'werift';
import type { Endpoint } from '../../bridge/endpoint.ts';
import { generateCertificate } from '../../bridge/transport/certificate.ts';
import { DtlsLink, type SrtpKeyingMaterial } from '../../bridge/transport/dtls-link.ts';
import type { MediaTransport } from '../../bridge/transport/index.ts';
import { SrtpProtection } from '../../bridge/transport/srtp-protection.ts';
import { StunPeer, stun } from '../unit/bridge/transport/stun-peer.ts';

export interface ScriptedClient {
  readonly socket: Socket;
  /** Keyed once the endpoint is connected. */
  readonly srtp: SrtpProtection;
  /** A datagram to the bridge's media port. */
  send(data: Buffer): void;
  /** Stops answering and sending; the socket closes. */
  close(): void;
}

/** An RTP packet (Opus-like, 200 bytes of payload) of `ssrc` numbered `sequence`. */
export function scriptedRtp(sequence: number, ssrc = 0x9abc_def0): Buffer {
  const packet = Buffer.alloc(12 + 200, sequence & 0xff);
  packet[0] = 0x80;
  packet[1] = 111;
  packet.writeUInt16BE(sequence & 0xffff, 2);
  packet.writeUInt32BE((sequence * 960) >>> 0, 4);
  packet.writeUInt32BE(ssrc, 8);
  return packet;
}

export async function waitFor(what: string, predicate: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Connects a client to `endpoint` (ICE, DTLS as the active side, SRTP keys) and resolves once both ends are keyed. */
/** `bound`: called with the client's address once its socket is bound, before anything is sent. */
export async function connectScriptedClient(media: MediaTransport, endpoint: Endpoint, log: Logger, ice: { ufrag: string; pwd: string }, bound?: (address: { host: string; port: number }) => void): Promise<ScriptedClient> {
  const local = endpoint.localTransport();
  const certificate = await generateCertificate();
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  bound?.({ host: '127.0.0.1', port: socket.address().port });
  let open = true;
  const send = (data: Buffer): void => {
    if (open) socket.send(data, media.port, '127.0.0.1');
  };
  const peer = new StunPeer(ice.ufrag, ice.pwd, local);
  const dtls = new DtlsLink({ role: 'client', certificate, log, send });
  dtls.setRemoteFingerprints([local.fingerprint]);
  let keys: SrtpKeyingMaterial | undefined;
  dtls.events.on('connected', (k) => (keys = k));
  socket.on('message', (data, from) => {
    const first = data[0]!;
    if (first < 4) {
      if (stun(data).messageClass === classes.REQUEST) send(peer.respond(data, { host: from.address, port: from.port }));
    } else if (first >= 20 && first < 64) {
      dtls.handle(data);
    }
  });
  const close = (): void => {
    if (!open) return;
    open = false;
    dtls.close();
    socket.close();
  };
  try {
    send(peer.request().bytes);
    endpoint.setRemoteTransport({ ...ice, fingerprints: [{ ...certificate.fingerprint, setup: 'active' }], candidates: [] });
    dtls.start();
    await waitFor(`${endpoint.id} connected and its client keyed`, () => endpoint.state === 'connected' && keys !== undefined);
  } catch (err) {
    close();
    throw err;
  }
  return { socket, srtp: new SrtpProtection(keys!), send, close };
}
