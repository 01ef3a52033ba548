/**
 * One conference's audio/video moderation as the focus enforces it (Jicofo's AvModerationHandler
 * with ChatRoomImpl's AvModerationForMediaType): the state comes from the A/V moderation
 * component's `json-message`s, which reach the focus because it is a moderator occupant of the
 * room (xmpp/components/av-moderation.ts, jitsi-meet's mod_av_moderation_component.lua).
 *
 * Enforcement is at the bridge: a participant who is not a moderator and not approved for a
 * moderated media type is force-muted there (Colibri2 `<force-mute>`), so nothing it sends of that
 * media reaches anyone, whatever its client does. Jicofo sets that state when moderation is
 * enabled and on each mute request (JitsiMeetConferenceImpl.handleMuteRequest: colibri mute =
 * not allowed to unmute); here it is recomputed from the state on every change, which gives the
 * same result and also lifts the mute as soon as a participant is approved or moderation ends.
 */
import type { AvModerationNotice, ModeratedMedia } from '../xmpp/protocol/av-moderation.ts';
import { suppressesForceMute, type Participant } from './participant.ts';

/** What the bridge is told for one endpoint. */
export interface ForceMute {
  audio: boolean;
  video: boolean;
}

export const NOT_FORCE_MUTED: ForceMute = { audio: false, video: false };

export class AvModeration {
  private readonly enabled = new Set<ModeratedMedia>();
  /** Approved occupant JIDs (`room@muc/nick`) per moderated media type. */
  private readonly whitelists = new Map<ModeratedMedia, ReadonlySet<string>>();

  /**
   * Applies a notice of the component. Returns the media types whose moderation has just been
   * turned on (everyone not allowed is then asked to mute, as Jicofo's muteAllParticipants).
   */
  apply(notice: AvModerationNotice): ModeratedMedia[] {
    if (notice.kind === 'enabled') {
      const was = this.enabled.has(notice.mediaType);
      if (notice.enabled) this.enabled.add(notice.mediaType);
      else {
        this.enabled.delete(notice.mediaType);
        this.whitelists.delete(notice.mediaType);
      }
      return notice.enabled && !was ? [notice.mediaType] : [];
    }
    if (notice.kind === 'whitelists') {
      for (const [media, list] of Object.entries(notice.whitelists) as Array<[ModeratedMedia, string[]]>) {
        this.whitelists.set(media, new Set(list));
      }
    }
    // `approved`/`rejected` go to the participant concerned only; the focus, a moderator, gets the lists.
    return [];
  }

  isEnabled(media: ModeratedMedia): boolean {
    return this.enabled.has(media);
  }

  /** Jicofo's isMemberAllowedToUnmute: moderation off for that media, or approved. */
  isAllowedToUnmute(occupantJid: string, media: ModeratedMedia): boolean {
    return !this.enabled.has(media) || this.whitelists.get(media)?.has(occupantJid) === true;
  }

  /** A participant may unmute itself: moderators always, others when allowed. */
  mayUnmute(p: Participant, media: ModeratedMedia): boolean {
    return p.role === 'moderator' || this.isAllowedToUnmute(p.occupantJid, media);
  }

  /**
   * The bridge state for `p`: moderators are never force-muted, nor a service moderation leaves
   * alone (suppressesForceMute: a recorder, a SIP gateway without audio mute). The bridge has one switch for
   * camera and screen: with both moderated, video stays open if either is approved (Jicofo's
   * rule); with only the camera moderated (lib-jitsi-meet before `desktop` existed), the camera
   * rule decides.
   */
  forceMuteOf(p: Participant): ForceMute {
    if (p.role === 'moderator' || suppressesForceMute(p)) return NOT_FORCE_MUTED;
    const camera = !this.isAllowedToUnmute(p.occupantJid, 'video');
    const screen = this.enabled.has('desktop') ? !this.isAllowedToUnmute(p.occupantJid, 'desktop') : camera;
    return { audio: !this.isAllowedToUnmute(p.occupantJid, 'audio'), video: camera && screen };
  }
}
