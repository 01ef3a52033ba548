/**
 * Plays every remote microphone through its own hidden `<audio autoplay>`, whatever the view, and
 * routes it to the chosen speaker when the browser supports setSinkId.
 */
import { useEffect, useRef } from 'preact/hooks';
import type { RemoteMedia } from '../../conference/model.ts';
import { applySink } from '../../devices/enumerate.ts';

function RemoteAudio({ stream, sinkId }: { stream: MediaStream; sinkId: string | undefined }) {
  const ref = useRef<HTMLAudioElement>(null);
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    el.srcObject = stream;
    el.play().catch((err: unknown) => console.debug('remote audio did not start (autoplay policy?)', err));
    return () => {
      el.srcObject = null;
    };
  }, [stream]);
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    applySink(el, sinkId).catch((err: unknown) => console.warn('speaker could not be selected', err));
  }, [sinkId]);
  return <audio ref={ref} autoplay class="hidden-media" />;
}

export function AudioSinks({ media, localId, sinkId }: { media: readonly RemoteMedia[]; localId: string | undefined; sinkId: string | undefined }) {
  return (
    <div class="audio-sinks" aria-hidden="true">
      {media
        .filter((m) => m.kind === 'audio' && m.participantId !== localId)
        .map((m) => <RemoteAudio key={`${m.participantId}:${m.stream.id}`} stream={m.stream} sinkId={sinkId} />)}
    </div>
  );
}
