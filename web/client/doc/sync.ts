/**
 * Keeps one shared document in sync over a WebSocket with sharedb's client: it loads the content,
 * sends local changes (sharedb keeps the one in flight and composes the pending ones), applies
 * other participants' changes, reconnects after a network drop (with a fresh token when it can
 * get one) and stops for good when the server says the conference ended or access is refused.
 * Editor-agnostic: the Quill binding is ./editor.ts.
 */
import ShareDB, { type Connection, type Doc } from 'sharedb/lib/client/index.js';
import type { Socket } from 'sharedb/lib/sharedb.js';
import { Delta, type Op } from './delta.ts';
import { richTextType } from './ot.ts';
import { PAD_COLLECTION, PAD_PATH, PadCloseCode } from './wire.ts';

ShareDB.types.register(richTextType);

export type SyncStatus =
  | 'connecting'
  /** Connected with the content loaded: changes go through as they are made. */
  | 'synced'
  /** The connection dropped; local changes wait and are sent on reconnection. */
  | 'offline'
  /** The conference ended: the document no longer exists on the server. */
  | 'ended'
  /** The server refused access (token expired or forged, occupant gone). */
  | 'refused';

export interface DocumentAddress {
  /** `ws(s)://host[/tenant]/pad/<id>` (token access) or `…/pad/<id>.<secret>` (capability). */
  url: string;
  /** The focus's token; absent when the URL carries the capability. */
  token?: string | undefined;
}

export interface SyncOptions extends DocumentAddress {
  /** A fresh address and token for each reconnection (tokens expire after a minute). */
  renew?: (() => Promise<DocumentAddress>) | undefined;
  /** The WebSocket class; default the browser's. */
  WebSocket?: typeof WebSocket;
  /** First and longest wait before reconnecting, in ms. Default 500 and 15000. */
  reconnectDelayMs?: { first: number; max: number };
}

export interface SyncEvents {
  /** The whole content, on first load and after the server refused a change: replace the editor's. */
  load(content: Delta): void;
  /** Another participant's change, to apply on top of the editor's content. */
  remoteChange(change: Delta): void;
  status(status: SyncStatus): void;
  /** A local change the server refused (its code, see PadErrorCode); `load` brings the server's content. */
  refused(code: string | undefined): void;
}

/** Marks our own submissions, so the `op` event they raise is not applied twice. */
const LOCAL = 'salon-editor';

type SocketCapable = Connection & { bindToSocket(socket: WebSocket): void };

function documentId(url: string): string {
  const id = PAD_PATH.exec(new URL(url).pathname)?.[1];
  if (!id) throw new Error(`not a document address: ${url}`);
  return id;
}

/** The code of a sharedb error reply (a string such as PadErrorCode's, whatever the typings say). */
function errorCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

function socketUrl(address: DocumentAddress): string {
  if (!address.token) return address.url;
  const url = new URL(address.url);
  url.searchParams.set('token', address.token);
  return url.toString();
}

export class DocumentSync {
  private readonly connection: SocketCapable;
  private readonly doc: Doc<Delta>;
  private readonly WebSocketClass: typeof WebSocket;
  private address: DocumentAddress;
  private socket: WebSocket;
  private current: SyncStatus = 'connecting';
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private retryDelay: number;
  private closed = false;
  /** Refusals since the last successful sync. */
  private refusals = 0;

  constructor(private readonly options: SyncOptions, private readonly events: SyncEvents) {
    this.WebSocketClass = options.WebSocket ?? WebSocket;
    this.address = { url: options.url, token: options.token };
    this.retryDelay = this.delays.first;
    this.socket = this.openSocket();
    this.connection = new ShareDB.Connection(this.socket as unknown as Socket) as SocketCapable;
    // sharedb emits 'error' for failures no callback took; an unheard 'error' would throw.
    this.connection.on('error', (err: unknown) => console.warn('shared document connection error', err));
    this.connection.on('state', () => this.updateStatus());
    this.doc = this.connection.get(PAD_COLLECTION, documentId(options.url)) as Doc<Delta>;
    this.doc.on('load', () => this.loaded());
    this.doc.on('create', () => this.loaded());
    this.doc.on('op', (op: unknown, source: unknown) => {
      if (source !== LOCAL) this.events.remoteChange(new Delta(op as Op[] | { ops: Op[] }));
    });
    this.doc.on('error', (err: unknown) => this.events.refused(errorCode(err)));
    this.doc.subscribe((err: unknown) => {
      if (err) console.warn('shared document subscription failed', err);
    });
  }

