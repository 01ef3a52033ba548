/**
 * The shared documents service: a sharedb backend with the rich-text OT type held in memory only,
 * one document per conference (created by the focus when the conference starts, destroyed when
 * it ends), and its WebSocket endpoint `/pad/<id>` (optionally under a tenant path), upgraded by
 * the HTTP front. See ./document.ts for the two ways in and why.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import ShareDB from 'sharedb';
import richText from 'rich-text';
import { WebSocketServer } from 'ws';
import { isOriginAllowed, queryOf } from '../../../xmpp/transport/http-peer.ts';
import { PAD_COLLECTION, PAD_PATH, PadCloseCode } from '../../client/doc/wire.ts';
import { installAccessControl, type AgentRequest } from './access.ts';
import { connectionBudget, PadConnection, type ConnectionLimits } from './connection.ts';
import { SharedDocument, type Admission, type ConnectionCaps } from './document.ts';
import { DocumentStore } from './document-store.ts';
import { TokenSigner } from './tokens.ts';

export type { ConnectionCaps, DocumentAccess } from './document.ts';
export { SharedDocument } from './document.ts';

export interface PadServiceOptions {
  log: Logger;
  /** Browser origins allowed to open a document WebSocket (as for /xmpp-websocket). */
  allowedOrigins: ReadonlySet<string>;
  /** Longest document, in characters. Default 1 MiB (1048576). */
  maxDocumentChars?: number;
  /** Largest WebSocket message; a bigger one closes the connection (1009). Default 2 MiB. */
  maxMessageBytes?: number;
  /** How long a focus-minted token admits new connections, in ms. Default 60000. */
  tokenTtlMs?: number;
  /**
   * Per-connection limits. Default 50 messages/s (burst 200), 256 KiB/s (burst 4 MiB), 1 read/s
   * (burst 10), ping every 30 s, 16 MiB queued unread.
   */
  limits?: Partial<ConnectionLimits>;
  /** Connections admitted at once. Default 100 per document, 4 per occupant, 50 through the capability. */
  maxConnections?: Partial<ConnectionCaps>;
  /**
   * Whether documents also open through their capability name, for jitsi-meet's page (config
   * `pad.jitsiMeetPage`). Off: documents have no name and only tokens open them. Default true.
   */
  jitsiMeetPage?: boolean;
  /** Ops kept per document for late transforms and reconnections. Default 1000. */
  maxOpsKept?: number;
  /** Characters of op JSON kept per document, whatever their number. Default 8 Mi (8388608). */
  maxOpChars?: number;
  /** The clock (ms since epoch), for tokens and rate limits. Default `Date.now`. */
  now?: () => number;
}

export interface PadStats {
  documents: number;
  connections: number;
  /** sharedb agents still open (one per connection, while it lasts). */
  agents: number;
  /** Documents with anything stored. */
  stored: number;
}

export interface PadService {
  /** The conference `room` starts: its new, empty document (focus/pad.ts `SharedDocuments`). */
  create(room: string): SharedDocument;
  /** Whether an upgrade request is for a document. */
  matches(url: string): boolean;
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  /** Mints and checks tokens (tests mint an expired one with it). */
  readonly tokens: TokenSigner;
  /** Whether the backend still stores anything for document `id`. */
  holds(id: string): boolean;
  stats(): PadStats;
  /** Destroys every document and closes the backend. */
  close(): Promise<void>;
}

function refuseHttp(socket: Duplex, status: string): void {
  socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}

/**
 * Set once: sharedb keeps one logger for the whole process (sharedb/lib/logger), not one per
 * backend, so its lines cannot be told apart by service. The first service started points it at
 * its own log and later ones leave it alone, rather than each start stealing it (tests start
 * many servers in one process). The type registry is process-wide too, and registering once is enough.
 */
let sharedbConfigured = false;

function configureSharedb(log: Logger): void {
  if (sharedbConfigured) return;
  sharedbConfigured = true;
  ShareDB.types.register(richText.type);
  // sharedb's chatter (error replies' stacks among it) goes to our log: its warnings are about
  // peers (an agent closed on a bad message), so debug; its errors are ours.
  const sharedbLog = log.child({ lib: 'sharedb' });
  ShareDB.logger.setMethods({
    info: (...args: unknown[]) => sharedbLog.debug(args.map(String).join(' ')),
    warn: (...args: unknown[]) => sharedbLog.debug(args.map(String).join(' ')),
    error: (...args: unknown[]) => sharedbLog.error(args.map(String).join(' ')),
  });
}

