// Peer authentication checks that werift's DTLS leaves out: the certificate's fingerprint against
// the signalled ones (RFC 8122 §5), and the proof that the peer holds the certificate's private key —
// the client's CertificateVerify (RFC 5246 §7.4.8) when we are the server, the ServerKeyExchange
// signature (RFC 8422 §5.4) when we are the client. werift 0.24.4 checks neither signature, so
// without these a peer replaying a signalled certificate it does not own would be accepted.

import { createHash, verify, X509Certificate } from 'node:crypto';
import type { DtlsSocket } from 'werift';

/** A signalled fingerprint: `hash` as in RFC 8122 (any case), `value` colon hex (any case). */
export interface FingerprintLike {
  readonly hash: string;
  readonly value: string;
}

const NODE_HASHES: Readonly<Record<string, string>> = {
  'sha-1': 'sha1',
  'sha-224': 'sha224',
  'sha-256': 'sha256',
  'sha-384': 'sha384',
  'sha-512': 'sha512',
};

/** True if the DER certificate matches any signalled fingerprint whose hash we know. */
export function fingerprintMatches(der: Buffer, fingerprints: readonly FingerprintLike[]): boolean {
  return fingerprints.some(({ hash, value }) => {
    const nodeHash = NODE_HASHES[hash.toLowerCase()];
    if (!nodeHash) return false;
    return createHash(nodeHash).update(der).digest('hex') === value.replaceAll(':', '').toLowerCase();
  });
}

/** TLS HashAlgorithm code points (RFC 5246 §7.4.1.4.1) to node hash names. */
const TLS_HASHES: Readonly<Record<number, string>> = { 2: 'sha1', 4: 'sha256', 5: 'sha384', 6: 'sha512' };

const HANDSHAKE = { clientHello: 1, serverHello: 2, serverKeyExchange: 12, certificateVerify: 15 } as const;

/** Verifies a TLS 1.2 `digitally-signed` struct (hash, signature algorithm, length, signature) over `data`. */
function verifyDigitallySigned(signed: Buffer, data: Buffer, certificateDer: Buffer): 'ok' | string {
  if (signed.length < 4) return 'truncated';
  const hash = TLS_HASHES[signed.readUInt8(0)];
  if (!hash) return `unsupported hash ${signed.readUInt8(0)}`;
  const length = signed.readUInt16BE(2);
  if (signed.length < 4 + length) return 'truncated signature';
  try {
    const key = new X509Certificate(certificateDer).publicKey;
    return verify(hash, data, key, signed.subarray(4, 4 + length)) ? 'ok' : 'bad signature';
  } catch (error) {
    return `unverifiable (${error instanceof Error ? error.message : String(error)})`;
  }
}

/**
 * Server side: the client's CertificateVerify over the handshake transcript before it (RFC 6347
 * §4.2.6: without the first ClientHello and the HelloVerifyRequest, as werift's cache keeps it).
 */
export function verifyClientCertificateVerify(server: DtlsSocket, clientCertificateDer: Buffer): 'ok' | string {
  const cache = server.dtls.sortedHandshakeCache;
  const index = cache.findIndex((h) => h.msg_type === HANDSHAKE.certificateVerify);
  const message = cache[index];
  if (!message) return 'missing';
  const transcript = Buffer.concat(cache.slice(0, index).map((h) => h.serialize()));
  return verifyDigitallySigned(message.fragment, transcript, clientCertificateDer);
}

/**
 * Client side: the ServerKeyExchange signature over client_random + server_random + the ECDH
 * parameters (RFC 8422 §5.4: curve_type, named_curve, point length, point).
 */
export function verifyServerKeyExchange(client: DtlsSocket, serverCertificateDer: Buffer): 'ok' | string {
  const cache = client.dtls.sortedHandshakeCache;
  const find = (type: number): Buffer | undefined => cache.find((h) => h.msg_type === type)?.fragment;
  const clientHello = find(HANDSHAKE.clientHello);
  const serverHello = find(HANDSHAKE.serverHello);
  const keyExchange = find(HANDSHAKE.serverKeyExchange);
  if (!clientHello || !serverHello || !keyExchange) return 'missing';
  // Hello bodies: client_version/server_version (2) then random (32).
  if (clientHello.length < 34 || serverHello.length < 34 || keyExchange.length < 4) return 'truncated';
  const paramsLength = 4 + keyExchange.readUInt8(3);
  if (keyExchange.length < paramsLength) return 'truncated';
  const signed = Buffer.concat([clientHello.subarray(2, 34), serverHello.subarray(2, 34), keyExchange.subarray(0, paramsLength)]);
  return verifyDigitallySigned(keyExchange.subarray(paramsLength), signed, serverCertificateDer);
}
