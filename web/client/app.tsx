/**
 * The client's root: i18n and the error boundary around the router, which shows the landing page
 * or a room. The conference implementation comes in as `createConference`, so the views never
 * import the signalling code (main.tsx wires the real one, tests a fake).
 */
import './styles/index.css';
import { I18nProvider } from './i18n/index.tsx';
import { ErrorBoundary } from './ui/error-boundary/index.tsx';
import { useRoute } from './ui/hooks/use-route.ts';
import type { InitialOptions } from './ui/initial-options.ts';
import { Landing } from './ui/landing/index.tsx';
import { RoomPage, type CreateConference, type OnConference } from './ui/room/index.tsx';
import { homePath, roomPath } from './ui/route.ts';

export type { CreateConference, InitialOptions, OnConference };

export interface AppProps {
  readonly initial: InitialOptions;
  readonly createConference: CreateConference;
  /** The embedding endpoint's attachment point: called with every conference created. */
  readonly onConference?: OnConference;
}

function Router({ initial, createConference, onConference }: AppProps) {
  const [route, navigate] = useRoute();
  if (route.page === 'landing') {
    return <Landing key={route.invalidRoom ?? ''} invalidRoom={route.invalidRoom} onJoin={(room) => navigate(roomPath(room, route.tenant))} />;
  }
  return (
    <RoomPage key={`${route.tenant ?? ''}/${route.room}`} room={route.room} tenant={route.tenant} initial={initial}
      createConference={createConference} onConference={onConference} onHome={() => navigate(homePath(route.tenant))} />
  );
}

export function App(props: AppProps) {
  return (
    <I18nProvider requested={props.initial.lang}>
      <ErrorBoundary>
        <Router {...props} />
      </ErrorBoundary>
    </I18nProvider>
  );
}
