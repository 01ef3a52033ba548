// Typings for the parts of xmpp.js (0.14) that xmpp/client/c2s-link.ts composes; the packages ship
// none. Only what is used is declared. Their elements are ltx Elements (the CommonJS build of the
// same ltx release), structurally the type Salon uses.

declare module '@xmpp/client-core' {
  import type { Element } from 'ltx';
  import type { Socket } from 'node:net';

  export interface XmppJid {
    toString(): string;
  }

  /** The raw socket of a TCP connection: xmpp.js's net.Socket subclass, or its TLS wrapper. */
  export interface ConnectionSocket {
    readonly secure: boolean;
  }

  export class Client {
    constructor(options: { service: string; domain: string; timeout?: number });
    readonly status: string;
    readonly jid: XmppJid | null;
    readonly socket: (ConnectionSocket & Partial<Socket>) | null;
    isSecure(): boolean;
    start(): Promise<XmppJid>;
    stop(): Promise<unknown>;
    send(element: Element): Promise<void>;
    /** Sends, then resolves with the next element received (or rejects after `timeout` ms). */
    sendReceive(element: Element, timeout?: number): Promise<Element>;
    /** Opens a new stream on the same socket (RFC 6120 §4.3.3: after TLS and SASL). */
    restart(): Promise<void>;
    /** Replaces the socket, as xmpp.js's own STARTTLS does after the TLS handshake. */
    _attachSocket(socket: unknown): void;
    on(event: 'stanza' | 'nonza' | 'element', listener: (element: Element) => void): this;
    on(event: 'online', listener: (jid: XmppJid) => void): this;
    on(event: 'error', listener: (error: Error) => void): this;
    on(event: 'status' | 'disconnect' | 'connect' | 'offline', listener: (...args: unknown[]) => void): this;
    emit(event: 'error', error: Error): boolean;
  }
}

declare module '@xmpp/tcp' {
  import type { Client } from '@xmpp/client-core';
  export default function tcp(parts: { entity: Client }): void;
}

declare module '@xmpp/middleware' {
  import type { Client } from '@xmpp/client-core';
  export interface Middleware {
    readonly __brand: 'xmpp.js middleware';
  }
  export default function middleware(parts: { entity: Client }): Middleware;
}

declare module '@xmpp/stream-features' {
  import type { Element } from 'ltx';
  import type { Client } from '@xmpp/client-core';
  import type { Middleware } from '@xmpp/middleware';
  export interface StreamFeatures {
    /** Runs `handler` when the features offer `<name xmlns=ns/>`; handlers run in the order added. */
    use(name: string, ns: string, handler: (ctx: { entity: Client }, next: () => Promise<unknown>, feature: Element) => Promise<unknown>): void;
  }
  export default function streamFeatures(parts: { middleware: Middleware }): StreamFeatures;
}

declare module '@xmpp/iq/caller.js' {
  import type { Element } from 'ltx';
  import type { Client } from '@xmpp/client-core';
  import type { Middleware } from '@xmpp/middleware';
  export interface IqCaller {
    request(iq: Element, timeout?: number): Promise<Element>;
  }
  export default function iqCaller(parts: { entity: Client; middleware: Middleware }): IqCaller;
}

declare module '@xmpp/resource-binding' {
  import type { IqCaller } from '@xmpp/iq/caller.js';
  import type { StreamFeatures } from '@xmpp/stream-features';
  export default function resourceBinding(parts: { streamFeatures: StreamFeatures; iqCaller: IqCaller }, resource: string): void;
}

declare module '@xmpp/starttls/starttls.js' {
  import type { ConnectionOptions } from 'node:tls';
  /** Runs the TLS handshake over the connection's socket; resolves with xmpp.js's TLS socket wrapper. */
  export function upgrade(socket: unknown, options: Omit<ConnectionOptions, 'socket'>): Promise<unknown>;
}