export function startPadService(options: PadServiceOptions): PadService {
  const { log } = options;
  const maxDocumentChars = options.maxDocumentChars ?? 1024 * 1024;
  const limits: ConnectionLimits = {
    // sharedb's client has one op in flight at a time, so even a held-down key (auto-repeat,
    // ~30/s) stays under this; a script sending as fast as it can does not.
    messagesPerSecond: 50, messageBurst: 200, bytesPerSecond: 256 * 1024, byteBurst: 4 * 1024 * 1024, heartbeatMs: 30_000,
    // The editor reads once per connection, and again after a refused change; a peer asking for
    // the op log over and over, or not reading what it asked for, costs memory instead.
    readsPerSecond: 1, readBurst: 10, maxBufferedBytes: 16 * 1024 * 1024,
    ...options.limits,
  };
  // A conference's participants each need one connection (a second tab, a reconnection overlapping
  // the old socket: four); capability holders are held below the document's cap (see ConnectionCaps).
  const caps: ConnectionCaps = { perDocument: 100, perOccupant: 4, perCapability: 50, ...options.maxConnections };
  const jitsiMeetPage = options.jitsiMeetPage ?? true;
  const tokens = new TokenSigner({ ttlMs: options.tokenTtlMs ?? 60_000, ...(options.now ? { now: options.now } : {}) });
  const store = new DocumentStore(PAD_COLLECTION, {
    ...(options.maxOpsKept !== undefined ? { maxOps: options.maxOpsKept } : {}),
    ...(options.maxOpChars !== undefined ? { maxOpChars: options.maxOpChars } : {}),
  });
  configureSharedb(log);
  const backend = new ShareDB({
    db: store,
    presence: false,
    doNotForwardSendPresenceErrorsToClient: true,
    errorHandler: (err) => log.error({ err }, 'sharedb failed'),
  });
  installAccessControl(backend, { maxDocumentChars });

  const documents = new Map<string, SharedDocument>();
  const wss = new WebSocketServer({ noServer: true, maxPayload: options.maxMessageBytes ?? 2 * 1024 * 1024, perMessageDeflate: false });
  let closed = false;

  /** The server's own connection creates the empty document; it is closed right after. */
  function createContent(document: SharedDocument): void {
    store.open(document.id);
    const request: AgentRequest = { kind: 'server' };
    const connection = backend.connect(undefined, request);
    const doc = connection.get(PAD_COLLECTION, document.id);
    // Quill's documents always end with a newline; starting with one keeps both sides alike.
    doc.create([{ insert: '\n' }], richText.type.uri!, (err) => {
      connection.close();
      // A document destroyed while being created has no store entry left to write to: expected.
      if (err && document.open) log.error({ err, room: document.room }, 'creating a shared document failed');
    });
  }

  function admit(req: IncomingMessage, id: string, secret: string | undefined): { document: SharedDocument | undefined; admission: Admission } {
    const document = documents.get(id);
    if (secret !== undefined) {
      if (!jitsiMeetPage) return { document, admission: { ok: false, code: PadCloseCode.refused, reason: 'this document opens with a token only', why: 'capability off' } };
      return { document, admission: document ? document.admitCapability(secret) : { ok: false, code: PadCloseCode.gone, reason: 'no such document', why: 'capability' } };
    }
    const token = queryOf(req).get('token');
    if (!token) return { document, admission: { ok: false, code: PadCloseCode.refused, reason: 'token required', why: 'no token' } };
    if (!document) return { document, admission: { ok: false, code: PadCloseCode.gone, reason: 'the conference has ended', why: 'unknown document' } };
    return { document, admission: document.admitToken(token) };
  }

  return {
    tokens,
    create(room) {
      if (closed) throw new Error('the shared documents service is closed');
      const document = new SharedDocument({
        room,
        tokens,
        capability: jitsiMeetPage,
        caps,
        log,
        onDestroyed: (d) => {
          documents.delete(d.id);
          store.drop(d.id);
        },
      });
      documents.set(document.id, document);
      createContent(document);
      log.info({ room }, 'shared document created');
      return document;
    },

    matches(url) {
      return PAD_PATH.test(url);
    },

    handleUpgrade(req, socket, head) {
      if (!isOriginAllowed(req, options.allowedOrigins)) {
        log.warn({ origin: req.headers.origin }, 'cross-origin document WebSocket refused');
        return refuseHttp(socket, '403 Forbidden');
      }
      const match = PAD_PATH.exec(req.url ?? '');
      if (!match || closed) return refuseHttp(socket, '404 Not Found');
      const id = match[1]!;
      const secret = match[2];
      // Refusals are completed as WebSocket closes with a code, not HTTP statuses: a browser
      // page sees only the close code, and the editor tells "ended" from "refused" by it. The
      // admission is decided once the upgrade is done, right before the connection is counted,
      // so a name renewed or a cap reached meanwhile is seen.
      wss.handleUpgrade(req, socket, head, (ws) => {
        const { document, admission } = admit(req, id, secret);
        if (!admission.ok || !document?.open) {
          const refusal = admission.ok ? { code: PadCloseCode.gone, reason: 'the conference has ended', why: 'destroyed' } : admission;
          log.debug({ why: refusal.why, room: document?.room }, 'document connection refused');
          ws.close(refusal.code, refusal.reason);
          return;
        }
        const connection = new PadConnection(ws, {
          budget: document.budgetOf(admission.occupant, () => connectionBudget(limits, options.now)),
          claimSource: (src) => document.claimSource(admission.occupant, src),
          docId: document.id,
          occupant: admission.occupant,
          backend,
          limits,
          log: log.child({ room: document.room }),
          onClosed: (c) => document.detach(c),
          ...(options.now ? { now: options.now } : {}),
        });
        document.attach(connection);
      });
    },

    holds: (id) => store.holds(id),

    stats() {
      let connections = 0;
      for (const d of documents.values()) connections += d.connectionCount;
      const { agentsCount } = backend as unknown as { agentsCount: number };
      return { documents: documents.size, connections, agents: agentsCount, stored: store.size };
    },

    async close() {
      if (closed) return;
      closed = true;
      for (const d of [...documents.values()]) d.destroy('the server is shutting down');
      wss.close();
      await new Promise<void>((resolve) => backend.close(() => resolve()));
    },
  };
}
