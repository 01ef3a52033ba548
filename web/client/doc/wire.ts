/**
 * What the shared document's server and its browser editor agree on beyond sharedb's own
 * protocol: the collection name, the WebSocket close codes that end a connection for good, and
 * the error codes of refused operations. Pure constants, imported by both sides.
 */

/** The one sharedb collection; each conference's document is `pad/<document id>`. */
export const PAD_COLLECTION = 'pad';

/**
 * Close codes of the document WebSocket (RFC 6455 §7.4.2: 4000–4999 are the application's).
 * The client does not reconnect after these.
 */
export const PadCloseCode = {
  /**
   * The token or capability was refused (a capability is also replaced when a participant is
   * removed from the room), the document has as many connections as it takes, or the occupant left.
   */
  refused: 4403,
  /** No such document: the conference has ended (or the address is wrong). */
  gone: 4404,
} as const;

/** Error codes in sharedb error replies to refused operations. */
export const PadErrorCode = {
  /** The operation would make the document longer than the server allows. */
  tooLarge: 'SALON_PAD_TOO_LARGE',
  /** An operation with formats or content the editor does not produce. */
  invalidOp: 'SALON_PAD_INVALID_OP',
  /** A message this connection may not send (another document, a query, presence…). */
  forbidden: 'SALON_PAD_FORBIDDEN',
} as const;

/** Document ids and capability secrets: base64url of random bytes. */
const SEGMENT = '[A-Za-z0-9_-]{16,64}';
/** `/pad/<id>` (token access) or `/pad/<id>.<secret>` (capability), optionally under a tenant path. */
export const PAD_PATH = new RegExp(`^(?:/[^/?#]+)?/pad/(${SEGMENT})(?:\\.(${SEGMENT}))?(?:[?#]|$)`);
