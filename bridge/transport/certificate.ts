// The bridge's DTLS certificate (ECDSA P-256, made by werift's generator) and the SHA-256
// fingerprint announced in Colibri2 (jitsi-protocol.md §6.2, §8.2). One per MediaTransport.

import { X509Certificate } from 'node:crypto';
import { CipherContext, HashAlgorithm, NamedCurveAlgorithm, SignatureAlgorithm, type SignatureHash } from 'werift';

export interface DtlsCertificate {
  readonly certPem: string;
  readonly keyPem: string;
  readonly signatureHash: SignatureHash;
  /** `sha-256` fingerprint, upper-case colon hex as in SDP `a=fingerprint` and Jingle. */
  readonly fingerprint: { readonly hash: 'sha-256'; readonly value: string };
}

export async function generateCertificate(): Promise<DtlsCertificate> {
  const { certPem, keyPem, signatureHash } = await CipherContext.createSelfSignedCertificateWithKey(
    { hash: HashAlgorithm.sha256_4, signature: SignatureAlgorithm.ecdsa_3 },
    NamedCurveAlgorithm.secp256r1_23,
  );
  return { certPem, keyPem, signatureHash, fingerprint: { hash: 'sha-256', value: new X509Certificate(certPem).fingerprint256 } };
}
