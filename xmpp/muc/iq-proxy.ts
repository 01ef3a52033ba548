/**
 * IQs between occupants (XEP-0045 §7.2.1 / Prosody's handle_iq_to_occupant): a get or set to
 * `room/nick` goes to the target's real JID from the sender's occupant JID, and the target's
 * result or error comes back to the sender's real JID from the target's occupant JID. Jingle
 * (focus and P2P), Colibri2 to bridges and the focus's disco#info all travel this way.
 *
 * Like Prosody, the forwarded IQ gets a new id, so that two senders' ids never collide at the
 * target. Unlike Prosody's, the id carries a MAC binding it to sender and target instead of an
 * MD5 of the sender: replies are routed without any table, so nothing needs a timeout or a bound.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { Element } from 'ltx';
import { StanzaError } from '../errors.ts';
import type { Jid } from '../jid.ts';
import { NS_PING } from '../protocol/ping.ts';
import { iqResult, NS_CLIENT } from '../stanza.ts';
import type { MucRoom } from './room.ts';

function mac(key: Uint8Array, id: string, sender: string, target: string): string {
  return createHmac('sha256', key).update(`${id}\0${sender}\0${target}`).digest('base64url').slice(0, 22);
}

/** `base64url(id).mac`; base64url has no '.', so the split is unambiguous. */
export function encodeProxyId(key: Uint8Array, id: string, sender: string, target: string): string {
  return `${Buffer.from(id, 'utf8').toString('base64url')}.${mac(key, id, sender, target)}`;
}

/** The original id, or undefined when `proxied` was not made for this sender and target. */
export function decodeProxyId(key: Uint8Array, proxied: string, sender: string, target: string): string | undefined {
  const dot = proxied.lastIndexOf('.');
  if (dot < 0) return undefined;
  const id = Buffer.from(proxied.slice(0, dot), 'base64url').toString('utf8');
  const given = Buffer.from(proxied.slice(dot + 1));
  const expected = Buffer.from(mac(key, id, sender, target));
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
  return id;
}

function readdress(iq: Element, attrs: Record<string, string>): Element {
  const { to: _to, from: _from, id: _id, xmlns: _xmlns, ...rest } = iq.attrs as Record<string, string>;
  const el = new Element('iq', { xmlns: NS_CLIENT, ...rest, ...attrs });
  el.children = iq.children;
  return el;
}

/** An IQ to `room/nick` from `from`. */
export function iqToOccupant(room: MucRoom, iq: Element, from: Jid, nick: string): void {
  const type = iq.attrs.type as string | undefined;
  const addressee = room.occupantByNick(nick);
  if (type === 'result' || type === 'error') {
    // A reply from the target (from) to the requester (nick); anything else is dropped.
    const replier = room.occupantByRealJid(from.full);
    if (!replier || !addressee) return;
    const id = decodeProxyId(room.ctx.proxyKey, String(iq.attrs.id ?? ''), addressee.realJid.full, replier.realJid.full);
    if (id === undefined) {
      room.log.debug({ from: from.full, nick }, 'dropped an IQ reply that answers no forwarded request');
      return;
    }
    room.send(readdress(iq, { from: replier.occupantJid, to: addressee.realJid.full, id }));
    return;
  }
  if (type !== 'get' && type !== 'set') throw StanzaError.badRequest('bad IQ type');
  const sender = room.occupantByRealJid(from.full);
  if (!sender) throw new StanzaError('cancel', 'not-acceptable', 'you are not in this room');
  if (!addressee) throw new StanzaError('cancel', 'item-not-found', 'recipient not in room');
  const payload = iq.getChildElements();
  // XEP-0410 MUC self-ping: the room answers for the occupant itself.
  if (sender === addressee && type === 'get' && payload.length === 1 && payload[0]?.is('ping', NS_PING)) {
    room.send(iqResult(iq));
    return;
  }
  const id = encodeProxyId(room.ctx.proxyKey, String(iq.attrs.id ?? ''), sender.realJid.full, addressee.realJid.full);
  room.send(readdress(iq, { from: sender.occupantJid, to: addressee.realJid.full, id }));
}
