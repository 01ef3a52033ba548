/** A labelled `<select>` of one kind of device; unnamed devices get "Camera 1"-style names. */
import { useId } from 'preact/hooks';
import type { DeviceOption } from '../../devices/enumerate.ts';
import { useI18n } from '../../i18n/index.tsx';

export interface DeviceSelectProps {
  readonly label: string;
  readonly options: readonly DeviceOption[];
  /** Undefined: the system default. */
  readonly value: string | undefined;
  readonly onChange: (id: string | undefined) => void;
}

export function DeviceSelect({ label, options, value, onChange }: DeviceSelectProps) {
  const { t } = useI18n();
  const id = useId();
  const known = value !== undefined && options.some((o) => o.id === value);
  return (
    <div class="field field--inline">
      <label for={id}>{label}</label>
      <select
        id={id}
        class="select"
        value={known ? value : ''}
        onChange={(e) => onChange(e.currentTarget.value === '' ? undefined : e.currentTarget.value)}
      >
        <option value="">{t('prejoin.defaultDevice')}</option>
        {options.map((o, i) => (
          <option key={o.id} value={o.id}>{o.label || t('prejoin.deviceN', { kind: label, n: i + 1 })}</option>
        ))}
      </select>
    </div>
  );
}
