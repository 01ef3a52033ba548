/**
 * The speaker test: a short generated tone (a WAV built here, no audio file to serve) played
 * through an `<audio>` element routed to the chosen output with setSinkId when available.
 */
import { applySink } from './enumerate.ts';

export interface ToneOptions {
  /** Hz; default 660. */
  readonly frequency?: number;
  /** Default 0.8 s. */
  readonly seconds?: number;
  /** Default 22050 Hz. */
  readonly sampleRate?: number;
}

/** A mono 16-bit PCM WAV file (RIFF/WAVE, format 1) with a sine tone faded in and out. */
export function makeToneWav({ frequency = 660, seconds = 0.8, sampleRate = 22050 }: ToneOptions = {}): Uint8Array<ArrayBuffer> {
  const samples = Math.round(seconds * sampleRate);
  const bytes = new Uint8Array(44 + samples * 2);
  const view = new DataView(bytes.buffer);
  const ascii = (offset: number, text: string): void => {
    for (let i = 0; i < text.length; i++) view.setUint8(offset + i, text.charCodeAt(i));
  };
  ascii(0, 'RIFF');
  view.setUint32(4, 36 + samples * 2, true);
  ascii(8, 'WAVE');
  ascii(12, 'fmt ');
  view.setUint32(16, 16, true); // fmt chunk size
  view.setUint16(20, 1, true); // PCM
  view.setUint16(22, 1, true); // mono
  view.setUint32(24, sampleRate, true);
  view.setUint32(28, sampleRate * 2, true); // byte rate
  view.setUint16(32, 2, true); // block align
  view.setUint16(34, 16, true); // bits per sample
  ascii(36, 'data');
  view.setUint32(40, samples * 2, true);
  const fade = Math.round(sampleRate * 0.05); // 50 ms ramps avoid clicks
  for (let i = 0; i < samples; i++) {
    const envelope = Math.min(1, i / fade, (samples - 1 - i) / fade);
    const value = Math.sin((2 * Math.PI * frequency * i) / sampleRate) * envelope * 0.5;
    view.setInt16(44 + i * 2, Math.round(value * 32767), true);
  }
  return bytes;
}

/** Plays the tone on `sinkId` (default output when undefined); resolves when it has finished. */
export async function playTestSound(sinkId: string | undefined): Promise<void> {
  const url = URL.createObjectURL(new Blob([makeToneWav()], { type: 'audio/wav' }));
  const audio = new Audio();
  try {
    await applySink(audio, sinkId);
    audio.src = url;
    const ended = new Promise<void>((resolve, reject) => {
      audio.addEventListener('ended', () => resolve(), { once: true });
      audio.addEventListener('error', () => reject(new Error('test sound playback failed')), { once: true });
    });
    await audio.play();
    await ended;
  } finally {
    audio.removeAttribute('src');
    URL.revokeObjectURL(url);
  }
}
