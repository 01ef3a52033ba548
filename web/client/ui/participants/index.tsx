/**
 * The participants panel: everyone with role, mute and hand state (raised hands first); for a
 * moderator, the people waiting in the lobby (admit, deny), mute / remove / make moderator and,
 * when microphones are moderated, allow to speak per person; then mute everyone, the switches of
 * microphone moderation and of the lobby, and the room password.
 */
import { useEffect, useId, useState } from 'preact/hooks';
import type { Knocker, ModerationState, Participant } from '../../conference/model.ts';
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
  readonly moderation: ModerationState;
  readonly onMuteEveryone: () => void;
  readonly onSetLobby: (on: boolean) => Promise<boolean>;
  readonly onAdmit: (id: string) => void;
  readonly onDeny: (id: string) => void;
  readonly onSetAudioModeration: (on: boolean) => void;
  readonly onAllowToSpeak: (id: string) => void;
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
          {p.verified && <span class="tag" title={t('people.verifiedHint')}>{t('people.verified')}</span>}
          {p.raisedHandAt !== undefined && <span class="tag tag--hand"><HandIcon />{t('people.handRaised')}</span>}
          {p.audioMuted && <span class="tag tag--icon" title={t('people.micOff')}><MicOffIcon /><span class="sr-only">{t('people.micOff')}</span></span>}
          {p.videoMuted && <span class="tag tag--icon" title={t('people.camOff')}><CameraOffIcon /><span class="sr-only">{t('people.camOff')}</span></span>}
        </span>
        {moderator && !p.local && (
          <span class="person-actions">
            {props.moderation.audioModerated && p.raisedHandAt !== undefined && !props.moderation.allowedToSpeak.includes(p.id) && (
              <ActionButton label={t('people.allowSpeak')} name={p.displayName} onClick={() => props.onAllowToSpeak(p.id)} />
            )}
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

function Knockers({ knockers, props }: { knockers: readonly Knocker[]; props: ParticipantsProps }) {
  const { t } = useI18n();
  const headingId = useId();
  return (
    <section class="people-section" aria-labelledby={headingId}>
      <h3 id={headingId} class="people-heading">{t('people.waiting', { count: String(knockers.length) })}</h3>
      <ul class="people-list">
        {knockers.map((k) => (
          <li key={k.id} class="person">
            <span class={`person-avatar avatar-bg--${avatarHue(k.id, 8)}`} aria-hidden="true">{initials(k.displayName)}</span>
            <div class="person-main">
              <span class="person-name">{k.displayName}</span>
              <span class="person-actions">
                <ActionButton label={t('people.admit')} name={k.displayName} onClick={() => props.onAdmit(k.id)} />
                <ActionButton label={t('people.deny')} name={k.displayName} danger onClick={() => props.onDeny(k.id)} />
              </span>
            </div>
          </li>
        ))}
      </ul>
    </section>
  );
}

/** How long a switch shows the state asked for while the room has not confirmed it. */
const SWITCH_PENDING_MS = 10_000;

/**
 * A labelled checkbox that acts at once (a switch): its state is the room's, not a draft. Between
 * the click and the room's confirmation it shows the state asked for (aria-busy), so that a render
 * caused by anything else in the meantime does not flip it back, and takes no other click (one
 * request at a time, so the room's next state answers it). It shows the room's state again at
 * once when `onChange` reports a refusal, or without a confirmation within SWITCH_PENDING_MS.
 */
function Switch({ label, hint, checked, onChange }: {
  label: string; hint?: string; checked: boolean; onChange: (on: boolean) => void | Promise<boolean>;
}) {
  const id = useId();
  const hintId = useId();
  const [asked, setAsked] = useState<boolean | null>(null);
  useEffect(() => {
    if (asked === null) return undefined;
    if (asked === checked) { setAsked(null); return undefined; }
    const timer = setTimeout(() => setAsked(null), SWITCH_PENDING_MS);
    return () => clearTimeout(timer);
  }, [asked, checked]);
  const change = (on: boolean): void => {
    setAsked(on);
    const taken = onChange(on);
    if (taken) void taken.then((ok) => { if (!ok) setAsked((current) => (current === on ? null : current)); });
  };
  return (
    <div class="field field--inline">
      <label class="check" for={id}>
        <input id={id} type="checkbox" role="switch" checked={asked ?? checked} aria-busy={asked !== null ? 'true' : undefined}
          aria-describedby={hint ? hintId : undefined}
          onClick={(e) => { if (asked !== null) e.preventDefault(); }}
          onChange={(e) => change(e.currentTarget.checked)} />
        <span>{label}</span>
      </label>
      {hint && <p id={hintId} class="hint">{hint}</p>}
    </div>
  );
}

function ModerationControls({ props }: { props: ParticipantsProps }) {
  const { t } = useI18n();
  const headingId = useId();
  const { moderation } = props;
  return (
    <section class="people-section moderation" aria-labelledby={headingId}>
      <h3 id={headingId} class="people-heading">{t('people.moderation')}</h3>
      <div class="actions">
        <button type="button" class="button" onClick={props.onMuteEveryone}>{t('people.muteAll')}</button>
      </div>
      {moderation.avModerationSupported && (
        <Switch label={t('people.selfUnmute')} hint={t('people.selfUnmuteHint')} checked={!moderation.audioModerated}
          onChange={(on) => props.onSetAudioModeration(!on)} />
      )}
      {moderation.lobbySupported && (
        <Switch label={t('people.lobby')} checked={moderation.lobbyEnabled} onChange={props.onSetLobby} />
      )}
    </section>
  );
}

export function Participants(props: ParticipantsProps) {
  const { t } = useI18n();
  const moderator = props.participants.some((p) => p.local && p.role === 'moderator');
  const knockers = moderator ? props.moderation.knockers : [];
  return (
    <div class="people">
      {knockers.length > 0 && <Knockers knockers={knockers} props={props} />}
      <ul class="people-list" aria-label={t('people.list')}>
        {sortForList(props.participants).map((p) => <Row key={p.id} p={p} moderator={moderator} props={props} />)}
      </ul>
      {moderator && <ModerationControls props={props} />}
      {moderator && <PasswordForm onSetPassword={props.onSetPassword} />}
    </div>
  );
}
