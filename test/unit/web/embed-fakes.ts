/**
 * Stand-ins for what the iframe API code meets in a browser, for unit tests without a DOM:
 * windows that post to each other through a queue (delivered by `flush()`, with the origin and
 * source a browser would report, and targetOrigin enforced), manual interval timers, and a
 * ConferenceController whose state a test sets.
 */
import type { MessageHost, MessageLike, PostTarget, Timers } from '../../../web/client/embed/channel.ts';
import type {
  ConferenceController, ConferenceState, Participant, ChatMessage,
} from '../../../web/client/conference/model.ts';

export class FakeHost implements MessageHost {
  readonly listeners = new Set<(event: MessageLike) => void>();
  constructor(readonly origin: string) {}
  addEventListener(_type: 'message', listener: (event: MessageLike) => void): void {
    this.listeners.add(listener);
  }
  removeEventListener(_type: 'message', listener: (event: MessageLike) => void): void {
    this.listeners.delete(listener);
  }
}

interface Queued {
  readonly to: FakeHost;
  readonly event: MessageLike;
}

/** Windows that see each other through proxies, as `window.parent` and `iframe.contentWindow`. */
export class FakeNet {
  readonly #queue: Queued[] = [];
  readonly #proxies = new Map<string, PostTarget>();
  readonly #ids = new Map<FakeHost, number>();
  /** Every message posted: who to, the target origin asked, the data. */
  readonly posted: Array<{ to: FakeHost; targetOrigin: string; data: unknown }> = [];

  #id(host: FakeHost): number {
    if (!this.#ids.has(host)) this.#ids.set(host, this.#ids.size);
    return this.#ids.get(host)!;
  }

  /** The object `from` holds for `to` (`window.parent` in the iframe, say); one per pair. */
  proxy(from: FakeHost, to: FakeHost): PostTarget {
    const key = `${this.#id(from)}>${this.#id(to)}`;
    let proxy = this.#proxies.get(key);
    if (!proxy) {
      proxy = {
        postMessage: (data: string, targetOrigin: string) => {
          this.posted.push({ to, targetOrigin, data });
          // As browsers do: a message for another origin than the target's is dropped.
          if (targetOrigin !== '*' && targetOrigin !== to.origin) return;
          this.#queue.push({ to, event: { data, origin: from.origin, source: this.proxy(to, from) } });
        },
      };
      this.#proxies.set(key, proxy);
    }
    return proxy;
  }

  /** Delivers `event` to `to` directly (a message from anywhere). */
  inject(to: FakeHost, event: MessageLike): void {
    this.#queue.push({ to, event });
  }

  /** Delivers queued messages, and those they cause, until none is left. */
  flush(): void {
    for (let guard = 0; this.#queue.length; guard++) {
      if (guard > 10_000) throw new Error('message storm');
      const { to, event } = this.#queue.shift()!;
      for (const listener of [...to.listeners]) listener(event);
    }
  }
}

