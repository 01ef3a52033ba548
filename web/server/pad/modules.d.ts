// Typings for the two CommonJS packages of the shared document that ship none: only what is used.
declare module '@teamwork/websocket-json-stream' {
  import { Duplex } from 'node:stream';
  import type { WebSocket } from 'ws';
  /** sharedb's object stream over a `ws` WebSocket: JSON text frames in and out. */
  class WebSocketJSONStream extends Duplex {
    constructor(ws: WebSocket);
  }
  export = WebSocketJSONStream;
}

declare module 'rich-text' {
  import type { Type } from 'sharedb/lib/sharedb.js';
  /** The rich-text OT type (quill-delta operations) for sharedb. */
  const richText: { type: Type };
  export = richText;
}
