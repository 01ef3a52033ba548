/**
 * The pre-join screen: name, camera and microphone preview, device choice, a speaker test, and
 * clear explanations when access is refused or no device exists. Joining hands `JoinOptions` up;
 * the preview tracks stop when this screen unmounts (the conference opens its own).
 */
import { useId, useRef, useState } from 'preact/hooks';
import type { DeviceChoice, JoinOptions } from '../../conference/model.ts';
import { canChooseSpeaker } from '../../devices/enumerate.ts';
import { playTestSound } from '../../devices/speaker-test.ts';
import { useI18n } from '../../i18n/index.tsx';
import { useAudioLevel } from '../hooks/use-audio-level.ts';
import { useDeviceLists } from '../hooks/use-device-lists.ts';
import { useDocumentTitle } from '../hooks/use-document-title.ts';
import { useMediaPreview } from '../hooks/use-media-preview.ts';
import { useStoredString } from '../hooks/use-stored-string.ts';
import { SpeakerIcon } from '../icons/index.tsx';
import { TopBar } from '../language-switch/index.tsx';
import { useTrackStream, Video } from '../media/video.tsx';
import { DeviceSelect } from './device-select.tsx';
import { problemMessages } from './problems.ts';

export const DISPLAY_NAME_KEY = 'salon.displayName';

export interface PrejoinProps {
  readonly room: string;
  /** The tenant the room is under, if any: handed on with the room. */
  readonly tenant: string | undefined;
  readonly initialName: string | undefined;
  readonly startAudioMuted: boolean;
  readonly startVideoMuted: boolean;
  readonly jwt: string | undefined;
  readonly onJoin: (options: JoinOptions) => void;
  readonly onBack: () => void;
}

type SpeakerTest = 'idle' | 'playing' | 'failed';