export class ManualTimers implements Timers {
  readonly #intervals = new Map<number, () => void>();
  #next = 0;
  setInterval(fn: () => void): unknown {
    this.#intervals.set(++this.#next, fn);
    return this.#next;
  }
  clearInterval(handle: unknown): void {
    this.#intervals.delete(handle as number);
  }
  get active(): number {
    return this.#intervals.size;
  }
  tick(): void {
    for (const fn of [...this.#intervals.values()]) fn();
  }
}

export function participant(id: string, fields: Partial<Participant> = {}): Participant {
  return {
    id, displayName: id, role: 'participant', local: false, audioMuted: false, videoMuted: false,
    raisedHandAt: undefined, screenSharing: false, connectionQuality: 'good', ...fields,
  };
}

export function message(id: string, fields: Partial<ChatMessage> = {}): ChatMessage {
  return { id, from: 'bob', fromName: 'Bob', privateWith: undefined, text: `text ${id}`, timestamp: 1000, local: false, ...fields };
}

export function conferenceState(fields: Partial<ConferenceState> = {}): ConferenceState {
  return {
    room: 'myroom', phase: { name: 'connecting' }, localId: undefined, participants: new Map(), messages: [],
    remoteMedia: [], local: { audio: undefined, video: undefined, screen: undefined }, dominantSpeakerId: undefined,
    notices: [],
    moderation: {
      lobbySupported: false, lobbyEnabled: false, knockers: [], canEndForEveryone: false,
      avModerationSupported: false, audioModerated: false, mayUnmute: true, allowedToSpeak: [],
    },
    ...fields,
  };
}

/** A joined conference with the local participant `me` and the given others. */
export function joinedState(others: Participant[] = [], fields: Partial<ConferenceState> = {}, me: Partial<Participant> = {}): ConferenceState {
  const local = participant('me', { displayName: 'Ada', local: true, ...me });
  return conferenceState({
    phase: { name: 'joined' },
    localId: 'me',
    participants: new Map([[local.id, local], ...others.map((p) => [p.id, p] as const)]),
    ...fields,
  });
}

/** A controller whose state the test sets; it records every action called. */
export class FakeController implements ConferenceController {
  readonly calls: Array<[string, ...unknown[]]> = [];
  readonly listeners = new Set<() => void>();
  #state: ConferenceState;
  leaveResult: Promise<void> = Promise.resolve();

  constructor(state: ConferenceState) {
    this.#state = state;
  }
  setState(state: ConferenceState): void {
    this.#state = state;
    for (const listener of [...this.listeners]) listener();
  }
  getState(): ConferenceState {
    return this.#state;
  }
  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  async setAudioMuted(muted: boolean): Promise<void> {
    this.calls.push(['setAudioMuted', muted]);
  }
  async setVideoMuted(muted: boolean): Promise<void> {
    this.calls.push(['setVideoMuted', muted]);
  }
  async setScreenSharing(on: boolean): Promise<void> {
    this.calls.push(['setScreenSharing', on]);
  }
  async switchDevices(): Promise<void> {
    this.calls.push(['switchDevices']);
  }
  sendChatMessage(text: string, to?: string): void {
    this.calls.push(['sendChatMessage', text, to]);
  }
  setRaisedHand(raised: boolean): void {
    this.calls.push(['setRaisedHand', raised]);
  }
  setDisplayName(name: string): void {
    this.calls.push(['setDisplayName', name]);
  }
  muteParticipant(id: string): void {
    this.calls.push(['muteParticipant', id]);
  }
  kickParticipant(id: string): void {
    this.calls.push(['kickParticipant', id]);
  }
  grantModerator(id: string): void {
    this.calls.push(['grantModerator', id]);
  }
  setRoomPassword(password: string): void {
    this.calls.push(['setRoomPassword', password]);
  }
  muteEveryone(): void {
    this.calls.push(['muteEveryone']);
  }
  setLobbyEnabled(on: boolean): Promise<boolean> {
    this.calls.push(['setLobbyEnabled', on]);
    return Promise.resolve(true);
  }
  admitKnocker(id: string): void {
    this.calls.push(['admitKnocker', id]);
  }
  denyKnocker(id: string): void {
    this.calls.push(['denyKnocker', id]);
  }
  setAudioModeration(on: boolean): void {
    this.calls.push(['setAudioModeration', on]);
  }
  allowToSpeak(id: string): void {
    this.calls.push(['allowToSpeak', id]);
  }
  endForEveryone(): void {
    this.calls.push(['endForEveryone']);
  }
  knock(displayName: string): void {
    this.calls.push(['knock', displayName]);
  }
  async signIn(username: string, password: string): Promise<void> {
    this.calls.push(['signIn', username, password]);
  }
  async openDocument(): Promise<{ url: string; token: string }> {
    return { url: '', token: '' };
  }
  leave(): Promise<void> {
    this.calls.push(['leave']);
    return this.leaveResult;
  }
}
