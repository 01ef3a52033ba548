/**
 * The BOSH `<body/>` wrapper: XEP-0124 1.11 (https://xmpp.org/extensions/xep-0124.html) request
 * attributes read into a typed request, and response wrappers around already-serialised stanzas,
 * with the XEP-0206 1.4 (https://xmpp.org/extensions/xep-0206.html) `xmpp:` attributes.
 */
import { Element } from 'ltx';

export const NS_HTTPBIND = 'http://jabber.org/protocol/httpbind';
export const NS_XBOSH = 'urn:xmpp:xbosh';

/** XEP-0124 §17.2 terminal binding conditions. */
export type BoshCondition =
  | 'bad-request' | 'host-gone' | 'host-unknown' | 'improper-addressing' | 'internal-server-error'
  | 'item-not-found' | 'other-request' | 'policy-violation' | 'remote-connection-failed'
  | 'remote-stream-error' | 'see-other-uri' | 'system-shutdown' | 'undefined-condition';

export interface BoshRequest {
  rid: number;
  sid: string | undefined;
  /** Session creation (§7.1) and restart (XEP-0206 §5) only. */
  to: string | undefined;
  lang: string | undefined;
  /** Requested longest wait in seconds (§7.1). */
  wait: number | undefined;
  /** `xmpp:version` (XEP-0206 §3). */
  version: string | undefined;
  terminate: boolean;
  /** `xmpp:restart="true"` (XEP-0206 §5). */
  restart: boolean;
  payload: Element[];
}

/** Thrown for a body the connection manager cannot accept (answered `bad-request`). */
export class BoshBadRequest extends Error {
  override readonly name = 'BoshBadRequest';
}

/** rid is a positive integer below 2^53 (§14.1). */
const RID = /^[0-9]{1,16}$/;

/** Reads a request `<body/>`; its child elements are detached and returned as the payload. */
export function parseBoshRequest(body: Element): BoshRequest {
  if (body.name !== 'body' || body.attrs.xmlns !== NS_HTTPBIND) throw new BoshBadRequest(`expected <body xmlns="${NS_HTTPBIND}">`);
  const attrs = body.attrs as Record<string, string | undefined>;
  const ridText = attrs.rid ?? '';
  const rid = Number(ridText);
  if (!RID.test(ridText) || !Number.isSafeInteger(rid) || rid <= 0) throw new BoshBadRequest('rid must be a positive integer');
  const waitText = attrs.wait;
  const wait = waitText !== undefined && /^[0-9]{1,6}$/.test(waitText) ? Number(waitText) : undefined;
  const payload: Element[] = [];
  for (const child of body.children) {
    if (typeof child === 'string') {
      if (child.trim() !== '') throw new BoshBadRequest('text in <body/>');
      continue;
    }
    child.parent = null;
    payload.push(child);
  }
  return {
    rid,
    sid: attrs.sid,
    to: attrs.to,
    lang: attrs['xml:lang'],
    wait,
    version: attrs['xmpp:version'],
    terminate: attrs.type === 'terminate',
    restart: attrs['xmpp:restart'] === 'true' || attrs['xmpp:restart'] === '1',
    payload,
  };
}

/** A response body around serialised stanzas (`payload` is already XML). */
export function buildBoshBody(attrs: Record<string, string>, payload = ''): string {
  const empty = new Element('body', { xmlns: NS_HTTPBIND, ...attrs }).toString();
  // ltx writes `<body …/>`; the payload goes between an open and a close tag instead.
  return payload === '' ? empty : `${empty.slice(0, -2)}>${payload}</body>`;
}

/** `<body type="terminate" condition="…">` (§17.2); payload may hold a `<stream:error>`. */
export function buildTerminateBody(condition?: BoshCondition, payload = '', extra: Record<string, string> = {}): string {
  return buildBoshBody({ type: 'terminate', ...(condition ? { condition } : {}), ...extra }, payload);
}
