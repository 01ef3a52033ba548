/**
 * The end-conference component (`endconference.<domain>`), as jitsi-meet's
 * resources/prosody-plugins/mod_end_conference.lua behaves: a moderator of a conference room sends
 * `<message to="endconference.meet.jitsi"><end_conference/></message>` (lib-jitsi-meet's
 * ChatRoom.end(), no namespace of its own, no room named) and the room is destroyed for everyone:
 * each occupant gets its unavailable presence with `<destroy><reason>…</reason></destroy>`. The
 * focus, an occupant too, then ends the conference and expires it on the bridge.
 *
 * The room is the one the sender moderates (./moderator-room.ts), and a refused request gets an
 * error reply (Prosody drops it silently).
 */
import type { Element } from 'ltx';
import type { Logger } from 'pino';
import { StanzaError } from '../errors.ts';
import type { MucService } from '../muc/index.ts';
import type { DomainService, Router } from '../router.ts';
import { moderatorRoom } from './moderator-room.ts';

/** mod_end_conference's reason, shown by jitsi-meet when the room is destroyed. */
export const END_CONFERENCE_REASON = 'The meeting has been terminated';

export class EndConferenceComponent implements DomainService {
  constructor(
    readonly domain: string,
    private readonly router: Router,
    private readonly muc: MucService,
    private readonly log: Logger,
  ) {}

  receive(stanza: Element): void {
    if (stanza.attrs.type === 'error') return;
    if (stanza.name !== 'message') {
      if (stanza.name === 'iq' && (stanza.attrs.type === 'get' || stanza.attrs.type === 'set')) {
        this.router.bounce(stanza, new StanzaError('cancel', 'service-unavailable'));
      }
      return;
    }
    if (!stanza.getChild('end_conference')) return;
    const from = String(stanza.attrs.from);
    try {
      const { room, occupant } = moderatorRoom(this.muc, from, 'end the conference for everyone');
      this.log.info({ room: room.jid, by: occupant.nick }, 'conference ended for everyone');
      this.muc.destroyRoom(room.jid, { reason: END_CONFERENCE_REASON });
    } catch (err) {
      if (!(err instanceof StanzaError)) {
        this.log.error({ err }, 'end_conference failed');
        return this.router.bounce(stanza, new StanzaError('wait', 'internal-server-error'));
      }
      this.log.debug({ from, condition: err.condition, text: err.text }, 'end_conference refused');
      this.router.bounce(stanza, err);
    }
  }
}
