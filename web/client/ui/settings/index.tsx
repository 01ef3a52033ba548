/** The in-call settings panel: display name, devices (switched live), language, shortcuts help. */
import { useId, useState } from 'preact/hooks';
import type { DeviceChoice } from '../../conference/model.ts';
import { canChooseSpeaker } from '../../devices/enumerate.ts';
import { useI18n } from '../../i18n/index.tsx';
import { useDeviceLists } from '../hooks/use-device-lists.ts';
import { LanguageSwitch } from '../language-switch/index.tsx';
import { DeviceSelect } from '../prejoin/device-select.tsx';

export interface SettingsProps {
  readonly displayName: string;
  readonly devices: DeviceChoice;
  readonly visible: boolean;
  readonly onRename: (name: string) => void;
  readonly onSwitchDevices: (choice: Partial<DeviceChoice>) => void;
  readonly onShowShortcuts: () => void;
}

export function Settings(props: SettingsProps) {
  const { t } = useI18n();
  const nameId = useId();
  const [name, setName] = useState(props.displayName);
  const devices = useDeviceLists(props.visible);
  return (
    <div class="settings">
      <form class="form" onSubmit={(e) => {
        e.preventDefault();
        const trimmed = name.trim();
        if (trimmed !== '') props.onRename(trimmed);
      }}>
        <div class="field">
          <label for={nameId}>{t('settings.name')}</label>
          <input id={nameId} class="input" type="text" autocomplete="name" maxLength={64} value={name}
            onInput={(e) => setName(e.currentTarget.value)} />
        </div>
        <button type="submit" class="button button--small">{t('settings.nameApply')}</button>
      </form>
      <fieldset class="fieldset">
        <legend>{t('settings.devices')}</legend>
        <DeviceSelect label={t('prejoin.micLabel')} options={devices.audioInput}
          value={props.devices.audioInput} onChange={(id) => props.onSwitchDevices({ audioInput: id })} />
        <DeviceSelect label={t('prejoin.camLabel')} options={devices.videoInput}
          value={props.devices.videoInput} onChange={(id) => props.onSwitchDevices({ videoInput: id })} />
        {canChooseSpeaker() && (
          <DeviceSelect label={t('prejoin.speakerLabel')} options={devices.audioOutput}
            value={props.devices.audioOutput} onChange={(id) => props.onSwitchDevices({ audioOutput: id })} />
        )}
      </fieldset>
      <div class="field">
        <span class="label-like">{t('lang.label')}</span>
        <LanguageSwitch />
      </div>
      <button type="button" class="button" aria-haspopup="dialog" onClick={props.onShowShortcuts}>{t('settings.shortcuts')}</button>
    </div>
  );
}
