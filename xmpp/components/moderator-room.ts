/**
 * Which room a request to a Jitsi component is about: the conference where the sender is a
 * moderator. Prosody's modules take the room from the `?room=` of the sender's connection URL
 * (session.jitsi_web_query_room) and then check the sender is a moderator there; Salon keeps no
 * such URL, so the room is found from the sender's full JID among the room's occupants.
 */
import { StanzaError } from '../errors.ts';
import type { MucOccupantView, MucRoomView, MucService } from '../muc/index.ts';

/**
 * @throws StanzaError item-not-found (not in a conference), forbidden (not a moderator there),
 * bad-request (moderator of several conferences at once: which one is ambiguous).
 */
export function moderatorRoom(muc: MucService, from: string, what: string): { room: MucRoomView; occupant: MucOccupantView } {
  const rooms = muc.roomsWith(from);
  if (rooms.length === 0) throw new StanzaError('cancel', 'item-not-found', 'you are not in a conference');
  const moderated = rooms.filter((room) => room.occupantByRealJid(from)?.role === 'moderator');
  if (moderated.length === 0) throw new StanzaError('auth', 'forbidden', `only moderators may ${what}`);
  if (moderated.length > 1) throw StanzaError.badRequest('you moderate several conferences');
  const room = moderated[0]!;
  return { room, occupant: room.occupantByRealJid(from)! };
}
