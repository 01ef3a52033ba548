/** Sorts getUserMedia failures into the few cases the pre-join screen explains to the user. */

export type MediaProblem = 'denied' | 'not-found' | 'in-use' | 'failed';

/**
 * Media Capture and Streams §10 (getUserMedia) names the errors: NotAllowedError when the user or
 * the page's permission policy refuses, NotFoundError/OverconstrainedError when no device matches,
 * NotReadableError when the device is busy or the OS refuses it.
 */
export function classifyMediaError(err: unknown): MediaProblem {
  const name = err instanceof Error || err instanceof DOMException ? err.name : '';
  switch (name) {
    case 'NotAllowedError':
    case 'SecurityError':
    case 'PermissionDeniedError': // older Chrome
      return 'denied';
    case 'NotFoundError':
    case 'OverconstrainedError':
    case 'DevicesNotFoundError':
      return 'not-found';
    case 'NotReadableError':
    case 'TrackStartError':
    case 'AbortError':
      return 'in-use';
    default:
      return 'failed';
  }
}
