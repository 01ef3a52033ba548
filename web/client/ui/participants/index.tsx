/**
 * The participants panel: everyone with role, mute and hand state (raised hands first); for a
 * moderator, mute / remove / make moderator per person and the room password.
 */
import { useId, useState } from 'preact/hooks';
import type { Participant } from '../../conference/model.ts';
import { useI18n } from '../../i18n/index.tsx';
import { CameraOffIcon, HandIcon, MicOffIcon } from '../icons/index.tsx';
import { avatarHue, initials } from '../stage/layout.ts';
import { sortForList } from './order.ts';

export interface ParticipantsProps {
  readonly participants: readonly Participant[];
  readonly onMute: (id: string) => void;
  readonly onKick: (id: string) => void;
  readonly onGrantModerator: (id: string) => void;
  readonly onSetPassword: (password: string) => void;
}

/**
 * A short visible label; the accessible name adds the person's name and starts with the visible
 * label, so speech control users can say what they see (WCAG 2.5.3).
 */
function ActionButton({ label, name, danger = false, disabled = false, onClick }: { label: string; name: string; danger?: boolean; disabled?: boolean; onClick: () => void }) {
  const { t } = useI18n();
  return (
    <button type="button" class={`button button--small${danger ? ' button--danger' : ''}`} disabled={disabled}
      aria-label={t('people.actionFor', { action: label, name })} onClick={onClick}>
      {label}
    </button>
  );
}

function Row({ p, moderator, props }: { p: Participant; moderator: boolean; props: ParticipantsProps }) {
  const { t } = useI18n();
  const name = p.local ? t('tile.you', { name: p.displayName }) : p.displayName;
  return (
    <li class="person">
      <span class={`person-avatar avatar-bg--${avatarHue(p.id, 8)}`} aria-hidden="true">{initials(p.displayName)}</span>
      <div class="person-main">
        <span class="person-name">{name}</span>
        <span class="person-tags">
          {p.role === 'moderator' && <span class="tag">{t('people.moderator')}</span>}
          {p.raisedHandAt !== undefined && <span class="tag tag--hand"><HandIcon />{t('people.handRaised')}</span>}
          {p.audioMuted && <span class="tag tag--icon" title={t('people.micOff')}><MicOffIcon /><span class="sr-only">{t('people.micOff')}</span></span>}
          {p.videoMuted && <span class="tag tag--icon" title={t('people.camOff')}><CameraOffIcon /><span class="sr-only">{t('people.camOff')}</span></span>}
        </span>
        {moderator && !p.local && (
          <span class="person-actions">
            <ActionButton label={t('people.mute')} name={p.displayName} disabled={p.audioMuted} onClick={() => props.onMute(p.id)} />
            {p.role !== 'moderator' && (
              <ActionButton label={t('people.grant')} name={p.displayName} onClick={() => props.onGrantModerator(p.id)} />
            )}
            <ActionButton label={t('people.kick')} name={p.displayName} danger onClick={() => props.onKick(p.id)} />
          </span>
        )}
      </div>
    </li>
  );
}

function PasswordForm({ onSetPassword }: { onSetPassword: (password: string) => void }) {
  const { t } = useI18n();
  const id = useId();
  const hintId = useId();
  const [value, setValue] = useState('');
  const [done, setDone] = useState(false);
  return (
    <form class="form password-form" onSubmit={(e) => { e.preventDefault(); onSetPassword(value); setDone(true); }}>
      <div class="field">
        <label for={id}>{t('people.password')}</label>
        <p id={hintId} class="hint">{t('people.passwordHint')}</p>
        <input id={id} class="input" type="text" autocomplete="off" value={value} aria-describedby={hintId}
          onInput={(e) => { setValue(e.currentTarget.value); setDone(false); }} />
      </div>
      <button type="submit" class="button">{t('people.passwordSet')}</button>
      <p role="status" class="hint">{done ? t('people.passwordDone') : ''}</p>
    </form>
  );
}

export function Participants(props: ParticipantsProps) {
  const { t } = useI18n();
  const moderator = props.participants.some((p) => p.local && p.role === 'moderator');
  return (
    <div class="people">
      <ul class="people-list" aria-label={t('people.list')}>
        {sortForList(props.participants).map((p) => <Row key={p.id} p={p} moderator={moderator} props={props} />)}
      </ul>
      {moderator && <PasswordForm onSetPassword={props.onSetPassword} />}
    </div>
  );
}
