// Preloaded into the server child by `--udp-buffer BYTES` (an experiment, not Salon's behaviour):
// every UDP socket the server creates asks for receive and send buffers of that size (the kernel caps
// them at net.core.rmem_max / wmem_max), to measure the bridge without the default ~208 KiB buffer.
import dgram, { type SocketOptions } from 'node:dgram';
import { syncBuiltinESMExports } from 'node:module';

const bytes = Number(process.env.SALON_BENCH_UDP_BUFFER);
if (bytes > 0) {
  const original = dgram.createSocket as (options: SocketOptions, listener?: unknown) => dgram.Socket;
  const patched = (options: SocketOptions | SocketOptions['type'], listener?: unknown): dgram.Socket =>
    original({ recvBufferSize: bytes, sendBufferSize: bytes, ...(typeof options === 'string' ? { type: options } : options) }, listener);
  dgram.createSocket = patched as typeof dgram.createSocket;
  syncBuiltinESMExports();
}
