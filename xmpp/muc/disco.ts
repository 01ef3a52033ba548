/**
 * Service discovery of the MUC service and its rooms (XEP-0045 §6, XEP-0030), with the room
 * features and muc#roominfo form Jitsi clients read after joining (jitsi-protocol §4.6).
 */
import type { Element } from 'ltx';
import type { Jid } from '../jid.ts';
import { field, type DataFormField } from '../protocol/dataform.ts';
import { buildDiscoInfo, buildDiscoItems, NS_DISCO_INFO, NS_DISCO_ITEMS } from '../protocol/disco.ts';
import { FORM_MUC_ROOMINFO, NS_MUC, NS_MUC_UNIQUE } from '../protocol/muc-user.ts';
import { FIELD_MEETING_ID } from './config.ts';
import { isPasswordProtected } from './password.ts';
import type { MucRoom } from './room.ts';

export const FEATURE_STABLE_ID = 'http://jabber.org/protocol/muc#stable_id';
export const FEATURE_SELF_PING = 'http://jabber.org/protocol/muc#self-ping-optimization';
export const FIELD_CREATED_TIMESTAMP = 'muc#roominfo_created_timestamp';

/** §6.1 the service itself. */
export function serviceDiscoInfo(name: string): Element {
  return buildDiscoInfo({
    identities: [{ category: 'conference', type: 'text', name }],
    features: [NS_DISCO_INFO, NS_DISCO_ITEMS, NS_MUC, NS_MUC_UNIQUE],
  });
}

/** §6.3 public rooms. */
export function serviceDiscoItems(rooms: Iterable<MucRoom>): Element {
  const items = [];
  for (const room of rooms) if (room.config.public) items.push({ jid: room.jid, name: room.name });
  return buildDiscoItems({ items });
}

/** §6.4 room features and §15.5.4 muc#roominfo, plus Jitsi's meeting id and conference start. */
export function roomDiscoInfo(room: MucRoom): Element {
  const c = room.config;
  const features = [
    NS_MUC, FEATURE_STABLE_ID, FEATURE_SELF_PING,
    c.whois === 'anyone' ? 'muc_nonanonymous' : 'muc_semianonymous',
    c.persistent ? 'muc_persistent' : 'muc_temporary',
    c.membersOnly ? 'muc_membersonly' : 'muc_open',
    isPasswordProtected(c) ? 'muc_passwordprotected' : 'muc_unsecured',
    c.moderated ? 'muc_moderated' : 'muc_unmoderated',
    c.public ? 'muc_public' : 'muc_hidden',
  ];
  const fields: DataFormField[] = [
    field.hidden('FORM_TYPE', FORM_MUC_ROOMINFO),
    field.text('muc#roominfo_description', c.description, 'Description'),
    field.text('muc#roominfo_occupants', String(room.occupantCount), 'Number of occupants'),
    field.boolean('muc#roominfo_changesubject', c.changeSubject),
    field.text(FIELD_MEETING_ID, room.meetingId, 'The meeting unique id.'),
  ];
  // Jitsi's mod_conference_duration: set once a second occupant (after the focus) joined.
  if (room.conferenceStartedAt !== undefined) {
    fields.push(field.text(FIELD_CREATED_TIMESTAMP, String(room.conferenceStartedAt), 'The meeting created_timestamp.'));
  }
  for (const extension of room.ctx.extensions) {
    features.push(...(extension.discoFeatures?.(room) ?? []));
    fields.push(...(extension.roomInfoFields?.(room) ?? []));
  }
  return buildDiscoInfo({
    identities: [{ category: 'conference', type: 'text', name: room.name }],
    features,
    forms: [{ type: 'result', fields }],
  });
}

/**
 * §6.5 occupants, shown only to occupants, and of them only those whose presence the requester
 * receives: a feature hiding occupants from each other (lobby knockers) hides them here too.
 */
export function roomDiscoItems(room: MucRoom, requester: Jid): Element {
  const viewer = room.occupantByRealJid(requester.full);
  const items = viewer === undefined ? [] : [...room.occupants.values()]
    .filter((o) => room.presenceVisible(viewer, o))
    .map((o) => ({ jid: o.occupantJid, name: o.nick }));
  return buildDiscoItems({ items });
}
