/** Lists the cameras, microphones and speakers the browser exposes (labels only after permission). */

export interface DeviceOption {
  readonly id: string;
  /** Empty before the user granted media access (Media Capture §9.2, privacy). */
  readonly label: string;
}

export interface DeviceLists {
  readonly audioInput: readonly DeviceOption[];
  readonly videoInput: readonly DeviceOption[];
  readonly audioOutput: readonly DeviceOption[];
}

export const NO_DEVICES: DeviceLists = { audioInput: [], videoInput: [], audioOutput: [] };

interface DeviceInfoLike {
  readonly deviceId: string;
  readonly kind: string;
  readonly label: string;
}

/**
 * Groups devices by kind. Entries without an id (before permission) are dropped, and so are the
 * "default"/"communications" aliases Chrome adds, which repeat a real device.
 */
export function groupDevices(infos: readonly DeviceInfoLike[]): DeviceLists {
  const lists = { audioInput: [] as DeviceOption[], videoInput: [] as DeviceOption[], audioOutput: [] as DeviceOption[] };
  for (const info of infos) {
    if (info.deviceId === '' || info.deviceId === 'default' || info.deviceId === 'communications') continue;
    const option = { id: info.deviceId, label: info.label };
    if (info.kind === 'audioinput') lists.audioInput.push(option);
    else if (info.kind === 'videoinput') lists.videoInput.push(option);
    else if (info.kind === 'audiooutput') lists.audioOutput.push(option);
  }
  return lists;
}

export async function listDevices(): Promise<DeviceLists> {
  if (!navigator.mediaDevices?.enumerateDevices) return NO_DEVICES;
  return groupDevices(await navigator.mediaDevices.enumerateDevices());
}

/** Whether the audio output can be chosen (Audio Output Devices API: HTMLMediaElement.setSinkId). */
export function canChooseSpeaker(): boolean {
  return typeof HTMLMediaElement !== 'undefined' && 'setSinkId' in HTMLMediaElement.prototype;
}

/** Routes an element's sound to `sinkId` when the browser allows it; a no-op otherwise. */
export async function applySink(el: HTMLMediaElement, sinkId: string | undefined): Promise<void> {
  if (sinkId === undefined || !canChooseSpeaker()) return;
  const withSink = el as HTMLMediaElement & { setSinkId(id: string): Promise<void> };
  await withSink.setSinkId(sinkId);
}
