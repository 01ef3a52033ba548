/** The landing page: join or create a room by name, with a random readable name suggested. */
import { useId, useMemo, useRef, useState } from 'preact/hooks';
import { useI18n, type MessageKey } from '../../i18n/index.tsx';
import { useDocumentTitle } from '../hooks/use-document-title.ts';
import { TopBar } from '../language-switch/index.tsx';
import { roomNameProblem, suggestRoomName, type RoomNameProblem } from './room-name.ts';

const PROBLEM_MESSAGES: Readonly<Record<RoomNameProblem, MessageKey>> = {
  empty: 'landing.error.empty',
  short: 'landing.error.short',
  long: 'landing.error.long',
  chars: 'landing.error.chars',
};

export interface LandingProps {
  /** A room name from the URL that was not valid: shown with its problem. */
  readonly invalidRoom: string | undefined;
  readonly onJoin: (room: string) => void;
}

export function Landing({ invalidRoom, onJoin }: LandingProps) {
  const { t, lang } = useI18n();
  useDocumentTitle(`${t('landing.title')} – ${t('app.name')}`);
  const inputId = useId();
  const hintId = useId();
  const errorId = useId();
  const input = useRef<HTMLInputElement>(null);
  const [name, setName] = useState(invalidRoom ?? '');
  const [problem, setProblem] = useState<RoomNameProblem | undefined>(
    invalidRoom === undefined ? undefined : roomNameProblem(invalidRoom),
  );
  const [seed, setSeed] = useState(0);
  // A new suggestion when the language changes or the user asks for another one.
  const suggestion = useMemo(() => suggestRoomName(lang), [lang, seed]);

  const submit = (event: Event): void => {
    event.preventDefault();
    const room = name.trim();
    const found = roomNameProblem(room);
    setProblem(found);
    if (found) {
      input.current?.focus();
      return;
    }
    onJoin(room);
  };

  return (
    <div class="page page--light">
      <TopBar />
      <main class="page-main page--center" id="main">
        <div class="card card--narrow">
          <h1>{t('landing.title')}</h1>
          <p>{t('landing.intro')}</p>
          <form class="form" onSubmit={submit} noValidate>
            <div class="field">
              <label for={inputId}>{t('landing.roomLabel')}</label>
              <p id={hintId} class="hint">{t('landing.roomHint')}</p>
              <input
                ref={input}
                id={inputId}
                class="input"
                type="text"
                name="room"
                autocomplete="off"
                autocapitalize="off"
                spellcheck={false}
                value={name}
                placeholder={suggestion}
                aria-invalid={problem !== undefined}
                aria-describedby={problem === undefined ? hintId : `${errorId} ${hintId}`}
                onInput={(e) => {
                  setName(e.currentTarget.value);
                  if (problem) setProblem(roomNameProblem(e.currentTarget.value.trim()));
                }}
              />
              {problem && (
                <p id={errorId} class="error-text" role="alert">{t(PROBLEM_MESSAGES[problem])}</p>
              )}
            </div>
            <p class="suggestion">
              <span data-testid="suggestion">{t('landing.suggestion', { name: suggestion })}</span>
            </p>
            <div class="actions">
              <button type="submit" class="button button--primary">{t('landing.join')}</button>
              <button
                type="button"
                class="button"
                onClick={() => {
                  setName(suggestion);
                  setProblem(undefined);
                  input.current?.focus();
                }}
              >
                {t('landing.useSuggestion')}
              </button>
              <button type="button" class="button button--quiet" onClick={() => setSeed((n) => n + 1)}>
                {t('landing.newSuggestion')}
              </button>
            </div>
          </form>
        </div>
      </main>
    </div>
  );
}