export function Prejoin(props: PrejoinProps) {
  const { t } = useI18n();
  useDocumentTitle(`${t('prejoin.title')} – ${props.room} – ${t('app.name')}`);
  const nameId = useId();
  const nameHintId = useId();
  const nameErrorId = useId();
  const nameInput = useRef<HTMLInputElement>(null);
  const levelBar = useRef<HTMLDivElement>(null);

  const [storedName, setStoredName] = useStoredString(DISPLAY_NAME_KEY, '');
  const [name, setName] = useState(props.initialName ?? storedName);
  const [nameMissing, setNameMissing] = useState(false);
  const [micOff, setMicOff] = useState(props.startAudioMuted);
  const [camOff, setCamOff] = useState(props.startVideoMuted);
  const [audioInput, setAudioInput] = useState<string | undefined>(undefined);
  const [videoInput, setVideoInput] = useState<string | undefined>(undefined);
  const [audioOutput, setAudioOutput] = useState<string | undefined>(undefined);
  const [attempt, setAttempt] = useState(0);
  const [speakerTest, setSpeakerTest] = useState<SpeakerTest>('idle');

  const preview = useMediaPreview({ audio: !micOff, video: !camOff, audioInput, videoInput }, attempt);
  // Labels appear once access is granted: list again when the tracks change.
  const devices = useDeviceLists(`${preview.audio?.id ?? ''}/${preview.video?.id ?? ''}`);
  const videoStream = useTrackStream(preview.video);
  useAudioLevel(preview.audio, levelBar);
  const problems = problemMessages(preview.audioProblem, preview.videoProblem);

  const join = (event: Event): void => {
    event.preventDefault();
    const displayName = name.trim();
    if (displayName === '') {
      setNameMissing(true);
      nameInput.current?.focus();
      return;
    }
    setStoredName(displayName);
    const chosen: DeviceChoice = {
      audioInput: audioInput ?? preview.audio?.getSettings().deviceId,
      videoInput: videoInput ?? preview.video?.getSettings().deviceId,
      audioOutput,
    };
    props.onJoin({
      room: props.room,
      tenant: props.tenant,
      displayName,
      audioMuted: micOff || preview.audioProblem !== undefined,
      videoMuted: camOff || preview.videoProblem !== undefined,
      devices: chosen,
      jwt: props.jwt,
    });
  };

  const testSpeaker = (): void => {
    setSpeakerTest('playing');
    playTestSound(audioOutput).then(
      () => setSpeakerTest('idle'),
      (err: unknown) => {
        console.warn('speaker test failed', err);
        setSpeakerTest('failed');
      },
    );
  };

  const bothFailed = preview.audioProblem !== undefined && preview.videoProblem !== undefined;
  return (
    <div class="page page--light">
      <TopBar />
      <main class="page-main" id="main">
        <div class="prejoin">
          <h1>{t('prejoin.title')}</h1>
          <p class="prejoin-room">{t('prejoin.room', { room: props.room })}</p>
          <div class="prejoin-grid">
            <div class="prejoin-preview">
              <div class="preview-box" role="img" aria-label={camOff || !videoStream ? t('prejoin.cameraOff') : t('prejoin.preview')}>
                {videoStream && !camOff
                  ? <Video stream={videoStream} mirrored class="preview-video" />
                  : <span class="preview-off" aria-hidden="true">{t('prejoin.cameraOff')}</span>}
              </div>
              <div class="level" hidden={!preview.audio}>
                <span class="level-label" aria-hidden="true">{t('prejoin.micLevel')}</span>
                <div class="level-track" aria-hidden="true"><div ref={levelBar} class="level-bar" /></div>
              </div>
            </div>
            <form class="form prejoin-form" onSubmit={join} noValidate>
              <div class="field">
                <label for={nameId}>{t('prejoin.nameLabel')}</label>
                <p id={nameHintId} class="hint">{t('prejoin.nameHint')}</p>
                <input
                  ref={nameInput}
                  id={nameId}
                  class="input"
                  type="text"
                  name="displayName"
                  autocomplete="name"
                  maxLength={64}
                  value={name}
                  aria-invalid={nameMissing}
                  aria-describedby={nameMissing ? `${nameErrorId} ${nameHintId}` : nameHintId}
                  onInput={(e) => {
                    setName(e.currentTarget.value);
                    if (nameMissing && e.currentTarget.value.trim() !== '') setNameMissing(false);
                  }}
                />
                {nameMissing && <p id={nameErrorId} class="error-text" role="alert">{t('prejoin.nameRequired')}</p>}
              </div>
              <div class="checks">
                <label class="check">
                  <input type="checkbox" checked={micOff} onChange={(e) => setMicOff(e.currentTarget.checked)} />
                  <span>{t('prejoin.micToggle')}</span>
                </label>
                <label class="check">
                  <input type="checkbox" checked={camOff} onChange={(e) => setCamOff(e.currentTarget.checked)} />
                  <span>{t('prejoin.camToggle')}</span>
                </label>
              </div>
              <div class="problems" role="status">
                {problems.map((key) => <p key={key} class="problem">{t(key)}</p>)}
                {problems.length > 0 && (
                  <button type="button" class="button" onClick={() => setAttempt((n) => n + 1)}>{t('prejoin.retry')}</button>
                )}
              </div>
              <fieldset class="fieldset">
                <legend>{t('prejoin.devices')}</legend>
                <DeviceSelect label={t('prejoin.micLabel')} options={devices.audioInput}
                  value={audioInput ?? preview.audio?.getSettings().deviceId} onChange={setAudioInput} />
                <DeviceSelect label={t('prejoin.camLabel')} options={devices.videoInput}
                  value={videoInput ?? preview.video?.getSettings().deviceId} onChange={setVideoInput} />
                {canChooseSpeaker() && (
                  <DeviceSelect label={t('prejoin.speakerLabel')} options={devices.audioOutput}
                    value={audioOutput} onChange={setAudioOutput} />
                )}
                <div class="speaker-test">
                  <button type="button" class="button" onClick={testSpeaker} disabled={speakerTest === 'playing'}>
                    <SpeakerIcon />
                    <span>{t('prejoin.speakerTest')}</span>
                  </button>
                  <span role="status" class="hint">
                    {speakerTest === 'playing' ? t('prejoin.speakerTesting') : speakerTest === 'failed' ? t('prejoin.speakerFailed') : ''}
                  </span>
                </div>
              </fieldset>
              <div class="actions">
                <button type="submit" class="button button--primary button--large">
                  {bothFailed ? t('prejoin.joinWithout') : t('prejoin.join')}
                </button>
                <button type="button" class="button button--quiet" onClick={props.onBack}>{t('prejoin.back')}</button>
              </div>
            </form>
          </div>
        </div>
      </main>
    </div>
  );
}
