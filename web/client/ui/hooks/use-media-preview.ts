/**
 * The pre-join preview tracks: (re)opened whenever the wanted kinds or devices change, and
 * stopped when they change again or the pre-join screen goes away (the conference opens its own).
 */
import { useEffect, useState } from 'preact/hooks';
import { NO_PREVIEW, openPreview, stopPreview, type PreviewRequest, type PreviewTracks } from '../../devices/preview.ts';

/** `attempt` reopens the same devices (the user's "try again" after fixing a permission). */
export function useMediaPreview(req: PreviewRequest, attempt: number): PreviewTracks {
  const [preview, setPreview] = useState<PreviewTracks>(NO_PREVIEW);
  const { audio, video, audioInput, videoInput } = req;
  useEffect(() => {
    let current: PreviewTracks | undefined;
    let cancelled = false;
    openPreview({ audio, video, audioInput, videoInput }).then(
      (tracks) => {
        if (cancelled) {
          stopPreview(tracks);
          return;
        }
        current = tracks;
        setPreview(tracks);
      },
      (err: unknown) => {
        console.error('preview could not be opened', err); // openPreview reports failures in its result
        if (!cancelled) setPreview(NO_PREVIEW);
      },
    );
    return () => {
      cancelled = true;
      if (current) stopPreview(current);
    };
  }, [audio, video, audioInput, videoInput, attempt]);
  return preview;
}
