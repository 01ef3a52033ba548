/** Re-renders the calling component on every change of a conference and returns its state. */
import { useEffect, useState } from 'preact/hooks';
import type { ConferenceController, ConferenceState } from '../../conference/model.ts';

export function useConference(controller: ConferenceController): ConferenceState {
  const [, setSeen] = useState<ConferenceState | undefined>(undefined);
  useEffect(() => {
    const update = (): void => setSeen(controller.getState());
    const unsubscribe = controller.subscribe(update);
    update(); // a change between the render and this subscription would otherwise be missed
    return unsubscribe;
  }, [controller]);
  // Read at render time, so a new controller's state shows without waiting for its first event.
  return controller.getState();
}
