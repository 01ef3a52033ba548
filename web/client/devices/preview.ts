/**
 * Opens the camera and microphone for the pre-join preview. Both are asked in one getUserMedia
 * call (one permission prompt); when that fails each is retried alone, so a missing camera does
 * not also cost the microphone, and each failure is reported for its own kind.
 */
import { classifyMediaError, type MediaProblem } from './media-errors.ts';

export interface PreviewRequest {
  readonly audio: boolean;
  readonly video: boolean;
  readonly audioInput: string | undefined;
  readonly videoInput: string | undefined;
}

export interface PreviewTracks {
  readonly audio: MediaStreamTrack | undefined;
  readonly video: MediaStreamTrack | undefined;
  readonly audioProblem: MediaProblem | undefined;
  readonly videoProblem: MediaProblem | undefined;
}

export const NO_PREVIEW: PreviewTracks = { audio: undefined, video: undefined, audioProblem: undefined, videoProblem: undefined };

function constraint(deviceId: string | undefined): MediaTrackConstraints | boolean {
  return deviceId === undefined ? true : { deviceId: { exact: deviceId } };
}

async function open(constraints: MediaStreamConstraints): Promise<MediaStream> {
  if (!navigator.mediaDevices?.getUserMedia) {
    throw new DOMException('getUserMedia is not available (insecure context?)', 'NotFoundError');
  }
  return navigator.mediaDevices.getUserMedia(constraints);
}

async function openOne(kind: 'audio' | 'video', deviceId: string | undefined): Promise<[MediaStreamTrack | undefined, MediaProblem | undefined]> {
  try {
    const stream = await open({ [kind]: constraint(deviceId) });
    return [stream.getTracks()[0], undefined];
  } catch (err) {
    return [undefined, classifyMediaError(err)];
  }
}

export async function openPreview(req: PreviewRequest): Promise<PreviewTracks> {
  if (!req.audio && !req.video) return NO_PREVIEW;
  try {
    const stream = await open({
      audio: req.audio ? constraint(req.audioInput) : false,
      video: req.video ? constraint(req.videoInput) : false,
    });
    return {
      audio: stream.getAudioTracks()[0],
      video: stream.getVideoTracks()[0],
      audioProblem: undefined,
      videoProblem: undefined,
    };
  } catch (err) {
    if (!(req.audio && req.video)) {
      const problem = classifyMediaError(err);
      return { ...NO_PREVIEW, audioProblem: req.audio ? problem : undefined, videoProblem: req.video ? problem : undefined };
    }
  }
  const [audio, audioProblem] = await openOne('audio', req.audioInput);
  const [video, videoProblem] = await openOne('video', req.videoInput);
  return { audio, video, audioProblem, videoProblem };
}

export function stopPreview(tracks: PreviewTracks): void {
  tracks.audio?.stop();
  tracks.video?.stop();
}
