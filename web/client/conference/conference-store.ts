/**
 * The conference state as immutable snapshots: each change makes a new `ConferenceState` and tells
 * the subscribers, so views compare by reference. Pure bookkeeping, no signalling.
 */
import type { LocalMedia } from '../media/local-media.ts';
import type { ChatMessage, ConferencePhase, ConferenceState, ModerationState, Notice, Participant, RemoteMedia } from './model.ts';

/** Notices kept for the live region; older ones are dropped. */
const MAX_NOTICES = 20;
/** Chat messages kept in memory (nothing is stored anywhere else). */
const MAX_MESSAGES = 1000;

type NoticeBody = Notice extends infer N ? (N extends Notice ? Omit<N, 'id'> : never) : never;

export class ConferenceStore {
  state: ConferenceState;
  private readonly listeners = new Set<() => void>();
  private nextNotice = 1;
  private nextMessage = 1;
  audioOutput: string | undefined;

  constructor(room: string) {
    this.state = {
      room,
      phase: { name: 'connecting' },
      localId: undefined,
      participants: new Map(),
      messages: [],
      remoteMedia: [],
      local: { audio: undefined, video: undefined, screen: undefined },
      dominantSpeakerId: undefined,
      notices: [],
      moderation: {
        lobbySupported: false, lobbyEnabled: false, knockers: [], canEndForEveryone: false,
        avModerationSupported: false, audioModerated: false, mayUnmute: true, allowedToSpeak: [],
      },
    };
  }

  setModeration(change: Partial<ModerationState>): void {
    const before = this.state.moderation;
    if ((Object.keys(change) as (keyof ModerationState)[]).every((k) => before[k] === change[k])) return;
    this.set({ moderation: { ...before, ...change } });
  }

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private set(change: Partial<ConferenceState>): void {
    this.state = { ...this.state, ...change };
    for (const listener of [...this.listeners]) {
      try {
        listener();
      } catch (err) {
        console.error('a conference listener failed', err);
      }
    }
  }

  setPhase(phase: ConferencePhase): void {
    this.set({ phase });
  }

  setJoined(localId: string): void {
    this.set({ phase: { name: 'joined' }, localId });
  }

  setLocal(media: LocalMedia): void {
    const { audio, video, screen } = media;
    const local = this.state.local;
    if (local.audio === audio && local.video === video && local.screen === screen) return;
    this.set({ local: { audio, video, screen } });
  }

  upsertParticipant(fields: Omit<Participant, 'connectionQuality'>): void {
    const participants = new Map(this.state.participants);
    const before = participants.get(fields.id);
    participants.set(fields.id, { connectionQuality: 'unknown', ...before, ...fields });
    this.set({ participants });
  }

  updateParticipant(id: string, fields: Partial<Omit<Participant, 'id' | 'local'>>): void {
    const before = this.state.participants.get(id);
    if (!before) return;
    const after = { ...before, ...fields };
    if ((Object.keys(fields) as (keyof typeof fields)[]).every((k) => before[k] === after[k])) return;
    const participants = new Map(this.state.participants);
    participants.set(id, after);
    this.set({ participants });
  }

  removeParticipant(id: string): void {
    if (!this.state.participants.has(id)) return;
    const participants = new Map(this.state.participants);
    participants.delete(id);
    const dominantSpeakerId = this.state.dominantSpeakerId === id ? undefined : this.state.dominantSpeakerId;
    this.set({ participants, dominantSpeakerId });
  }

  resetParticipants(): void {
    this.set({ participants: new Map(), remoteMedia: [], dominantSpeakerId: undefined, localId: undefined });
  }

  setRemoteMedia(remoteMedia: RemoteMedia[]): void {
    const before = this.state.remoteMedia;
    if (before.length === remoteMedia.length && before.every((m, i) => m.stream === remoteMedia[i]?.stream && m.kind === remoteMedia[i]?.kind)) return;
    this.set({ remoteMedia });
  }

  setDominantSpeaker(id: string | undefined): void {
    if (id !== this.state.dominantSpeakerId) this.set({ dominantSpeakerId: id });
  }

  setAudioOutput(deviceId: string): void {
    this.audioOutput = deviceId;
    this.set({});
  }

  addMessage(message: Omit<ChatMessage, 'id'>): void {
    const messages = [...this.state.messages, { ...message, id: `m${this.nextMessage++}` }].slice(-MAX_MESSAGES);
    this.set({ messages });
  }

  notice(notice: NoticeBody): void {
    const notices = [...this.state.notices, { ...notice, id: this.nextNotice++ } as Notice].slice(-MAX_NOTICES);
    this.set({ notices });
  }
}
