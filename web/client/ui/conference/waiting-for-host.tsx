/**
 * The screen a guest sees while no organiser has started the meeting: the client keeps asking on
 * its own and moves on to the meeting when one arrives; the guest may leave meanwhile. The
 * organiser may sign in from here (jitsi-meet's "I am the host"): through the deployment's token
 * service (a link to it) or with an account of the service (a username and password form).
 */
import { useEffect, useId, useRef, useState } from 'preact/hooks';
import type { HostSignIn } from '../../conference/model.ts';
import { useI18n } from '../../i18n/index.tsx';
import { useDocumentTitle } from '../hooks/use-document-title.ts';

export interface WaitingForHostProps {
  readonly room: string;
  readonly signIn: HostSignIn | undefined;
  /** Resolves once signed in; rejects with an Error whose message is 'not-authorized' for wrong credentials. */
  readonly onSignIn: (username: string, password: string) => Promise<void>;
  readonly onLeave: () => void;
}

export function WaitingForHost({ room, signIn, onSignIn, onLeave }: WaitingForHostProps) {
  const { t } = useI18n();
  const heading = useRef<HTMLHeadingElement>(null);
  const [formShown, setFormShown] = useState(false);
  useDocumentTitle(`${t('wait.title')} – ${t('conf.title', { room })} – ${t('app.name')}`);
  // The page changed under the user (from "joining"): the heading takes the focus so it is read.
  useEffect(() => heading.current?.focus(), []);
  return (
    <div class="page page--light">
      <main class="page-main page--center" id="main">
        <div class="card card--narrow" aria-live="polite">
          <h1 ref={heading} tabIndex={-1}>{t('wait.title')}</h1>
          <p>{t('wait.body')}</p>
          <p>{t('conf.title', { room })}</p>
          {signIn?.kind === 'password' && formShown && <SignInForm onSignIn={onSignIn} />}
          <div class="actions">
            {signIn?.kind === 'url' && <a class="button button--primary" href={signIn.url}>{t('wait.hostSignIn')}</a>}
            {signIn?.kind === 'password' && !formShown && (
              <button type="button" class="button button--primary" onClick={() => setFormShown(true)}>{t('wait.hostSignIn')}</button>
            )}
            <button type="button" class="button" onClick={onLeave}>{t('wait.leave')}</button>
          </div>
        </div>
      </main>
    </div>
  );
}

type Problem = 'empty' | 'wrong' | 'failed';

function SignInForm({ onSignIn }: { onSignIn: WaitingForHostProps['onSignIn'] }) {
  const { t } = useI18n();
  const userId = useId();
  const passwordId = useId();
  const errorId = useId();
  const user = useRef<HTMLInputElement>(null);
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [problem, setProblem] = useState<Problem | undefined>(undefined);
  const [status, setStatus] = useState<'idle' | 'busy' | 'done'>('idle');
  // The form appears on request: its first field takes the focus.
  useEffect(() => user.current?.focus(), []);

  const submit = (event: Event): void => {
    event.preventDefault();
    if (status === 'busy') return;
    if (!username.trim() || !password) {
      setProblem('empty');
      user.current?.focus();
      return;
    }
    setProblem(undefined);
    setStatus('busy');
    onSignIn(username, password).then(
      () => setStatus('done'),
      (err: unknown) => {
        setStatus('idle');
        setProblem(err instanceof Error && err.message === 'not-authorized' ? 'wrong' : 'failed');
        user.current?.focus();
      },
    );
  };
  const described = problem ? errorId : undefined;
  const problemText = problem === 'empty' ? t('wait.signInEmpty') : problem === 'wrong' ? t('wait.signInWrong') : t('wait.signInFailed');
  return (
    <form class="form sign-in" onSubmit={submit} noValidate aria-label={t('wait.signInTitle')}>
      <h2 class="form-title">{t('wait.signInTitle')}</h2>
      <div class="field">
        <label for={userId}>{t('wait.username')}</label>
        <input ref={user} id={userId} class="input" name="username" autocomplete="username" value={username}
          aria-invalid={problem !== undefined && problem !== 'failed'} aria-describedby={described}
          onInput={(e) => setUsername(e.currentTarget.value)} />
      </div>
      <div class="field">
        <label for={passwordId}>{t('wait.password')}</label>
        <input id={passwordId} class="input" type="password" name="password" autocomplete="current-password" value={password}
          aria-invalid={problem !== undefined && problem !== 'failed'} aria-describedby={described}
          onInput={(e) => setPassword(e.currentTarget.value)} />
      </div>
      {problem && <p id={errorId} class="error-text" role="alert">{problemText}</p>}
      <p role="status" class="hint">{status === 'busy' ? t('wait.signingIn') : status === 'done' ? t('wait.signedIn') : ''}</p>
      <div class="actions">
        <button type="submit" class="button button--primary" aria-disabled={status === 'busy'}>{t('wait.signIn')}</button>
      </div>
    </form>
  );
}
