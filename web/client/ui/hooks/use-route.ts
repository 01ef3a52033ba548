/** The current route, following history navigation (pushState here, back/forward buttons). */
import { useCallback, useEffect, useState } from 'preact/hooks';
import { roomNameProblem } from '../landing/room-name.ts';
import { parseRoute, type Route } from '../route.ts';

const isValidRoom = (room: string): boolean => roomNameProblem(room) === undefined;

export function useRoute(): [Route, (path: string) => void] {
  const [route, setRoute] = useState<Route>(() => parseRoute(location.pathname, isValidRoom));
  useEffect(() => {
    const onPop = (): void => setRoute(parseRoute(location.pathname, isValidRoom));
    addEventListener('popstate', onPop);
    return () => removeEventListener('popstate', onPop);
  }, []);
  const navigate = useCallback((path: string) => {
    history.pushState(null, '', path);
    setRoute(parseRoute(path, isValidRoom));
  }, []);
  return [route, navigate];
}
