// A scripted remote ICE agent (the browser's side) for unit tests: builds the binding requests and
// responses a controlled agent sends, with werift's STUN codec.

import { classes, Message, methods, parseMessage } from 'werift';
import type { RemoteAddress } from '../../../../bridge/transport/udp-mux.ts';

export interface SentDatagram {
  data: Buffer;
  to: RemoteAddress;
}

export class StunPeer {
  constructor(
    readonly ufrag: string,
    readonly pwd: string,
    /** The bridge's credentials. */
    readonly remote: { ufrag: string; pwd: string },
  ) {}

  /** A binding request to the bridge, as the controlled side sends it. */
  request(options: { role?: 'controlled' | 'controlling'; pwd?: string; fingerprint?: boolean; ufrag?: string } = {}): Message {
    const message = new Message(methods.BINDING, classes.REQUEST)
      .setAttribute('USERNAME', `${options.ufrag ?? this.remote.ufrag}:${this.ufrag}`)
      .setAttribute('PRIORITY', 1_853_824_767);
    if (options.role === 'controlling') message.setAttribute('ICE-CONTROLLING', 42n);
    else message.setAttribute('ICE-CONTROLLED', 42n);
    message.addMessageIntegrity(Buffer.from(options.pwd ?? this.remote.pwd, 'utf8'));
    if (options.fingerprint !== false) message.addFingerprint();
    return message;
  }

  /** Our answer to one of the bridge's requests (success, or an error code). */
  respond(requestBytes: Buffer, from: RemoteAddress, error?: [number, string]): Buffer {
    const request = parseMessage(requestBytes);
    if (!request) throw new Error('not STUN');
    const response = error
      ? new Message(methods.BINDING, classes.ERROR, request.transactionId).setAttribute('ERROR-CODE', error)
      : new Message(methods.BINDING, classes.RESPONSE, request.transactionId).setAttribute('XOR-MAPPED-ADDRESS', [from.host, from.port]);
    return response.addMessageIntegrity(Buffer.from(this.pwd, 'utf8')).addFingerprint().bytes;
  }
}

/** Parses a datagram the bridge sent, which must be STUN. */
export function stun(data: Buffer): Message {
  const message = parseMessage(data);
  if (!message) throw new Error('not a STUN message');
  return message;
}
