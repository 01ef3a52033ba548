/**
 * Identity from the session, never from the message (security.md; jitsi-meet's
 * mod_presence_identity): before a conference room sees an occupant's presence or message, the
 * server removes what a client could forge about who it is and writes what its session proves.
 *
 * - Presence: any client `<identity>` is dropped; an agent's presence gets the server's
 *   `<identity><user><id/><name/><avatar/></user><group/></identity>` (the token's
 *   `context.user` and `context.group`, or the account for a password login), and a token that
 *   names its holder fixes the display name (`<nick xmlns="http://jabber.org/protocol/nick">`):
 *   a guest can choose any name, but never carries an identity, and an agent's name is the one its
 *   token gives. The e-mail a token carries is not stamped: every guest would read it
 *   (mod_presence_identity sends it; a confidential service does not hand agents' addresses to
 *   anyone with the link).
 * - Messages: a client `<display-name xmlns="http://jitsi.org/protocol/display-name">` is dropped
 *   (Prosody adds that element itself, for visitors' messages only).
 *
 * Who sent a message or presence, raised a hand or reacted is the occupant JID the room stamps in
 * `from` (messages.ts, presence.ts); the endpoint id cannot change once in the room (xmpp/index.ts
 * join policy), so these carry the session's identity too.
 */
import { Element } from 'ltx';
import type { Jid } from '../jid.ts';

export const NS_NICK = 'http://jabber.org/protocol/nick';
export const NS_DISPLAY_NAME = 'http://jitsi.org/protocol/display-name';

/** What the server vouches for about an occupant. */
export interface StampedIdentity {
  readonly id: string;
  readonly name?: string;
  readonly avatar?: string;
  readonly group?: string;
}

/** Rewrites what a client sends a room before the room handles it (MucService.setStamp). */
export interface OccupantStamp {
  /** An available presence (join, update, nick change). */
  /** Any presence but errors: available ones get the identity, unavailable ones lose forged ones. */
  presence(realJid: Jid, presence: Element): Element;
  message(realJid: Jid, message: Element): Element;
}

/** A client-written `<identity>` (jabber:client, as jitsi-meet's is), in any namespace or with any prefix. */
function isIdentity(child: Element): boolean {
  return child.getName() === 'identity';
}

function copyWith(stanza: Element, children: Array<Element | string>): Element {
  const el = new Element(stanza.name, { ...stanza.attrs });
  el.children = children;
  return el;
}

/** Jitsi's identity element (mod_presence_identity's layout). */
export function buildIdentity(identity: StampedIdentity): Element {
  const el = new Element('identity');
  const user = el.c('user');
  user.c('id').t(identity.id);
  if (identity.name) user.c('name').t(identity.name);
  if (identity.avatar) user.c('avatar').t(identity.avatar);
  if (identity.group) el.c('group').t(identity.group);
  return el;
}

/** The server's identity in a relayed presence, if any. */
export function parseIdentity(presence: Element): StampedIdentity | undefined {
  const user = presence.getChild('identity')?.getChild('user');
  const id = user?.getChildText('id');
  if (!user || !id) return undefined;
  const text = (name: string): string | undefined => user.getChildText(name) || undefined;
  const group = presence.getChild('identity')?.getChildText('group') || undefined;
  return {
    id,
    ...(text('name') ? { name: text('name')! } : {}),
    ...(text('avatar') ? { avatar: text('avatar')! } : {}),
    ...(group ? { group } : {}),
  };
}

/** The stamp for a conference MUC; `identityOf` answers what the session bound at a full JID proves. */
export function createIdentityStamp(identityOf: (fullJid: string) => StampedIdentity | undefined): OccupantStamp {
  return {
    presence(realJid, presence) {
      const identity = presence.attrs.type === undefined ? identityOf(realJid.full) : undefined;
      const children = presence.children.filter((c) => typeof c === 'string' || !isIdentity(c));
      if (identity) {
        if (identity.name) {
          const index = children.findIndex((c) => typeof c !== 'string' && c.name === 'nick' && c.getNS() === NS_NICK);
          const nick = new Element('nick', { xmlns: NS_NICK }).t(identity.name);
          if (index >= 0) children[index] = nick;
          else children.push(nick);
        }
        children.push(buildIdentity(identity));
      }
      return children.length === presence.children.length && !identity ? presence : copyWith(presence, children);
    },
    message(_realJid, message) {
      const children = message.children.filter((c) => typeof c === 'string' || !(c.getName() === 'display-name' && c.getNS() === NS_DISPLAY_NAME));
      return children.length === message.children.length ? message : copyWith(message, children);
    },
  };
}

/** What a token's claims vouch for (Jitsi's `context.user`, `context.group`; `sub` when no user id). */
export function identityFromClaims(claims: Record<string, unknown>): StampedIdentity | undefined {
  const context = typeof claims.context === 'object' && claims.context !== null ? claims.context as Record<string, unknown> : {};
  const user = typeof context.user === 'object' && context.user !== null ? context.user as Record<string, unknown> : {};
  const str = (v: unknown): string | undefined => (typeof v === 'string' && v.trim() !== '' ? v.trim().slice(0, 256) : undefined);
  const id = str(user.id) ?? str(claims.sub);
  if (!id) return undefined;
  const name = str(user.name);
  const avatar = str(user.avatar);
  const group = str(context.group);
  return { id, ...(name ? { name } : {}), ...(avatar ? { avatar } : {}), ...(group ? { group } : {}) };
}
