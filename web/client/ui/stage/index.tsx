/**
 * The conference stage: tile view (everyone in a grid sized to fill the space) or speaker view
 * (one participant large, the others in a strip below).
 */
import { useRef } from 'preact/hooks';
import type { Participant } from '../../conference/model.ts';
import { useI18n } from '../../i18n/index.tsx';
import { useGridColumns } from '../hooks/use-grid-columns.ts';
import { Tile } from '../tile/index.tsx';
import { chooseLarge, NO_MEDIA, type ParticipantMedia } from './layout.ts';

export interface StageProps {
  readonly participants: readonly Participant[];
  readonly media: ReadonlyMap<string, ParticipantMedia>;
  readonly dominantId: string | undefined;
  readonly tileView: boolean;
  readonly pinnedId: string | undefined;
  readonly onPin: (id: string) => void;
}

export function Stage(props: StageProps) {
  const { t } = useI18n();
  return (
    <section class="stage" aria-label={t('conf.stage')}>
      {props.tileView ? <TileGrid {...props} /> : <SpeakerLayout {...props} />}
      {props.participants.length === 1 && <p class="stage-alone">{t('conf.alone')}</p>}
    </section>
  );
}

function TileGrid({ participants, media, dominantId, pinnedId, onPin }: StageProps) {
  const grid = useRef<HTMLUListElement>(null);
  useGridColumns(grid, participants.length);
  return (
    <ul class="tile-grid" ref={grid}>
      {participants.map((p) => (
        <li key={p.id} class="tile-cell">
          <Tile participant={p} media={media.get(p.id) ?? NO_MEDIA} dominant={p.id === dominantId && participants.length > 1}
            variant="grid" pinned={p.id === pinnedId} onPin={onPin} />
        </li>
      ))}
    </ul>
  );
}

function SpeakerLayout({ participants, media, dominantId, pinnedId, onPin }: StageProps) {
  const { t } = useI18n();
  const large = chooseLarge(participants, pinnedId, dominantId, media);
  const others = participants.filter((p) => p !== large);
  return (
    <div class="speaker-layout">
      <div class="speaker-large">
        {large && (
          <Tile participant={large} media={media.get(large.id) ?? NO_MEDIA} dominant={false} variant="large"
            pinned={large.id === pinnedId} onPin={onPin} />
        )}
      </div>
      {others.length > 0 && (
        <ul class="strip" aria-label={t('conf.strip')}>
          {others.map((p) => (
            <li key={p.id} class="strip-cell">
              <Tile participant={p} media={media.get(p.id) ?? NO_MEDIA} dominant={p.id === dominantId}
                variant="strip" pinned={p.id === pinnedId} onPin={onPin} />
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
