/**
 * One end of the iframe API's postMessage link, speaking Jitsi's postis + Transport protocol (see
 * ./wire.ts): the readiness handshake, buffering until ready, events, and requests matched to
 * their responses by id. Used by the page inside the iframe and by `/external_api.js` alike.
 *
 * Messages are taken only from the peer window object itself, only with the scope, and only
 * from one origin: the one given (the API knows its iframe's origin), or else the origin of the
 * peer's first scoped message (the page in the iframe learns its embedder's origin that way) —
 * Jitsi's own iframe side accepts any origin. Messages go to that origin too, rather than to "*",
 * except while it is unknown (readiness pings carry only a random id) or opaque: a `file:` page
 * such as the desktop app's meeting window, or a sandboxed one, cannot be named as a target.
 */
import {
  encodeEnvelope, MESSAGE_METHOD, parseEnvelope, parseTransportMessage, READY_METHOD, READY_PING_MS,
} from './wire.ts';

/** What a message event must offer (a DOM MessageEvent does). */
export interface MessageLike {
  readonly data: unknown;
  readonly origin: string;
  readonly source: unknown;
}

/** The window messages arrive at (a DOM Window is one). */
export interface MessageHost {
  addEventListener(type: 'message', listener: (event: MessageLike) => void): void;
  removeEventListener(type: 'message', listener: (event: MessageLike) => void): void;
}

/** The window at the other end (a DOM Window is one). */
export interface PostTarget {
  postMessage(message: string, targetOrigin: string): void;
}

/** Injected so unit tests drive the readiness pings without real time. */
export interface Timers {
  setInterval(fn: () => void, ms: number): unknown;
  clearInterval(handle: unknown): void;
}

export type Respond = (result: unknown, error?: unknown) => void;

export interface ChannelOptions {
  /** `jitsi_meet_external_api_<id>`. */
  readonly scope: string;
  readonly host: MessageHost;
  /** The peer window, or null once it is gone (an iframe removed from its page). */
  readonly peer: () => PostTarget | null;
  /** The origin the peer must have; when absent, the origin of its first scoped message is kept. */
  readonly peerOrigin?: string;
  readonly onEvent: (data: unknown) => void;
  /** Must call `respond` once (a result, or undefined and an error). */
  readonly onRequest: (data: unknown, respond: Respond) => void;
  /** Default: the global timers. */
  readonly timers?: Timers;
  /** Messages kept while the peer is not ready yet; the oldest go first beyond it (default 1000). */
  readonly maxBuffered?: number;
  /** Where handler failures are reported (default console.error). */
  readonly reportError?: (what: string, err: unknown) => void;
  /** The readiness id (default: random). */
  readonly readyId?: string;
}

interface Pending {
  resolve(value: unknown): void;
  reject(reason: unknown): void;
}

const globalTimers: Timers = {
  setInterval: (fn, ms) => setInterval(fn, ms),
  clearInterval: (handle) => clearInterval(handle as ReturnType<typeof setInterval>),
};

/** A readiness id is a short random string; a longer one is not a postis peer's. */
const MAX_READY_ID_CHARS = 200;

function randomReadyId(): string {
  return `${Date.now()}-${Math.random()}`;
}

/** An origin postMessage cannot target: the serialisation of an opaque origin. */
function isOpaque(origin: string): boolean {
  return origin === 'null' || origin.startsWith('file:');
}

export class ApiChannel {
  readonly #options: ChannelOptions;
  readonly #timers: Timers;
  readonly #readyId: string;
  readonly #buffer: unknown[] = [];
  readonly #pending = new Map<number, Pending>();
  #origin: string | undefined;
  #ready = false;
  #closed = false;
  #lastRequestId = 0;
  #pinger: unknown;

