/**
 * Drives a level bar from a microphone track with WebAudio (an AnalyserNode read once per frame).
 * It writes the element's transform directly: no re-render per frame, and no inline style
 * attribute in markup (the CSP forbids those; setting a style property from script is allowed).
 */
import { useEffect, type MutableRef } from 'preact/hooks';

export function useAudioLevel(track: MediaStreamTrack | undefined, bar: MutableRef<HTMLElement | null>): void {
  useEffect(() => {
    const el = bar.current;
    if (!track || !el || typeof AudioContext === 'undefined') return;
    const context = new AudioContext();
    const source = context.createMediaStreamSource(new MediaStream([track]));
    const analyser = context.createAnalyser();
    analyser.fftSize = 512;
    source.connect(analyser);
    const samples = new Uint8Array(analyser.fftSize);
    let frame = 0;
    const draw = (): void => {
      analyser.getByteTimeDomainData(samples);
      let peak = 0;
      for (const s of samples) peak = Math.max(peak, Math.abs(s - 128));
      el.style.transform = `scaleX(${Math.min(1, (peak / 128) * 2).toFixed(3)})`;
      frame = requestAnimationFrame(draw);
    };
    frame = requestAnimationFrame(draw);
    return () => {
      cancelAnimationFrame(frame);
      source.disconnect();
      el.style.transform = 'scaleX(0)';
      context.close().catch((err: unknown) => console.warn('audio level context did not close', err));
    };
  }, [track, bar]);
}
