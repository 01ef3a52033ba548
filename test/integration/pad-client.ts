/**
 * Shared-document clients for the integration tests: the editor's own sync module (sharedb's
 * client) over the `ws` package, a raw WebSocket for what a hostile client might send, and the
 * focus request that yields a token.
 */
import WebSocket from 'ws';
import type { Element } from 'ltx';
import { Delta } from '../../web/client/doc/delta.ts';
import { DocumentSync, type SyncStatus } from '../../web/client/doc/sync.ts';
import { buildDocumentRequest, NS_DOCUMENT, NS_ETHERPAD, parseDocumentGrant, type DocumentGrant } from '../../xmpp/protocol/salon-document.ts';
import { xml, type TestServer, type XmppClient } from './harness.ts';

/** Polls `condition` every 10 ms until it holds or `timeoutMs` passes. */
export async function waitFor(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Asks the focus for the room's document, as Salon's client does. */
export async function requestDocument(client: XmppClient, room: string): Promise<DocumentGrant> {
  const answer = await client.iqCaller.request(xml('iq', { type: 'get', to: 'focus.meet.jitsi' }, buildDocumentRequest({ room }) as never));
  const payload = answer.getChild('document', NS_DOCUMENT) ?? answer;
  return parseDocumentGrant(payload);
}

/** Every document name in the focus's presences in `room`, as an occupant received them, oldest first. */
export function etherpadNames(inbox: Element[], room: string): string[] {
  return inbox
    .filter((s) => s.name === 'presence' && s.attrs.from === `${room}/focus` && s.getChild('etherpad', NS_ETHERPAD))
    .map((s) => s.getChildText('etherpad', NS_ETHERPAD)!.trim());
}

/** The document name in the focus's latest presence in `room` that carried one. */
export function etherpadName(inbox: Element[], room: string): string | undefined {
  return etherpadNames(inbox, room).at(-1);
}

export function socketUrl(server: TestServer, path: string): string {
  return `${server.httpOrigin.replace(/^http/, 'ws')}${path}`;
}

/** The editor's sync over `ws`, recording what it reports. */
export class TestEditor {
  readonly sync: DocumentSync;
  readonly statuses: SyncStatus[] = [];
  readonly refusals: (string | undefined)[] = [];
  loads = 0;

  constructor(url: string, token?: string) {
    this.sync = new DocumentSync({ url, token, WebSocket: WebSocket as unknown as typeof globalThis.WebSocket, reconnectDelayMs: { first: 50, max: 200 } }, {
      load: () => void (this.loads += 1),
      remoteChange: () => undefined,
      status: (status) => void this.statuses.push(status),
      refused: (code) => void this.refusals.push(code),
    });
  }

  get status(): SyncStatus {
    return this.sync.status;
  }

  /** The document's text (inserts joined), as this client has it. */
  get text(): string {
    return (this.sync.content?.ops ?? []).map((op) => (typeof op.insert === 'string' ? op.insert : '')).join('');
  }

  async synced(): Promise<void> {
    await waitFor(() => this.sync.status === 'synced', `sync (status ${this.sync.status})`);
  }

  /** Inserts `text` at `index` of what this client has now. */
  insert(index: number, text: string): boolean {
    return this.sync.submit(new Delta().retain(index).insert(text));
  }

  close(): void {
    this.sync.close();
  }
}

export interface RawOutcome {
  /** The HTTP status when the upgrade was refused. */
  httpStatus?: number;
  closeCode?: number;
  closeReason?: string;
}

/** A bare WebSocket to `url`, with every message it receives kept as JSON. */
export class RawSocket {
  readonly ws: WebSocket;
  readonly received: Record<string, unknown>[] = [];
  readonly outcome: RawOutcome = {};
  readonly opened: Promise<boolean>;

  constructor(url: string, headers: Record<string, string> = {}) {
    this.ws = new WebSocket(url, { headers });
    this.opened = new Promise((resolve) => {
      this.ws.once('open', () => resolve(true));
      this.ws.once('unexpected-response', (_req, res) => {
        this.outcome.httpStatus = res.statusCode;
        resolve(false);
      });
      this.ws.once('error', () => resolve(false));
    });
    this.ws.on('message', (data) => this.received.push(JSON.parse(String(data)) as Record<string, unknown>));
    this.ws.on('close', (code, reason) => {
      this.outcome.closeCode = code;
      this.outcome.closeReason = reason.toString();
    });
    this.ws.on('error', () => undefined); // the outcome says what happened
  }

  send(message: unknown): void {
    this.ws.send(typeof message === 'string' ? message : JSON.stringify(message));
  }

  /** Resolves with how the connection ended (an HTTP refusal or a close code). */
  async ended(): Promise<RawOutcome> {
    await this.opened;
    await waitFor(() => this.outcome.httpStatus !== undefined || this.outcome.closeCode !== undefined, 'the socket to end');
    return this.outcome;
  }

  close(): void {
    this.ws.terminate();
  }
}
