/**
 * Shown when the conference is over for us: left, removed, ended or failed; rejoin or go home.
 * A room locked with a password asks for it here and joins again with it.
 */
import { useEffect, useId, useRef, useState } from 'preact/hooks';
import type { ConferencePhase } from '../../conference/model.ts';
import { useI18n } from '../../i18n/index.tsx';
import { useDocumentTitle } from '../hooks/use-document-title.ts';

export type EndPhase = Extract<ConferencePhase, { name: 'left' } | { name: 'failed' }>;

/** What the end screen needs to let someone into a locked room. */
export interface PasswordPrompt {
  /** The refused join gave a password: the room's answer means it was the wrong one. */
  readonly rejected: boolean;
  /** Starts a new conference with the same options and this password. */
  readonly join: (password: string) => void;
}

export interface EndScreenProps {
  readonly phase: EndPhase;
  readonly passwordPrompt: PasswordPrompt;
  readonly onRejoin: () => void;
  readonly onHome: () => void;
}

export function EndScreen({ phase, passwordPrompt, onRejoin, onHome }: EndScreenProps) {
  const { t } = useI18n();
  const heading = useRef<HTMLHeadingElement>(null);
  const title = phase.name === 'failed' ? t('end.failed') : t(`end.${phase.reason}`);
  const asksPassword = phase.name === 'failed' && phase.error === 'password-required';
  const reasonId = useId();
  useDocumentTitle(`${title} – ${t('app.name')}`);
  // The password field takes the focus itself; elsewhere the heading says what happened.
  useEffect(() => {
    if (!asksPassword) heading.current?.focus();
  }, []);
  return (
    <div class="page page--light">
      <main class="page-main page--center" id="main">
        <div class="card card--narrow">
          <h1 ref={heading} tabIndex={-1}>{title}</h1>
          {phase.name === 'failed' && <p id={reasonId}>{t(`end.error.${phase.error}`)}</p>}
          {asksPassword ? (
            <PasswordForm prompt={passwordPrompt} reasonId={reasonId} onHome={onHome} />
          ) : (
            <div class="actions">
              <button type="button" class="button button--primary" onClick={onRejoin}>{t('end.rejoin')}</button>
              <button type="button" class="button" onClick={onHome}>{t('end.home')}</button>
            </div>
          )}
        </div>
      </main>
    </div>
  );
}

interface PasswordFormProps {
  readonly prompt: PasswordPrompt;
  /** The paragraph saying the meeting is locked, read with the field. */
  readonly reasonId: string;
  readonly onHome: () => void;
}

/**
 * The password field and its Join button. The field is focused on arrival, so a screen reader
 * reads its label, the reason and, after a refused password, the error (WCAG 3.3.1) at once.
 */
function PasswordForm({ prompt, reasonId, onHome }: PasswordFormProps) {
  const { t } = useI18n();
  const inputId = useId();
  const errorId = useId();
  const input = useRef<HTMLInputElement>(null);
  const [value, setValue] = useState('');
  const [problem, setProblem] = useState<'wrong' | 'empty' | undefined>(prompt.rejected ? 'wrong' : undefined);
  useEffect(() => input.current?.focus(), []);

  const submit = (event: Event): void => {
    event.preventDefault();
    if (value === '') {
      setProblem('empty');
      input.current?.focus();
      return;
    }
    prompt.join(value);
  };

  return (
    <form class="form" onSubmit={submit} noValidate>
      <div class="field">
        <label for={inputId}>{t('end.password')}</label>
        <input ref={input} id={inputId} class="input" type="password" name="password" autocomplete="off"
          value={value} aria-invalid={problem !== undefined}
          aria-describedby={problem === undefined ? reasonId : `${errorId} ${reasonId}`}
          onInput={(e) => {
            setValue(e.currentTarget.value);
            if (problem === 'empty') setProblem(undefined);
          }} />
        {problem && (
          <p id={errorId} class="error-text" role="alert">
            {t(problem === 'wrong' ? 'end.passwordWrong' : 'end.passwordEmpty')}
          </p>
        )}
      </div>
      <div class="actions">
        <button type="submit" class="button button--primary">{t('end.join')}</button>
        <button type="button" class="button" onClick={onHome}>{t('end.home')}</button>
      </div>
    </form>
  );
}