  constructor(options: ChannelOptions) {
    this.#options = options;
    this.#timers = options.timers ?? globalTimers;
    this.#readyId = options.readyId ?? randomReadyId();
    this.#origin = options.peerOrigin;
    options.host.addEventListener('message', this.#onMessage);
    this.#pinger = this.#timers.setInterval(() => this.#post(READY_METHOD, this.#readyId), READY_PING_MS);
  }

  /** True once the peer has echoed our readiness id. */
  get ready(): boolean {
    return this.#ready;
  }

  /** The peer's origin once known. */
  get peerOrigin(): string | undefined {
    return this.#origin;
  }

  sendEvent(data: unknown): void {
    this.#send({ type: 'event', data });
  }

  /** Resolves with the peer's result, rejects with its error (or when the channel closes first). */
  request(data: unknown): Promise<unknown> {
    if (this.#closed) return Promise.reject(new Error('the iframe API channel is closed'));
    const id = ++this.#lastRequestId;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#send({ type: 'request', id, data });
    });
  }

  /** Stops listening and pinging and rejects the requests still waiting; idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#timers.clearInterval(this.#pinger);
    this.#options.host.removeEventListener('message', this.#onMessage);
    this.#buffer.length = 0;
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    for (const p of pending) p.reject(new Error('the iframe API channel is closed'));
  }

  readonly #onMessage = (event: MessageLike): void => {
    if (this.#closed) return;
    const peer = this.#options.peer();
    if (peer === null || event.source !== peer) return;
    if (this.#origin !== undefined && event.origin !== this.#origin) return;
    const envelope = parseEnvelope(event.data, this.#options.scope);
    if (!envelope) return;
    this.#origin ??= event.origin;
    if (envelope.method === READY_METHOD) this.#onReady(envelope.params);
    else if (envelope.method === MESSAGE_METHOD) this.#onTransportMessage(envelope.params);
  };

  #onReady(id: unknown): void {
    if (typeof id !== 'string' || id.length > MAX_READY_ID_CHARS) return;
    if (id !== this.#readyId) {
      this.#post(READY_METHOD, id); // the peer's id: echo it so the peer becomes ready
      return;
    }
    if (this.#ready) return;
    this.#ready = true;
    this.#timers.clearInterval(this.#pinger);
    for (const message of this.#buffer.splice(0)) this.#post(MESSAGE_METHOD, message);
  }

  #onTransportMessage(params: unknown): void {
    const message = parseTransportMessage(params);
    if (!message) return;
    switch (message.type) {
      case 'event':
        try {
          this.#options.onEvent(message.data);
        } catch (err) {
          this.#reportError('an iframe API event handler failed', err);
        }
        return;
      case 'request': {
        let answered = false;
        const respond: Respond = (result, error) => {
          if (answered || this.#closed) return;
          answered = true;
          this.#send({ type: 'response', id: message.id, result, error });
        };
        try {
          this.#options.onRequest(message.data, respond);
        } catch (err) {
          this.#reportError('an iframe API request handler failed', err);
          respond(undefined, 'InternalError');
        }
        return;
      }
      case 'response': {
        const pending = this.#pending.get(message.id);
        if (!pending) return;
        this.#pending.delete(message.id);
        // As Jitsi's Transport: a result resolves, an error alone rejects.
        if (message.result !== undefined) pending.resolve(message.result);
        else if (message.error !== undefined) pending.reject(message.error);
        else pending.reject(new Error('Unexpected response format!'));
      }
    }
  }

  #send(message: unknown): void {
    if (this.#closed) return;
    if (this.#ready) {
      this.#post(MESSAGE_METHOD, message);
      return;
    }
    this.#buffer.push(message);
    const max = this.#options.maxBuffered ?? 1000;
    if (this.#buffer.length > max) this.#buffer.splice(0, this.#buffer.length - max);
  }

  #post(method: string, params: unknown): void {
    const peer = this.#options.peer();
    if (peer === null) return;
    const origin = this.#origin;
    const target = origin === undefined || isOpaque(origin) ? '*' : origin;
    try {
      peer.postMessage(encodeEnvelope(this.#options.scope, method, params), target);
    } catch (err) {
      // A params value JSON cannot encode, or a peer that went away in between.
      this.#reportError('posting to the iframe API peer failed', err);
    }
  }

  #reportError(what: string, err: unknown): void {
    (this.#options.reportError ?? ((w, e) => console.error(w, e)))(what, err);
  }
}
