// DTLS 1.2 record and handshake fragment headers (RFC 6347 §4.1, §4.2.2), read before anything is
// handed to werift: DtlsLink decides from them what werift may see and what its handshake
// reassembly may keep (dtls-link.ts).

/** TLS ContentType (RFC 5246 §6.2.1). */
export const ContentType = { changeCipherSpec: 20, alert: 21, handshake: 22, applicationData: 23 } as const;

/** HandshakeType values DtlsLink looks at (RFC 5246 §7.4, RFC 6347 §4.2.1). */
export const HandshakeType = { helloVerifyRequest: 3, finished: 20 } as const;

/** type (1), version (2), epoch (2), sequence_number (6), length (2). */
export const RECORD_HEADER_BYTES = 13;
/** msg_type (1), length (3), message_seq (2), fragment_offset (3), fragment_length (3). */
export const HANDSHAKE_HEADER_BYTES = 12;

export interface DtlsRecord {
  readonly contentType: number;
  readonly versionMajor: number;
  readonly versionMinor: number;
  readonly epoch: number;
  /** 48 bits: exact as a number. */
  readonly sequenceNumber: number;
  /** The whole record, header included: a view of the datagram it was read from. */
  readonly bytes: Buffer;
  /** DTLSPlaintext.fragment: plaintext at epoch 0, protected by the cipher after. */
  readonly fragment: Buffer;
}

export interface HandshakeFragment {
  readonly msgType: number;
  /** The whole message's length, as this fragment claims it. */
  readonly length: number;
  readonly messageSeq: number;
  readonly fragmentOffset: number;
  readonly fragmentLength: number;
}

/**
 * The records of one datagram, or undefined unless it is one or more whole records, each within it
 * (a datagram must not cut a record: RFC 6347 §4.1.1).
 */
export function parseRecords(datagram: Buffer): DtlsRecord[] | undefined {
  if (datagram.length === 0) return undefined;
  const records: DtlsRecord[] = [];
  let offset = 0;
  while (offset < datagram.length) {
    if (offset + RECORD_HEADER_BYTES > datagram.length) return undefined;
    const end = offset + RECORD_HEADER_BYTES + datagram.readUInt16BE(offset + 11);
    if (end > datagram.length) return undefined;
    records.push({
      contentType: datagram.readUInt8(offset),
      versionMajor: datagram.readUInt8(offset + 1),
      versionMinor: datagram.readUInt8(offset + 2),
      epoch: datagram.readUInt16BE(offset + 3),
      sequenceNumber: datagram.readUIntBE(offset + 5, 6),
      bytes: datagram.subarray(offset, end),
      fragment: datagram.subarray(offset + RECORD_HEADER_BYTES, end),
    });
    offset = end;
  }
  return records;
}

/**
 * The handshake fragment headers in a handshake record's plaintext, or undefined unless they fill
 * it exactly (each header whole, each fragment_length within the record).
 */
export function parseHandshakeFragments(plaintext: Buffer): HandshakeFragment[] | undefined {
  const fragments: HandshakeFragment[] = [];
  let offset = 0;
  while (offset < plaintext.length) {
    if (offset + HANDSHAKE_HEADER_BYTES > plaintext.length) return undefined;
    const fragment: HandshakeFragment = {
      msgType: plaintext.readUInt8(offset),
      length: plaintext.readUIntBE(offset + 1, 3),
      messageSeq: plaintext.readUInt16BE(offset + 4),
      fragmentOffset: plaintext.readUIntBE(offset + 6, 3),
      fragmentLength: plaintext.readUIntBE(offset + 9, 3),
    };
    offset += HANDSHAKE_HEADER_BYTES + fragment.fragmentLength;
    if (offset > plaintext.length) return undefined;
    fragments.push(fragment);
  }
  return fragments;
}

/** Whether a fragment is less (or, malformed, other) than its whole message: a receiver must keep it to reassemble. */
export function isPartial(fragment: HandshakeFragment): boolean {
  return fragment.fragmentLength !== fragment.length;
}

/** Whether a partial fragment is a message's last: it reaches the message's end. */
export function endsMessage(fragment: HandshakeFragment): boolean {
  return isPartial(fragment) && fragment.fragmentOffset + fragment.fragmentLength === fragment.length;
}
