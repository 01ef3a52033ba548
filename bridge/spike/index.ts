// Spike of the bridge's media transport (one UDP port, ICE controlling, DTLS server, SRTP).
export { generateCertificate, type DtlsCertificate } from './certificate.ts';
export { DtlsLink, fingerprintMatches, verifyClientCertificateVerify, type RemoteFingerprint } from './dtls-link.ts';
export { candidatePriority, pairPriority, type IceCandidate } from './ice-agent.ts';
export {
  SpikeEndpoint,
  type EndpointState,
  type EndpointStats,
  type LocalTransportParameters,
  type RemoteTransportParameters,
} from './spike-endpoint.ts';
export { estimateIndex, ReplayWindow } from './srtp-replay.ts';
export { UdpMux, type RemoteAddress } from './udp-mux.ts';
