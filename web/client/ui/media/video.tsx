/** A silent `<video>` showing a stream; srcObject is set from an effect and cleared on cleanup. */
import { useEffect, useMemo, useRef } from 'preact/hooks';

export interface VideoProps {
  readonly stream: MediaStream;
  /** Our own camera is shown mirrored, as people expect from a mirror (never a screen share). */
  readonly mirrored?: boolean;
  readonly class?: string;
}

export function Video({ stream, mirrored = false, class: extra }: VideoProps) {
  const ref = useRef<HTMLVideoElement>(null);
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    el.srcObject = stream;
    el.play().catch((err: unknown) => {
      // Replaced or removed before it started (AbortError), or autoplay refused: nothing to undo.
      console.debug('video did not start', err);
    });
    return () => {
      el.srcObject = null;
    };
  }, [stream]);
  return (
    <video
      ref={ref}
      class={`video${mirrored ? ' video--mirrored' : ''}${extra ? ` ${extra}` : ''}`}
      autoplay
      playsInline
      muted
    />
  );
}

/** A stable MediaStream around one track (undefined when there is no track). */
export function useTrackStream(track: MediaStreamTrack | undefined): MediaStream | undefined {
  return useMemo(() => (track ? new MediaStream([track]) : undefined), [track]);
}
