import type { Transport } from 'werift';

/** werift's Transport delivering to `deliver` on the next turn, as a datagram would arrive (the DTLS link tests). */
export function memoryTransport(deliver: (data: Buffer) => void): Transport {
  return {
    type: 'memory',
    closed: false,
    address: { address: '127.0.0.1', port: 0, family: 'IPv4' },
    onData: () => undefined,
    send: async (data: Buffer) => void setImmediate(() => deliver(data)),
    close: async () => undefined,
  };
}
