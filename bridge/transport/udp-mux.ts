// Shares one UDP socket among every endpoint: STUN requests are routed by the local ufrag in their
// USERNAME, STUN responses by transaction id, DTLS and SRTP by a remote address that an endpoint
// bound after an authenticated ICE check. Socket-free: the owner feeds receive() and supplies send.
//
// Packet classes by first byte, RFC 7983 §7: 0-3 STUN, 20-63 DTLS, 128-191 RTP/RTCP. This is how
// jitsi-videobridge shares port 10000 (jitsi-protocol.md §8.1). Every routing map is capped so a
// flood of addresses or transactions cannot grow memory; an unknown ufrag gets no answer and leaves
// no state (the port must not be an amplifier nor a memory sink).

import { classes, parseMessage, type Message } from 'werift';
import type { UnprotectedRead } from '../native/index.ts';

export interface RemoteAddress {
  readonly host: string;
  readonly port: number;
  /** addressKey() made once, by a socket that gives one object per source (NativeMediaSocket). */
  readonly key?: string;
}

export function addressKey(address: RemoteAddress): string {
  return address.key ?? `${address.host}|${address.port}`;
}

/** What an endpoint handles once the mux has routed a datagram to it. */
export interface MuxClient {
  /** A binding request whose USERNAME starts with this client's ufrag (integrity not yet checked). */
  handleStunRequest(message: Message, raw: Buffer, from: RemoteAddress): void;
  /** A response to a transaction this client registered (integrity not yet checked). */
  handleStunResponse(message: Message, raw: Buffer, from: RemoteAddress): void;
  /** DTLS or RTP/RTCP from an address this client bound. */
  /**
   * `arrival`: when the kernel received it, on the process clock (performance.now()), when the
   * socket tells. `unprotected`: set when the socket's read unprotected the SRTP packet
   * (NativeMediaSocket.bindReceiver): by which transform, with what outcome (valid during the call only).
   */
  handleDatagram(kind: 'dtls' | 'media', data: Buffer, from: RemoteAddress, arrival?: number, unprotected?: UnprotectedRead): void;
}

/** Upper bounds of the routing maps. */
export interface UdpMuxLimits {
  /** Registered ufrags, i.e. endpoints (default 4096). */
  maxClients: number;
  /** Bound remote addresses over all clients (default 16384). */
  maxAddresses: number;
  /** Bound remote addresses of one client (default 8). */
  maxAddressesPerClient: number;
  /** Outstanding STUN transactions over all clients (default 16384). */
  maxTransactions: number;
}

export const DEFAULT_MUX_LIMITS: UdpMuxLimits = {
  maxClients: 4096,
  maxAddresses: 16_384,
  maxAddressesPerClient: 8,
  maxTransactions: 16_384,
};

export interface UdpMuxStats {
  stunRequests: number;
  stunResponses: number;
  dtls: number;
  media: number;
  /** Unknown ufrag, unknown transaction, unbound address, bad STUN or unknown class. */
  dropped: number;
}

interface ClientRoutes {
  readonly ufrag: string;
  readonly addresses: Set<string>;
  readonly transactions: Set<string>;
}

export class UdpMux {
  readonly #send: (data: Buffer, to: RemoteAddress) => void;
  readonly #limits: UdpMuxLimits;
  readonly #onClientError: (error: unknown) => void;
  readonly #byUfrag = new Map<string, MuxClient>();
  readonly #byAddress = new Map<string, MuxClient>();
  readonly #byTransaction = new Map<string, MuxClient>();
  readonly #clients = new Map<MuxClient, ClientRoutes>();
  #closed = false;
  readonly stats: UdpMuxStats = { stunRequests: 0, stunResponses: 0, dtls: 0, media: 0, dropped: 0 };

  /**
   * @param send writes one datagram to the socket
   * @param onClientError a client handler threw: our bug, to be logged at error
   */
  constructor(options: { send: (data: Buffer, to: RemoteAddress) => void; onClientError: (error: unknown) => void; limits?: Partial<UdpMuxLimits> }) {
    this.#send = options.send;
    this.#onClientError = options.onClientError;
    this.#limits = { ...DEFAULT_MUX_LIMITS, ...options.limits };
  }

