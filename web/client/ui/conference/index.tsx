/**
 * The conference screen: stage, side panels, toolbar, remote audio, notices and dialogs, wired to
 * a `ConferenceController`. It reads state through `useConference` and only calls the
 * controller's actions; when the conference is over it shows the end screen.
 */
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import type { ConferenceController, DeviceChoice } from '../../conference/model.ts';
import { useI18n } from '../../i18n/index.tsx';
import { Chat } from '../chat/index.tsx';
import { DocumentPanel } from '../document/index.tsx';
import type { EditorHandle } from '../document/load-editor.ts';
import { EndScreen, type PasswordPrompt } from '../end-screen/index.tsx';
import { useConference } from '../hooks/use-conference.ts';
import { useDocumentTitle } from '../hooks/use-document-title.ts';
import { useShortcuts } from '../hooks/use-shortcuts.ts';
import { AudioSinks } from '../media/audio-sinks.tsx';
import { useTrackStream } from '../media/video.tsx';
import { Notices } from '../notices/index.tsx';
import { Panel } from '../panel/index.tsx';
import { Participants } from '../participants/index.tsx';
import { Settings } from '../settings/index.tsx';
import { ShortcutsDialog } from '../shortcuts/help-dialog.tsx';
import type { ResolvedShortcut } from '../shortcuts/keys.ts';
import { collectMedia } from '../stage/layout.ts';
import { Stage } from '../stage/index.tsx';
import { Toolbar, type PanelName } from '../toolbar/index.tsx';
import { LeaveDialog } from './leave-dialog.tsx';
import { LobbyScreen } from './lobby-screen.tsx';
import { WaitingForHost } from './waiting-for-host.tsx';

export interface ConferenceViewProps {
  readonly controller: ConferenceController;
  readonly devices: DeviceChoice;
  /** The name given before joining: the lobby's knock step starts with it. */
  readonly initialName?: string;
  /** For the end screen of a room that asks for a password. */
  readonly passwordPrompt: PasswordPrompt;
  readonly onRejoin: () => void;
  readonly onHome: () => void;
}

/** Logs a failed action: the state (unchanged) already shows the user it did not happen. */
function report(action: string): (err: unknown) => void {
  return (err) => console.warn(`${action} failed`, err);
}

const canShareScreen = (): boolean => typeof navigator.mediaDevices?.getDisplayMedia === 'function';

