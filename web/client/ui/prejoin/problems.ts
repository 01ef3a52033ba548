/** Which explanations the pre-join screen shows for the media problems found. */
import type { MediaProblem } from '../../devices/media-errors.ts';
import type { MessageKey } from '../../i18n/index.tsx';

const AUDIO: Readonly<Record<MediaProblem, MessageKey>> = {
  denied: 'prejoin.audioDenied',
  'not-found': 'prejoin.audioNotFound',
  'in-use': 'prejoin.audioInUse',
  failed: 'prejoin.audioFailed',
};

const VIDEO: Readonly<Record<MediaProblem, MessageKey>> = {
  denied: 'prejoin.videoDenied',
  'not-found': 'prejoin.videoNotFound',
  'in-use': 'prejoin.videoInUse',
  failed: 'prejoin.videoFailed',
};

/** One message per problem; a refusal of both is said once. */
export function problemMessages(audio: MediaProblem | undefined, video: MediaProblem | undefined): MessageKey[] {
  if (audio === 'denied' && video === 'denied') return ['prejoin.denied'];
  const keys: MessageKey[] = [];
  if (audio) keys.push(AUDIO[audio]);
  if (video) keys.push(VIDEO[video]);
  return keys;
}
