/** Catches rendering errors below it and shows a user-facing message instead of a blank page. */
import { Component, type ComponentChildren } from 'preact';
import { useI18n } from '../../i18n/index.tsx';

interface State {
  readonly error: unknown;
}

function ErrorScreen() {
  const { t } = useI18n();
  return (
    <main class="page page--center" id="main">
      <div class="card" role="alert">
        <h1>{t('app.error.title')}</h1>
        <p>{t('app.error.body')}</p>
        <button type="button" class="button button--primary" onClick={() => location.reload()}>
          {t('app.error.reload')}
        </button>
      </div>
    </main>
  );
}

export class ErrorBoundary extends Component<{ children: ComponentChildren }, State> {
  override state: State = { error: undefined };

  static override getDerivedStateFromError(error: unknown): State {
    return { error };
  }

  override componentDidCatch(error: unknown): void {
    console.error('the interface crashed', error);
  }

  override render() {
    return this.state.error === undefined ? this.props.children : <ErrorScreen />;
  }
}
