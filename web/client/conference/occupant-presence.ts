/**
 * The Jitsi MUC presence of a participant (protocol notes §4.2): what we send (nick, SourceInfo with
 * the legacy audiomuted/videomuted/videoType beside it for older clients, raised hand, stats id) and
 * what we read of the others (XEP-0045 item role and real JID, the same extensions). The whole state
 * is re-sent each time, as lib-jitsi-meet does. Pure.
 */
import { Element } from 'ltx';
import { NS_MUC, NS_MUC_USER, isMucRole } from '../../../xmpp/protocol/muc-user.ts';
import type { Role } from './model.ts';

export const NS_NICK = 'http://jabber.org/protocol/nick';

export interface OwnPresence {
  displayName: string;
  audioMuted: boolean;
  videoMuted: boolean;
  /** Our screen source, when sharing. */
  screenSharing: boolean;
  raisedHandAt: number | undefined;
  statsId: string;
}

/** Our presence to `room/nick`; `join` adds the `<x xmlns=muc>` of XEP-0045 §7.2 (and a password). */
export function buildOwnPresence(to: string, endpointId: string, own: OwnPresence, join: { password?: string } | undefined): Element {
  const presence = new Element('presence', { to });
  if (join) {
    const x = presence.c('x', { xmlns: NS_MUC });
    if (join.password) x.c('password').t(join.password);
    presence.up();
  }
  presence.c('stats-id').t(own.statsId).up();
  presence.c('jitsi_participant_codecList').t('vp8,opus').up();
  presence.c('nick', { xmlns: NS_NICK }).t(own.displayName).up();
  const sourceInfo: Record<string, { muted: boolean; videoType?: string }> = {
    [`${endpointId}-a0`]: { muted: own.audioMuted },
    [`${endpointId}-v0`]: { muted: own.videoMuted, videoType: 'camera' },
  };
  if (own.screenSharing) sourceInfo[`${endpointId}-v1`] = { muted: false, videoType: 'desktop' };
  presence.c('SourceInfo').t(JSON.stringify(sourceInfo)).up();
  presence.c('audiomuted').t(String(own.audioMuted)).up();
  presence.c('videomuted').t(String(own.videoMuted)).up();
  if (own.raisedHandAt !== undefined) presence.c('jitsi_participant_raisedHand').t(String(own.raisedHandAt)).up();
  return presence;
}

/** What we read from an occupant's presence. */
export interface OccupantPresence {
  nick: string;
  unavailable: boolean;
  /** Real JID from the muc#user item (non-anonymous rooms). */
  jid: string | undefined;
  role: Role;
  affiliation: string | undefined;
  statusCodes: number[];
  displayName: string;
  audioMuted: boolean;
  videoMuted: boolean;
  /** Names of the occupant's desktop video sources (SourceInfo), or its legacy `<videoType>desktop`. */
  screenSharing: boolean;
  raisedHandAt: number | undefined;
  /** The focus's `<etherpad>`, when the presence has one. */
  etherpad: string | undefined;
  /**
   * The server's `<identity>` is in the presence: the room stamps it for agents (accounts, tokens)
   * and removes any a client writes (xmpp/muc/identity-stamp.ts), so a guest never has one.
   */
  verified: boolean;
}

type SourceInfo = Array<[name: string, info: { muted?: unknown; videoType?: unknown }]>;

const isPlainObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** `<SourceInfo>` JSON as [source name, info] pairs; anything that is not an object of objects is left out. */
function readSourceInfo(text: string | null): SourceInfo {
  if (!text) return [];
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return [];
  }
  if (!isPlainObject(value)) return [];
  return Object.entries(value).filter((entry): entry is [string, Record<string, unknown>] => isPlainObject(entry[1]));
}

export function parseOccupantPresence(presence: Element): OccupantPresence {
  const from = String(presence.attrs.from ?? '');
  const nick = from.slice(from.indexOf('/') + 1);
  const x = presence.getChild('x', NS_MUC_USER);
  const item = x?.getChild('item');
  const role = item?.attrs.role;
  const entries = readSourceInfo(presence.getChildText('SourceInfo'));
  const mutedOf = (letter: 'a' | 'v', legacy: string): boolean => {
    const mine = entries.filter(([name, info]) => name.startsWith(`${nick}-${letter}`) && info.videoType !== 'desktop');
    if (mine.length > 0) return mine.every(([, info]) => info.muted === true);
    return presence.getChildText(legacy) === 'true';
  };
  const raised = Number(presence.getChildText('jitsi_participant_raisedHand'));
  return {
    nick,
    unavailable: presence.attrs.type === 'unavailable',
    jid: typeof item?.attrs.jid === 'string' ? item.attrs.jid : undefined,
    role: isMucRole(role) ? role : 'participant',
    affiliation: typeof item?.attrs.affiliation === 'string' ? item.attrs.affiliation : undefined,
    statusCodes: (x?.getChildren('status') ?? []).map((s) => Number(s.attrs.code)).filter(Number.isFinite),
    displayName: presence.getChildText('nick', NS_NICK) ?? '',
    audioMuted: mutedOf('a', 'audiomuted'),
    videoMuted: mutedOf('v', 'videomuted'),
    screenSharing: entries.some(([, info]) => info.videoType === 'desktop' && info.muted !== true) || presence.getChildText('videoType') === 'desktop',
    raisedHandAt: Number.isFinite(raised) && raised > 0 ? raised : undefined,
    etherpad: presence.getChildText('etherpad', 'http://jitsi.org/jitmeet/etherpad') ?? undefined,
    verified: Boolean(presence.getChild('identity')?.getChild('user')?.getChildText('id')),
  };
}
