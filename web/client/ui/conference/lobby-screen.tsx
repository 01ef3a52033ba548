/**
 * The lobby of a members-only meeting, for someone not let in yet: first the knock step (our
 * name, "Ask to join"), then the wait for a moderator's answer. An admission moves on to the
 * meeting, a refusal to the end screen; the person may leave at any time.
 */
import { useEffect, useId, useRef, useState } from 'preact/hooks';
import { useI18n } from '../../i18n/index.tsx';
import { useDocumentTitle } from '../hooks/use-document-title.ts';

export interface LobbyScreenProps {
  readonly room: string;
  readonly step: 'knock' | 'waiting';
  readonly initialName: string;
  readonly onKnock: (displayName: string) => void;
  readonly onLeave: () => void;
}

export function LobbyScreen({ room, step, initialName, onKnock, onLeave }: LobbyScreenProps) {
  const { t } = useI18n();
  const heading = useRef<HTMLHeadingElement>(null);
  const title = step === 'knock' ? t('lobby.title') : t('lobby.waitingTitle');
  useDocumentTitle(`${title} – ${t('conf.title', { room })} – ${t('app.name')}`);
  // Each step changes the page under the user: its heading takes the focus so it is read.
  useEffect(() => heading.current?.focus(), [step]);
  return (
    <div class="page page--light">
      <main class="page-main page--center" id="main">
        <div class="card card--narrow lobby">
          <h1 ref={heading} tabIndex={-1}>{title}</h1>
          <p>{t('conf.title', { room })}</p>
          {step === 'knock' ? (
            <KnockForm initialName={initialName} onKnock={onKnock} onLeave={onLeave} />
          ) : (
            <>
              <p role="status">{t('lobby.waitingBody')}</p>
              <div class="actions">
                <button type="button" class="button" onClick={onLeave}>{t('lobby.leave')}</button>
              </div>
            </>
          )}
        </div>
      </main>
    </div>
  );
}

function KnockForm({ initialName, onKnock, onLeave }: Pick<LobbyScreenProps, 'initialName' | 'onKnock' | 'onLeave'>) {
  const { t } = useI18n();
  const inputId = useId();
  const hintId = useId();
  const errorId = useId();
  const input = useRef<HTMLInputElement>(null);
  const [name, setName] = useState(initialName);
  const [missing, setMissing] = useState(false);
  const submit = (event: Event): void => {
    event.preventDefault();
    if (!name.trim()) {
      setMissing(true);
      input.current?.focus();
      return;
    }
    onKnock(name.trim());
  };
  return (
    <form class="form" onSubmit={submit} noValidate>
      <p>{t('lobby.body')}</p>
      <div class="field">
        <label for={inputId}>{t('lobby.nameLabel')}</label>
        <p id={hintId} class="hint">{t('lobby.nameHint')}</p>
        <input ref={input} id={inputId} class="input" name="lobbyName" autocomplete="name" value={name}
          aria-invalid={missing} aria-describedby={missing ? `${errorId} ${hintId}` : hintId}
          onInput={(e) => { setName(e.currentTarget.value); if (missing) setMissing(false); }} />
        {missing && <p id={errorId} class="error-text" role="alert">{t('lobby.nameRequired')}</p>}
      </div>
      <div class="actions">
        <button type="submit" class="button button--primary">{t('lobby.knock')}</button>
        <button type="button" class="button" onClick={onLeave}>{t('lobby.leave')}</button>
      </div>
    </form>
  );
}
