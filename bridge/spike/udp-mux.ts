// Shares one UDP socket among every endpoint: STUN requests are routed by the local ufrag in their
// USERNAME, STUN responses by transaction id, DTLS and SRTP by the ICE-validated remote address.
//
// Packet classes by first byte, RFC 7983 §7: 0-3 STUN, 20-63 DTLS, 128-191 RTP/RTCP. This is how
// jitsi-videobridge shares port 10000 (jitsi-protocol.md §8.1). werift-ice cannot do this itself:
// its Connection always binds its own socket per host address (see bridge/spike/README.md).

import { createSocket, type Socket } from 'node:dgram';
import { isIPv4 } from 'node:net';
import { classes, parseMessage, type Message } from 'werift';

export interface RemoteAddress {
  readonly host: string;
  readonly port: number;
}

export function addressKey(address: RemoteAddress): string {
  return `${address.host}|${address.port}`;
}

/** What an endpoint must handle once the mux has routed a datagram to it. */
export interface MuxClient {
  /** A binding request whose USERNAME starts with this client's ufrag (integrity not yet checked). */
  handleStunRequest(message: Message, raw: Buffer, from: RemoteAddress): void;
  /** A response to a transaction this client registered. */
  handleStunResponse(message: Message, raw: Buffer, from: RemoteAddress): void;
  /** DTLS or RTP/RTCP from an address this client bound after ICE validated it. */
  handleDatagram(kind: 'dtls' | 'media', data: Buffer, from: RemoteAddress): void;
}

export interface UdpMuxOptions {
  /** Address to bind (default 127.0.0.1). */
  host?: string;
  /** Port to bind; 0 (the default) picks an ephemeral one. */
  port?: number;
  /** Drop datagrams from sources this rejects (the spike accepts loopback only). */
  acceptSource?: (host: string) => boolean;
  /** Called when a client handler throws: our bug, to be logged at error. */
  onClientError?: (error: unknown) => void;
}

export interface UdpMuxStats {
  stunRequests: number;
  stunResponses: number;
  dtls: number;
  media: number;
  /** Unknown ufrag, unknown transaction, unbound address or bad class. */
  dropped: number;
  /** From a source acceptSource refused. */
  refused: number;
}

export class UdpMux {
  readonly #socket: Socket;
  readonly #byUfrag = new Map<string, MuxClient>();
  readonly #byAddress = new Map<string, MuxClient>();
  readonly #byTransaction = new Map<string, MuxClient>();
  readonly #acceptSource: (host: string) => boolean;
  readonly #onClientError: (error: unknown) => void;
  #closed: Promise<void> | undefined;
  readonly stats: UdpMuxStats = { stunRequests: 0, stunResponses: 0, dtls: 0, media: 0, dropped: 0, refused: 0 };

  private constructor(socket: Socket, options: UdpMuxOptions) {
    this.#socket = socket;
    this.#acceptSource = options.acceptSource ?? (() => true);
    this.#onClientError = options.onClientError ?? (() => undefined);
    socket.on('message', (data, rinfo) => this.#receive(data, { host: rinfo.address, port: rinfo.port }));
  }

  static async open(options: UdpMuxOptions = {}): Promise<UdpMux> {
    const host = options.host ?? '127.0.0.1';
    const socket = createSocket(isIPv4(host) ? 'udp4' : 'udp6');
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(options.port ?? 0, host, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    return new UdpMux(socket, options);
  }

  get localAddress(): RemoteAddress {
    const info = this.#socket.address();
    return { host: info.address, port: info.port };
  }

  /** Sizes of the routing maps, for tests that check everything was unbound on close. */
  get routes(): { ufrags: number; addresses: number; transactions: number } {
    return { ufrags: this.#byUfrag.size, addresses: this.#byAddress.size, transactions: this.#byTransaction.size };
  }

  addClient(ufrag: string, client: MuxClient): void {
    if (this.#byUfrag.has(ufrag)) throw new Error(`ufrag ${ufrag} already registered`);
    this.#byUfrag.set(ufrag, client);
  }

  /** Removes the client's ufrag and every address and transaction routed to it. */
  removeClient(ufrag: string, client: MuxClient): void {
    if (this.#byUfrag.get(ufrag) === client) this.#byUfrag.delete(ufrag);
    for (const map of [this.#byAddress, this.#byTransaction]) {
      for (const [key, value] of map) if (value === client) map.delete(key);
    }
  }

  /** Routes DTLS/media from this address to the client; returns false if another client has it. */
  bindAddress(address: RemoteAddress, client: MuxClient): boolean {
    const key = addressKey(address);
    const owner = this.#byAddress.get(key);
    if (owner && owner !== client) return false;
    this.#byAddress.set(key, client);
    return true;
  }

  unbindAddress(address: RemoteAddress, client: MuxClient): void {
    const key = addressKey(address);
    if (this.#byAddress.get(key) === client) this.#byAddress.delete(key);
  }

  addTransaction(transactionId: string, client: MuxClient): void {
    this.#byTransaction.set(transactionId, client);
  }

  removeTransaction(transactionId: string): void {
    this.#byTransaction.delete(transactionId);
  }

  send(data: Buffer, to: RemoteAddress): void {
    if (this.#closed) return;
    this.#socket.send(data, to.port, to.host);
  }

  close(): Promise<void> {
    this.#closed ??= new Promise<void>((resolve) => {
      this.#byUfrag.clear();
      this.#byAddress.clear();
      this.#byTransaction.clear();
      this.#socket.close(() => resolve());
    });
    return this.#closed;
  }

  #receive(data: Buffer, from: RemoteAddress): void {
    if (!this.#acceptSource(from.host)) {
      this.stats.refused++;
      return;
    }
    if (data.length === 0) {
      this.stats.dropped++;
      return;
    }
    const first = data[0] ?? 0;
    try {
      if (first < 4) this.#receiveStun(data, from);
      else if (first >= 20 && first < 64) this.#receiveBound('dtls', data, from);
      else if (first >= 128 && first < 192) this.#receiveBound('media', data, from);
      else this.stats.dropped++;
    } catch (error) {
      this.#onClientError(error);
    }
  }

  #receiveStun(data: Buffer, from: RemoteAddress): void {
    const message = parseMessage(data);
    if (!message) {
      this.stats.dropped++;
      return;
    }
    if (message.messageClass === classes.REQUEST) {
      const username: unknown = message.getAttributeValue('USERNAME');
      const ufrag = typeof username === 'string' ? username.split(':', 1)[0] : undefined;
      const client = ufrag === undefined ? undefined : this.#byUfrag.get(ufrag);
      if (!client) {
        // No state and no answer for unknown ufrags: the port must not be an amplifier.
        this.stats.dropped++;
        return;
      }
      this.stats.stunRequests++;
      client.handleStunRequest(message, data, from);
      return;
    }
    if (message.messageClass === classes.RESPONSE || message.messageClass === classes.ERROR) {
      const client = this.#byTransaction.get(message.transactionIdHex);
      if (!client) {
        this.stats.dropped++;
        return;
      }
      this.stats.stunResponses++;
      client.handleStunResponse(message, data, from);
      return;
    }
    this.stats.dropped++; // indications (e.g. keepalives) need no answer
  }

  #receiveBound(kind: 'dtls' | 'media', data: Buffer, from: RemoteAddress): void {
    const client = this.#byAddress.get(addressKey(from));
    if (!client) {
      this.stats.dropped++;
      return;
    }
    if (kind === 'dtls') this.stats.dtls++;
    else this.stats.media++;
    client.handleDatagram(kind, data, from);
  }
}