export function ConferenceView({ controller, devices: initialDevices, initialName = '', passwordPrompt, onRejoin, onHome }: ConferenceViewProps) {
  const { t } = useI18n();
  const state = useConference(controller);
  useDocumentTitle(`${t('conf.title', { room: state.room })} – ${t('app.name')}`);
  const [tileView, setTileView] = useState(true);
  const [pinnedId, setPinnedId] = useState<string | undefined>(undefined);
  const [panel, setPanel] = useState<PanelName | undefined>(undefined);
  const [documentOpened, setDocumentOpened] = useState(false);
  const [dialog, setDialog] = useState<'shortcuts' | 'leave' | undefined>(undefined);
  const [devices, setDevices] = useState(initialDevices);
  const [seenMessages, setSeenMessages] = useState(0);
  const editor = useRef<EditorHandle | undefined>(undefined);

  const participants = useMemo(() => [...state.participants.values()], [state.participants]);
  const me = state.localId === undefined ? undefined : state.participants.get(state.localId);
  const localCamera = useTrackStream(state.local.video);
  const localScreen = useTrackStream(state.local.screen);
  const media = useMemo(
    () => collectMedia(state.remoteMedia, state.localId, { camera: localCamera, screen: localScreen }),
    [state.remoteMedia, state.localId, localCamera, localScreen],
  );
  useEffect(() => {
    if (panel === 'chat') setSeenMessages(state.messages.length);
  }, [panel, state.messages.length]);
  // Nothing unread while the chat is open, from the render that opens it (the effect above catches up one render later).
  const unread = panel === 'chat' ? 0 : state.messages.slice(seenMessages).filter((m) => !m.local).length;

  const audioMuted = me?.audioMuted ?? true;
  const videoMuted = me?.videoMuted ?? true;
  const sharing = state.local.screen !== undefined;
  const handRaised = me?.raisedHandAt !== undefined;
  const moderator = me?.role === 'moderator';
  const canEndForEveryone = moderator && state.moderation.canEndForEveryone;
  const actions = {
    toggleAudio: () => controller.setAudioMuted(!audioMuted).catch(report('microphone toggle')),
    toggleVideo: () => controller.setVideoMuted(!videoMuted).catch(report('camera toggle')),
    toggleShare: () => controller.setScreenSharing(!sharing).catch(report('screen sharing')),
    toggleHand: () => controller.setRaisedHand(!handRaised),
    togglePanel: (name: PanelName) => {
      if (name === 'document') setDocumentOpened(true);
      setPanel((open) => (open === name ? undefined : name));
    },
    toggleTileView: () => setTileView((on) => !on),
    pin: (id: string) => {
      const unpin = pinnedId === id;
      setPinnedId(unpin ? undefined : id);
      if (!unpin) setTileView(false);
    },
    leave: () => {
      if (documentOpened || canEndForEveryone) setDialog('leave');
      else controller.leave().catch(report('leaving'));
    },
  };

  useShortcuts((shortcut: ResolvedShortcut) => {
    if (shortcut.kind === 'pin') {
      const target = shortcut.index === 0 ? me : participants.filter((p) => !p.local)[shortcut.index - 1];
      if (target) actions.pin(target.id);
      return;
    }
    switch (shortcut.action) {
      case 'toggle-audio': return void actions.toggleAudio();
      case 'toggle-video': return void actions.toggleVideo();
      case 'toggle-share': return canShareScreen() ? void actions.toggleShare() : undefined;
      case 'toggle-chat': return actions.togglePanel('chat');
      case 'toggle-participants': return actions.togglePanel('participants');
      case 'toggle-hand': return actions.toggleHand();
      case 'toggle-tile-view': return actions.toggleTileView();
      case 'show-help': return setDialog('shortcuts');
    }
  });

  // A closed panel hands focus back to its toolbar button, rather than losing it to the page.
  const lastPanel = useRef<PanelName | undefined>(undefined);
  useEffect(() => {
    const closed = lastPanel.current;
    lastPanel.current = panel;
    if (panel !== undefined || closed === undefined) return;
    const active = document.activeElement;
    if (active === null || active === document.body || active.closest('.side')) {
      document.querySelector<HTMLElement>(`.toolbar [data-panel="${closed}"]`)?.focus();
    }
  }, [panel]);

  const phase = state.phase;
  if (phase.name === 'left' || phase.name === 'failed') {
    return <EndScreen phase={phase} passwordPrompt={passwordPrompt} onRejoin={onRejoin} onHome={onHome} />;
  }
  if (phase.name === 'waiting-for-host') {
    return <WaitingForHost room={state.room} signIn={phase.signIn} onSignIn={(user, password) => controller.signIn(user, password)}
      onLeave={() => controller.leave().catch(report('leaving'))} />;
  }
  if (phase.name === 'lobby') {
    return <LobbyScreen room={state.room} step={phase.step} initialName={me?.displayName ?? initialName}
      onKnock={(name) => controller.knock(name)} onLeave={() => controller.leave().catch(report('leaving'))} />;
  }
  const closePanel = (): void => setPanel(undefined);
  return (
    <div class="conference">
      <header class="conf-header">
        <h1 class="conf-title">{t('conf.title', { room: state.room })}</h1>
        <div role="status" class="conf-status">
          {phase.name === 'connecting' && <span class="banner">{t('conf.connecting')}</span>}
          {phase.name === 'reconnecting' && <span class="banner banner--warning">{t('conf.reconnecting')}</span>}
        </div>
      </header>
      <div class={`conf-body${panel ? ' conf-body--panel' : ''}`}>
        <main class="conf-main" id="main">
          <Stage participants={participants} media={media} dominantId={state.dominantSpeakerId}
            tileView={tileView} pinnedId={pinnedId} onPin={actions.pin} />
          <Notices notices={state.notices} />
        </main>
        <aside class="side" hidden={panel === undefined} onKeyDown={(e) => { if (e.key === 'Escape') closePanel(); }}>
          <Panel title={t('chat.title')} hidden={panel !== 'chat'} onClose={closePanel} focusOnShow={false}>
            <Chat messages={state.messages} participants={participants} visible={panel === 'chat'}
              onSend={(text, to) => controller.sendChatMessage(text, to)} />
          </Panel>
          <Panel title={t('people.title', { count: participants.length })} hidden={panel !== 'participants'} onClose={closePanel}>
            <Participants participants={participants}
              onMute={(id) => controller.muteParticipant(id)} onKick={(id) => controller.kickParticipant(id)}
              onGrantModerator={(id) => controller.grantModerator(id)} onSetPassword={(p) => controller.setRoomPassword(p)}
              moderation={state.moderation} onMuteEveryone={() => controller.muteEveryone()}
              onSetLobby={(on) => controller.setLobbyEnabled(on)} onAdmit={(id) => controller.admitKnocker(id)}
              onDeny={(id) => controller.denyKnocker(id)} onSetAudioModeration={(on) => controller.setAudioModeration(on)}
              onAllowToSpeak={(id) => controller.allowToSpeak(id)} />
          </Panel>
          {documentOpened && (
            <Panel title={t('doc.title')} hidden={panel !== 'document'} onClose={closePanel} class="panel--document">
              <DocumentPanel room={state.room} openDocument={() => controller.openDocument()}
                onEditor={(handle) => { editor.current = handle; }} />
            </Panel>
          )}
          {panel === 'settings' && (
            <Panel title={t('settings.title')} hidden={false} onClose={closePanel}>
              <Settings displayName={me?.displayName ?? ''} devices={devices} visible
                onRename={(name) => controller.setDisplayName(name)}
                onSwitchDevices={(choice) => {
                  setDevices((old) => ({ ...old, ...choice }));
                  controller.switchDevices(choice).catch(report('device switch'));
                }}
                onShowShortcuts={() => setDialog('shortcuts')} />
            </Panel>
          )}
        </aside>
      </div>
      <footer class="conf-footer">
        <Toolbar audioMuted={audioMuted} micModerated={!state.moderation.mayUnmute} videoMuted={videoMuted} screenSharing={sharing} handRaised={handRaised}
          tileView={tileView} panel={panel} unread={unread} waiting={moderator ? state.moderation.knockers.length : 0} canShareScreen={canShareScreen()}
          onToggleAudio={actions.toggleAudio} onToggleVideo={actions.toggleVideo} onToggleShare={actions.toggleShare}
          onTogglePanel={actions.togglePanel} onToggleHand={actions.toggleHand} onToggleTileView={actions.toggleTileView}
          onShowShortcuts={() => setDialog('shortcuts')} onLeave={actions.leave} />
      </footer>
      <AudioSinks media={state.remoteMedia} localId={state.localId} sinkId={devices.audioOutput} />
      {dialog === 'shortcuts' && <ShortcutsDialog onClose={() => setDialog(undefined)} />}
      {dialog === 'leave' && (
        <LeaveDialog room={state.room} editor={editor.current}
          onCancel={() => setDialog(undefined)}
          onLeave={() => { setDialog(undefined); controller.leave().catch(report('leaving')); }}
          onEndForEveryone={canEndForEveryone ? () => { setDialog(undefined); controller.endForEveryone(); } : undefined} />
      )}
    </div>
  );
}
