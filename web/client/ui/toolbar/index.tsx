/**
 * The conference toolbar: one real `<button>` per action, named by aria-label, toggles stating
 * their state with aria-pressed, in the order Tab visits them (WAI-ARIA APG toolbar, without
 * roving focus so every button stays a Tab stop as the brief for this screen asks).
 */
import type { ComponentChildren } from 'preact';
import { useId } from 'preact/hooks';
import { useI18n } from '../../i18n/index.tsx';
import {
  CameraIcon, CameraOffIcon, ChatIcon, DocumentIcon, GridIcon, HandIcon, KeyboardIcon, LeaveIcon, MicIcon,
  MicOffIcon, PeopleIcon, ScreenIcon, SettingsIcon,
} from '../icons/index.tsx';

export type PanelName = 'chat' | 'participants' | 'document' | 'settings';

export interface ToolbarProps {
  readonly audioMuted: boolean;
  /** Microphones are moderated and we may not unmute: the button asks to speak instead. */
  readonly micModerated: boolean;
  readonly videoMuted: boolean;
  readonly screenSharing: boolean;
  readonly handRaised: boolean;
  readonly tileView: boolean;
  readonly panel: PanelName | undefined;
  readonly unread: number;
  /** People waiting in the lobby (moderators only; 0 otherwise). */
  readonly waiting: number;
  readonly canShareScreen: boolean;
  readonly onToggleAudio: () => void;
  readonly onToggleVideo: () => void;
  readonly onToggleShare: () => void;
  readonly onTogglePanel: (panel: PanelName) => void;
  readonly onToggleHand: () => void;
  readonly onToggleTileView: () => void;
  readonly onShowShortcuts: () => void;
  readonly onLeave: () => void;
}

interface ButtonProps {
  readonly label: string;
  readonly shortcut?: string;
  readonly pressed?: boolean;
  readonly onClick: () => void;
  readonly children: ComponentChildren;
  readonly variant?: 'danger';
  readonly describedBy?: string;
  readonly hasPopup?: 'dialog';
  /** The side panel the button opens, so focus can come back to it when the panel closes. */
  readonly panel?: PanelName;
}

function ToolbarButton({ label, shortcut, pressed, onClick, children, variant, describedBy, hasPopup, panel }: ButtonProps) {
  return (
    <button
      type="button"
      class={`tool${pressed ? ' tool--on' : ''}${variant ? ` tool--${variant}` : ''}`}
      aria-label={label}
      aria-pressed={pressed}
      aria-describedby={describedBy}
      aria-haspopup={hasPopup}
      data-panel={panel}
      aria-keyshortcuts={shortcut}
      title={shortcut ? `${label} (${shortcut})` : label}
      onClick={onClick}
    >
      {children}
    </button>
  );
}

export function Toolbar(props: ToolbarProps) {
  const { t, plural } = useI18n();
  const unreadId = useId();
  const waitingId = useId();
  const { panel } = props;
  return (
    <div class="toolbar" role="toolbar" aria-label={t('toolbar.label')}>
      <div class="toolbar-group">
        <ToolbarButton label={props.audioMuted && props.micModerated ? t('toolbar.askToSpeak') : t('toolbar.mute')} shortcut="M"
          pressed={props.audioMuted} onClick={props.onToggleAudio}>
          {props.audioMuted ? <MicOffIcon /> : <MicIcon />}
        </ToolbarButton>
        <ToolbarButton label={t('toolbar.stopCamera')} shortcut="V" pressed={props.videoMuted} onClick={props.onToggleVideo}>
          {props.videoMuted ? <CameraOffIcon /> : <CameraIcon />}
        </ToolbarButton>
        {props.canShareScreen && (
          <ToolbarButton label={t('toolbar.share')} shortcut="D" pressed={props.screenSharing} onClick={props.onToggleShare}>
            <ScreenIcon />
          </ToolbarButton>
        )}
      </div>
      <div class="toolbar-group">
        <span class="tool-wrap">
          <ToolbarButton label={t('toolbar.chat')} shortcut="C" pressed={panel === 'chat'} panel="chat" onClick={() => props.onTogglePanel('chat')}
            describedBy={props.unread > 0 ? unreadId : undefined}>
            <ChatIcon />
          </ToolbarButton>
          {props.unread > 0 && (
            <>
              <span class="badge" aria-hidden="true">{props.unread > 99 ? '99+' : props.unread}</span>
              <span id={unreadId} class="sr-only">{plural('toolbar.unread', props.unread)}</span>
            </>
          )}
        </span>
        <span class="tool-wrap">
          <ToolbarButton label={t('toolbar.participants')} shortcut="P" pressed={panel === 'participants'} panel="participants"
            describedBy={props.waiting > 0 ? waitingId : undefined} onClick={() => props.onTogglePanel('participants')}>
            <PeopleIcon />
          </ToolbarButton>
          {props.waiting > 0 && (
            <>
              <span class="badge" aria-hidden="true">{props.waiting > 99 ? '99+' : props.waiting}</span>
              <span id={waitingId} class="sr-only">{plural('toolbar.waiting', props.waiting)}</span>
            </>
          )}
        </span>
        <ToolbarButton label={t('toolbar.document')} pressed={panel === 'document'} panel="document" onClick={() => props.onTogglePanel('document')}>
          <DocumentIcon />
        </ToolbarButton>
        <ToolbarButton label={t('toolbar.raiseHand')} shortcut="R" pressed={props.handRaised} onClick={props.onToggleHand}>
          <HandIcon />
        </ToolbarButton>
        <ToolbarButton label={t('toolbar.tileView')} shortcut="W" pressed={props.tileView} onClick={props.onToggleTileView}>
          <GridIcon />
        </ToolbarButton>
        <ToolbarButton label={t('toolbar.settings')} pressed={panel === 'settings'} panel="settings" onClick={() => props.onTogglePanel('settings')}>
          <SettingsIcon />
        </ToolbarButton>
        <ToolbarButton label={t('toolbar.shortcuts')} shortcut="?" hasPopup="dialog" onClick={props.onShowShortcuts}>
          <KeyboardIcon />
        </ToolbarButton>
      </div>
      <div class="toolbar-group">
        <ToolbarButton label={t('toolbar.leave')} variant="danger" onClick={props.onLeave}>
          <LeaveIcon />
        </ToolbarButton>
      </div>
    </div>
  );
}
