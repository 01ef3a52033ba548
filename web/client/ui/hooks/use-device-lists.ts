/** The available devices, listed again when devices come and go or when `refreshKey` changes. */
import { useEffect, useState } from 'preact/hooks';
import { listDevices, NO_DEVICES, type DeviceLists } from '../../devices/enumerate.ts';

export function useDeviceLists(refreshKey: unknown): DeviceLists {
  const [lists, setLists] = useState<DeviceLists>(NO_DEVICES);
  useEffect(() => {
    let cancelled = false;
    const refresh = (): void => {
      listDevices().then(
        (found) => { if (!cancelled) setLists(found); },
        (err: unknown) => console.warn('devices could not be listed', err),
      );
    };
    refresh();
    const media = navigator.mediaDevices;
    media?.addEventListener('devicechange', refresh);
    return () => {
      cancelled = true;
      media?.removeEventListener('devicechange', refresh);
    };
  }, [refreshKey]);
  return lists;
}