  get status(): SyncStatus {
    return this.current;
  }

  /** The content as the server last confirmed it plus local changes; undefined before the first load. */
  get content(): Delta | undefined {
    return this.doc.type ? this.doc.data : undefined;
  }

  /** Whether local changes still wait for the server's acknowledgement. */
  get hasPending(): boolean {
    return this.doc.hasWritePending();
  }

  /**
   * Sends a local change. Returns false when it cannot be taken (content not loaded, or being
   * reloaded after a refusal): the editor then waits for the next `load`.
   */
  submit(change: Delta): boolean {
    if (this.closed || !this.doc.type || this.current === 'ended' || this.current === 'refused') return false;
    // The array, not the Delta object: it is what the server's policy reads.
    this.doc.submitOp(change.ops, { source: LOCAL }, (err: unknown) => {
      if (err) this.events.refused(errorCode(err));
    });
    return true;
  }

  /** Stops syncing and closes the connection. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.connection.close();
  }

  private get delays(): { first: number; max: number } {
    return this.options.reconnectDelayMs ?? { first: 500, max: 15_000 };
  }

  private openSocket(): WebSocket {
    const socket = new this.WebSocketClass(socketUrl(this.address));
    // sharedb sets the socket's on* handlers; this listener only reads why it closed.
    socket.addEventListener('close', (event: CloseEvent) => this.socketClosed(socket, event.code));
    return socket;
  }

  private socketClosed(socket: WebSocket, code: number): void {
    if (this.closed || socket !== this.socket) return;
    if (code === PadCloseCode.gone) return this.finish('ended');
    if (code === PadCloseCode.refused) {
      // A token is refused once it expired, or after a rejoin made us another occupant: with a way to
      // ask for a fresh one, ask once before giving up.
      if (!this.options.renew || this.refusals++ > 0) return this.finish('refused');
    }
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    this.setStatus('offline');
    this.retryTimer = setTimeout(() => void this.reconnect(), this.retryDelay);
    this.retryDelay = Math.min(this.retryDelay * 2, this.delays.max);
  }

  private async reconnect(): Promise<void> {
    this.retryTimer = undefined;
    if (this.closed) return;
    if (this.options.renew) {
      try {
        this.address = await this.options.renew();
      } catch (err) {
        // No fresh token now (signalling down too): the old one would only be refused; try again later.
        console.warn('could not renew the document token', err);
        if (!this.closed) this.scheduleReconnect();
        return;
      }
      if (this.closed) return;
    }
    this.setStatus('connecting');
    this.socket = this.openSocket();
    this.connection.bindToSocket(this.socket);
  }

  private finish(status: 'ended' | 'refused'): void {
    this.setStatus(status);
    this.connection.close();
  }

  private loaded(): void {
    if (!this.doc.type) return;
    this.events.load(this.doc.data);
    this.updateStatus();
  }

  private updateStatus(): void {
    if (this.current === 'ended' || this.current === 'refused') return;
    const state = this.connection.state;
    if (state === 'connected') {
      this.retryDelay = this.delays.first;
      if (this.doc.type) {
        this.refusals = 0;
        this.setStatus('synced');
      }
    } else if (state === 'connecting') {
      if (this.current !== 'offline') this.setStatus('connecting');
    }
  }

  private setStatus(status: SyncStatus): void {
    if (status === this.current) return;
    this.current = status;
    this.events.status(status);
  }
}
