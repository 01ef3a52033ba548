/**
 * Our own microphone, camera and screen: opens and closes the devices the user chose. A muted camera
 * is closed (its light goes off) and reopened on unmute; a muted microphone is only disabled, so
 * unmuting is instant. A device that fails or is refused leaves that track absent: the call goes on
 * without it.
 */
import type { DeviceChoice } from '../conference/model.ts';

export type MediaFailure = 'denied' | 'not-found' | 'failed';

export function mediaFailureOf(err: unknown): MediaFailure {
  const name = err instanceof DOMException ? err.name : '';
  if (name === 'NotAllowedError' || name === 'SecurityError') return 'denied';
  if (name === 'NotFoundError' || name === 'OverconstrainedError') return 'not-found';
  return 'failed';
}

const VIDEO_CONSTRAINTS: MediaTrackConstraints = { width: { ideal: 1280 }, height: { ideal: 720 }, frameRate: { ideal: 30 } };

export class LocalMedia {
  audio: MediaStreamTrack | undefined;
  video: MediaStreamTrack | undefined;
  screen: MediaStreamTrack | undefined;
  audioFailure: MediaFailure | undefined;
  videoFailure: MediaFailure | undefined;

  /** After close() every track that still arrives (a pending permission prompt) is stopped at once. */
  private closed = false;

  constructor(private devices: DeviceChoice) {}

  private current(kind: 'audio' | 'video'): MediaStreamTrack | undefined {
    return kind === 'audio' ? this.audio : this.video;
  }

  /** A second open racing this one: the newer track wins, the older one is stopped. */
  private replacing(previous: MediaStreamTrack | undefined, next: MediaStreamTrack | undefined): MediaStreamTrack | undefined {
    previous?.stop();
    return this.keep(next);
  }

  /** Keeps `track` unless we were closed meanwhile. */
  private keep(track: MediaStreamTrack | undefined): MediaStreamTrack | undefined {
    if (this.closed) track?.stop();
    return this.closed ? undefined : track;
  }

  /** Opens the microphone (then disabled when `muted`), and the camera unless `videoMuted`. */
  async open(audioMuted: boolean, videoMuted: boolean): Promise<void> {
    await this.openAudio();
    if (this.audio) this.audio.enabled = !audioMuted;
    if (!videoMuted) await this.openVideo();
  }

  async openAudio(): Promise<MediaStreamTrack | undefined> {
    this.audio?.stop();
    this.audio = undefined;
    try {
      const stream = await navigator.mediaDevices.getUserMedia({
        audio: this.devices.audioInput ? { deviceId: { exact: this.devices.audioInput } } : true,
      });
      this.audio = this.replacing(this.current('audio'), stream.getAudioTracks()[0]);
      this.audioFailure = undefined;
    } catch (err) {
      this.audioFailure = mediaFailureOf(err);
    }
    return this.audio;
  }

  async openVideo(): Promise<MediaStreamTrack | undefined> {
    this.video?.stop();
    this.video = undefined;
    try {
      const stream = await navigator.mediaDevices.getUserMedia({
        video: this.devices.videoInput ? { ...VIDEO_CONSTRAINTS, deviceId: { exact: this.devices.videoInput } } : VIDEO_CONSTRAINTS,
      });
      this.video = this.replacing(this.current('video'), stream.getVideoTracks()[0]);
      if (this.video) this.video.contentHint = 'motion';
      this.videoFailure = undefined;
    } catch (err) {
      this.videoFailure = mediaFailureOf(err);
    }
    return this.video;
  }

  closeVideo(): void {
    this.video?.stop();
    this.video = undefined;
  }

  /** Asks for a screen or window (getDisplayMedia); undefined when the user cancels. */
  async openScreen(onEnded: () => void): Promise<MediaStreamTrack | undefined> {
    try {
      const stream = await navigator.mediaDevices.getDisplayMedia({ video: { frameRate: { ideal: 15 } }, audio: false });
      // Some browsers add tab audio even when not asked: it is not sent.
      for (const track of stream.getAudioTracks()) track.stop();
      const track = this.keep(stream.getVideoTracks()[0]);
      if (!track) return undefined;
      track.contentHint = 'detail';
      track.addEventListener('ended', onEnded, { once: true });
      this.screen?.stop();
      this.screen = track;
      return track;
    } catch (err) {
      // The user closing the picker is NotAllowedError; anything else is worth a line in the console.
      if (!(err instanceof DOMException && err.name === 'NotAllowedError')) console.warn('screen capture failed', err);
      return undefined;
    }
  }

  closeScreen(): void {
    this.screen?.stop();
    this.screen = undefined;
  }

  /** Remembers new device choices; the caller reopens what changed. */
  choose(choice: Partial<DeviceChoice>): { audio: boolean; video: boolean } {
    const changed = {
      audio: choice.audioInput !== undefined && choice.audioInput !== this.devices.audioInput,
      video: choice.videoInput !== undefined && choice.videoInput !== this.devices.videoInput,
    };
    this.devices = { ...this.devices, ...choice };
    return changed;
  }

  get audioOutput(): string | undefined {
    return this.devices.audioOutput;
  }

  close(): void {
    this.closed = true;
    this.audio?.stop();
    this.closeVideo();
    this.closeScreen();
    this.audio = undefined;
  }
}
