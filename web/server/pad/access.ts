/**
 * sharedb middleware that binds each client connection to its one document. A sharedb client
 * may name any collection and id in any message; here a connection admitted to document X may
 * subscribe to, fetch and edit X and nothing else (no queries, no presence, no other document,
 * no creating or deleting). Its edits must pass the Delta policy and keep the document under the
 * size limit. The server's own connection (which creates documents) is the only other kind.
 */
import type ShareDB from 'sharedb';
import type { Logger } from 'pino';
import { PAD_COLLECTION, PadErrorCode } from '../../client/doc/wire.ts';
import { checkDocument, checkRichTextOp, hasForbiddenShape } from './delta-policy.ts';

/** What the middleware knows of a client connection (see ./connection.ts). */
export interface ClientBinding {
  readonly docId: string;
  /** False once the connection is closing: nothing more it sent is processed. */
  readonly admitted: boolean;
  readonly log: Logger;
  /** Counts a read (fetch or subscribe); false when over the connection's read rate (it then closes). */
  allowRead(): boolean;
  /**
   * Binds a sharedb source id (the agent's own, or the one a reconnecting client names in its
   * handshake) to this connection's holder; false when it belongs to another holder.
   */
  claimSource(src: string): boolean;
}

/** The `req` given to `backend.listen`/`backend.connect`, which sharedb hands to 'connect' middleware. */
export type AgentRequest = { kind: 'client'; binding: ClientBinding } | { kind: 'server' };

interface AgentCustom {
  binding?: ClientBinding;
  server?: boolean;
}

/** The source sharedb stamps on an agent's ops (agent.js _src: the handshake's id, else its clientId). */
function sourceOf(agent: unknown): string {
  const { src, clientId } = agent as { src: string | null; clientId: string };
  return src ?? clientId;
}

/** A refusal as sharedb sends it back (`{code, message}` in the error reply); no stack to log. */
function refusal(code: string, message: string): { code: string; message: string } {
  return { code, message };
}

/** Message actions a client may send (sharedb/lib/message-actions.js), all about one document. */
const DOCUMENT_ACTIONS = new Set(['f', 's', 'u', 'op']);
const SESSION_ACTIONS = new Set(['hs', 'pp']);

export interface AccessOptions {
  /** Longest document, in characters. */
  maxDocumentChars: number;
}

export function installAccessControl(backend: ShareDB, options: AccessOptions): void {
  const custom = (agent: { custom: unknown }): AgentCustom => agent.custom as AgentCustom;

  backend.use('connect', (context, next) => {
    const request = context.req as AgentRequest | undefined;
    if (request?.kind === 'client') {
      custom(context.agent).binding = request.binding;
      request.binding.claimSource((context.agent as unknown as { clientId: string }).clientId);
    }
    else if (request?.kind === 'server') custom(context.agent).server = true;
    else return next(refusal(PadErrorCode.forbidden, 'unknown connection'));
    next();
  });

  backend.use('receive', (context, next) => {
    const { binding } = custom(context.agent);
    if (!binding) return next();
    if (!binding.admitted) return next(refusal(PadErrorCode.forbidden, 'connection closing'));
    const message = context.data;
    const action = message.a;
    let problem: string | undefined;
    if (hasForbiddenShape(message)) problem = 'forbidden keys or nesting';
    else if (typeof action !== 'string') problem = 'no action';
    // A reconnecting client keeps its source (its handshake's id), only its own.
    else if (action === 'hs' && message.id !== undefined && message.id !== null && (typeof message.id !== 'string' || !binding.claimSource(message.id))) problem = 'another connection\'s source';
    else if (SESSION_ACTIONS.has(action)) problem = undefined;
    else if (!DOCUMENT_ACTIONS.has(action)) problem = `action '${action.slice(0, 8)}' is not allowed`;
    else if (message.c !== PAD_COLLECTION || message.d !== binding.docId) problem = 'another document';
    else if (action === 'op' && ('create' in message || 'del' in message)) problem = 'documents are created and deleted by the server only';
    // An op names the source it comes from; sharedb takes it as given, hides ops of a client's own
    // source from it, and drops as already applied a later op of that source with a number used:
    // under another's source, an op censored that participant's next edit, unseen by them.
    else if (action === 'op' && message.src !== undefined && message.src !== sourceOf(context.agent)) problem = 'an op from another source';
    // Each read may send back the whole document or op log: a peer repeating them is cut off.
    else if ((action === 'f' || action === 's') && !binding.allowRead()) problem = 'too many reads';
    if (problem) {
      binding.log.debug({ action: typeof action === 'string' ? action.slice(0, 8) : undefined, problem }, 'refused a document message');
      return next(refusal(PadErrorCode.forbidden, problem));
    }
    next();
  });

  backend.use('submit', (context, next) => {
    const { binding, server } = custom(context.agent);
    if (server) return next();
    if (!binding || context.collection !== PAD_COLLECTION || context.id !== binding.docId || !('op' in context.op)) {
      return next(refusal(PadErrorCode.forbidden, 'not an edit of this document'));
    }
    const problem = checkRichTextOp(context.op.op);
    if (problem) {
      binding.log.debug({ problem }, 'refused an operation');
      return next(refusal(PadErrorCode.invalidOp, problem));
    }
    next();
  });

  // After the op is applied, before it is stored: the result must still be a sound document.
  backend.use('commit', (context, next) => {
    const problem = checkDocument(context.snapshot?.data, options.maxDocumentChars);
    if (!problem) return next();
    custom(context.agent).binding?.log.debug({ problem: problem.text }, 'refused an operation');
    next(refusal(problem.problem === 'too-large' ? PadErrorCode.tooLarge : PadErrorCode.invalidOp, problem.text));
  });

  // Defence in depth: whatever path a read takes, a client only ever receives its own document.
  backend.use('readSnapshots', (context, next) => {
    const { binding, server } = custom(context.agent);
    if (server) return next();
    const foreign = !binding || context.collection !== PAD_COLLECTION || context.snapshots.some((s) => s.id !== binding.docId);
    next(foreign ? refusal(PadErrorCode.forbidden, 'another document') : undefined);
  });
  backend.use('op', (context, next) => {
    const { binding, server } = custom(context.agent);
    if (server) return next();
    next(!binding || context.collection !== PAD_COLLECTION || context.id !== binding.docId ? refusal(PadErrorCode.forbidden, 'another document') : undefined);
  });
  backend.use('query', (_context, next) => next(refusal(PadErrorCode.forbidden, 'queries are not served')));
}
