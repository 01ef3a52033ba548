// Minimal typings for @xmpp/client 0.14, which ships none: only what the tests use.
declare module '@xmpp/client' {
  import type { Element } from 'ltx';
  interface XmppJid {
    toString(): string;
    local: string;
    domain: string;
    resource: string;
  }
  interface XmppClientInstance {
    start(): Promise<XmppJid>;
    stop(): Promise<void>;
    send(...elements: Element[]): Promise<void>;
    on(event: 'stanza', listener: (stanza: Element) => void): this;
    on(event: 'error', listener: (err: Error) => void): this;
    on(event: 'online', listener: (jid: XmppJid) => void): this;
    on(event: 'offline' | 'status' | 'element' | 'nonza' | 'input' | 'output' | 'disconnect', listener: (...args: unknown[]) => void): this;
    iqCaller: { request(iq: Element, timeout?: number): Promise<Element> };
    reconnect: { stop(): void; start(): void };
    streamManagement: { id: string; enabled: boolean; inbound: number; outbound: number; once(event: 'resumed', listener: () => void): void };
    socket: { socket?: { close(): void; terminate?(): void; destroy?(): void } } | null;
    jid: XmppJid | null;
    status: string;
  }
  export function client(options: Record<string, unknown>): XmppClientInstance;
  export function xml(name: string, attrs?: Record<string, string | undefined> | null, ...children: Array<Element | string>): Element;
  export function jid(local: string, domain?: string, resource?: string): XmppJid;
}
