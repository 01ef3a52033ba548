/**
 * One participant on the stage: the camera (mirrored for ourselves) or their initials, a shared
 * screen large with the camera small over it, and a bar with the name, mute, hand and connection
 * indicators, plus a button to show them large.
 */
import type { Participant } from '../../conference/model.ts';
import { useI18n } from '../../i18n/index.tsx';
import { HandIcon, MicOffIcon, PinIcon, QualityIcon } from '../icons/index.tsx';
import { Video } from '../media/video.tsx';
import { avatarHue, initials, type ParticipantMedia } from '../stage/layout.ts';

const AVATAR_COLOURS = 8;

export interface TileProps {
  readonly participant: Participant;
  readonly media: ParticipantMedia;
  readonly dominant: boolean;
  readonly variant: 'grid' | 'large' | 'strip';
  readonly pinned: boolean;
  readonly onPin: (id: string) => void;
}

export function Tile({ participant: p, media, dominant, variant, pinned, onPin }: TileProps) {
  const { t } = useI18n();
  const name = p.local ? t('tile.you', { name: p.displayName }) : p.displayName;
  const camera = p.videoMuted ? undefined : media.camera;
  const screen = media.screen;
  const classes = ['tile', `tile--${variant}`, dominant ? 'tile--dominant' : '', p.raisedHandAt !== undefined ? 'tile--hand' : ''];
  return (
    <div class={classes.join(' ')} data-participant={p.id}>
      {screen ? (
        <Video stream={screen} class="tile-video tile-video--screen" />
      ) : camera ? (
        <Video stream={camera} mirrored={p.local} class="tile-video" />
      ) : (
        <div class="avatar" aria-hidden="true">
          <span class={`avatar-bg--${avatarHue(p.id, AVATAR_COLOURS)}`}>{initials(p.displayName)}</span>
        </div>
      )}
      {screen && camera && <Video stream={camera} mirrored={p.local} class="tile-pip" />}
      <div class="tile-bar">
        {p.audioMuted && (
          <span class="tile-indicator tile-indicator--muted" title={t('tile.audioMuted')}>
            <MicOffIcon />
          </span>
        )}
        {p.raisedHandAt !== undefined && (
          <span class="tile-indicator tile-indicator--hand" title={t('tile.handRaised')}>
            <HandIcon />
          </span>
        )}
        <span class="tile-name">
          {screen ? t('tile.sharing', { name }) : name}
          <span class="sr-only">
            {[
              p.audioMuted ? t('tile.audioMuted') : '',
              p.videoMuted ? t('tile.videoMuted') : '',
              p.raisedHandAt !== undefined ? t('tile.handRaised') : '',
              dominant ? t('tile.dominant') : '',
            ].filter((s) => s !== '').map((s) => `, ${s}`).join('')}
          </span>
        </span>
        <span class={`quality quality--${p.connectionQuality}`} title={t(`tile.quality.${p.connectionQuality}`)}>
          <QualityIcon />
          <span class="sr-only">{t(`tile.quality.${p.connectionQuality}`)}</span>
        </span>
      </div>
      {(variant !== 'large' || pinned) && (
        <button
          type="button"
          class="tile-pin"
          aria-pressed={pinned}
          aria-label={t('tile.pin', { name: p.displayName })}
          title={t('tile.pin', { name: p.displayName })}
          onClick={() => onPin(p.id)}
        >
          <PinIcon />
        </button>
      )}
    </div>
  );
}