  /** Sizes of the routing maps, for tests that check everything was removed. */
  get routes(): { ufrags: number; addresses: number; transactions: number } {
    return { ufrags: this.#byUfrag.size, addresses: this.#byAddress.size, transactions: this.#byTransaction.size };
  }

  /** Registers a client under its local ufrag; throws if the ufrag is taken or the mux is full. */
  addClient(ufrag: string, client: MuxClient): void {
    if (this.#closed) throw new Error('the UDP mux is closed');
    if (this.#byUfrag.has(ufrag) || this.#clients.has(client)) throw new Error(`ufrag ${ufrag} already registered`);
    if (this.#byUfrag.size >= this.#limits.maxClients) throw new Error(`UDP mux full (${this.#limits.maxClients} endpoints)`);
    this.#byUfrag.set(ufrag, client);
    this.#clients.set(client, { ufrag, addresses: new Set(), transactions: new Set() });
  }

  /** Removes the client's ufrag and every address and transaction routed to it. */
  removeClient(client: MuxClient): void {
    const routes = this.#clients.get(client);
    if (!routes) return;
    this.#clients.delete(client);
    this.#byUfrag.delete(routes.ufrag);
    for (const key of routes.addresses) this.#byAddress.delete(key);
    for (const id of routes.transactions) this.#byTransaction.delete(id);
  }

  /** Routes DTLS/media from this address to the client; false if taken by another client or over a cap. */
  bindAddress(address: RemoteAddress, client: MuxClient): boolean {
    const routes = this.#clients.get(client);
    if (!routes) return false;
    const key = addressKey(address);
    const owner = this.#byAddress.get(key);
    if (owner) return owner === client;
    if (routes.addresses.size >= this.#limits.maxAddressesPerClient || this.#byAddress.size >= this.#limits.maxAddresses) return false;
    this.#byAddress.set(key, client);
    routes.addresses.add(key);
    return true;
  }

  /** The client this address is bound to, if any (lets a test impairment follow every address of one endpoint). */
  clientAt(address: RemoteAddress): MuxClient | undefined {
    return this.#byAddress.get(addressKey(address));
  }

  unbindAddress(address: RemoteAddress, client: MuxClient): void {
    const key = addressKey(address);
    if (this.#byAddress.get(key) !== client) return;
    this.#byAddress.delete(key);
    this.#clients.get(client)?.addresses.delete(key);
  }

  /** Routes responses with this transaction id (hex) to the client; false over the cap. */
  addTransaction(transactionId: string, client: MuxClient): boolean {
    const routes = this.#clients.get(client);
    if (!routes || this.#byTransaction.size >= this.#limits.maxTransactions || this.#byTransaction.has(transactionId)) return false;
    this.#byTransaction.set(transactionId, client);
    routes.transactions.add(transactionId);
    return true;
  }

  removeTransaction(transactionId: string, client: MuxClient): void {
    if (this.#byTransaction.get(transactionId) !== client) return;
    this.#byTransaction.delete(transactionId);
    this.#clients.get(client)?.transactions.delete(transactionId);
  }

  send(data: Buffer, to: RemoteAddress): void {
    if (!this.#closed) this.#send(data, to);
  }

  /** Forgets every route; later datagrams are dropped and sends ignored. */
  close(): void {
    this.#closed = true;
    this.#byUfrag.clear();
    this.#byAddress.clear();
    this.#byTransaction.clear();
    this.#clients.clear();
  }

  /** One datagram from the socket; `arrival` and `unprotected` as MuxClient.handleDatagram's. */
  receive(data: Buffer, from: RemoteAddress, arrival?: number, unprotected?: UnprotectedRead): void {
    const first = data[0];
    if (this.#closed || first === undefined) {
      this.stats.dropped++;
      return;
    }
    try {
      if (first < 4) this.#receiveStun(data, from);
      else if (first >= 20 && first < 64) this.#receiveBound('dtls', data, from, arrival);
      else if (first >= 128 && first < 192) this.#receiveBound('media', data, from, arrival, unprotected);
      else this.stats.dropped++;
    } catch (error) {
      this.#onClientError(error);
    }
  }

  #receiveStun(data: Buffer, from: RemoteAddress): void {
    let message: Message | undefined;
    try {
      message = parseMessage(data);
    } catch {
      message = undefined; // a malformed STUN message is the peer's fault: counted below
    }
    if (!message) {
      this.stats.dropped++;
      return;
    }
    if (message.messageClass === classes.REQUEST) {
      const username: unknown = message.getAttributeValue('USERNAME');
      const ufrag = typeof username === 'string' ? username.split(':', 1)[0] : undefined;
      const client = ufrag === undefined ? undefined : this.#byUfrag.get(ufrag);
      if (!client) {
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
    this.stats.dropped++; // indications (keepalives) need no answer
  }

  #receiveBound(kind: 'dtls' | 'media', data: Buffer, from: RemoteAddress, arrival: number | undefined, unprotected?: UnprotectedRead): void {
    const client = this.#byAddress.get(addressKey(from));
    if (!client) {
      this.stats.dropped++;
      return;
    }
    if (kind === 'dtls') this.stats.dtls++;
    else this.stats.media++;
    client.handleDatagram(kind, data, from, arrival, unprotected);
  }
}
