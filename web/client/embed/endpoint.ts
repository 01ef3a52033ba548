/**
 * The page's side of Jitsi Meet's iframe API: when an integrator page (`new
 * JitsiMeetExternalAPI(...)`) or the jitsi-meet-electron desktop app frames Salon, this object
 * answers them in Jitsi's own wire format (./wire.ts), so their code works unchanged.
 *
 * How the app uses it:
 * ```ts
 * const endpoint = startEmbedding();           // main.tsx, at start; undefined when not framed
 * const overrides = parseUrlOverrides(location); // pre-join defaults: display name, muted, prejoin
 * // … once a ConferenceController exists (before or after the join, either works):
 * const detach = endpoint?.attach(controller, { joinWithPassword }); // events out, commands and requests in
 * detach?.();                                   // when that controller is dropped
 * ```
 * At construction it sends `browser-support` and `ready` (the desktop app hides its spinner on
 * the first; the API calls the integrator's `onload` on the second). Attached, it turns state
 * changes into events (./state-events.ts) and runs commands and requests on the controller.
 * Every end of the call sends `readyToClose` (the desktop app closes the meeting on it,
 * integrators dispose of the frame), once: a hang-up (the app's button, or the `hangup` command),
 * being removed, and the conference ending, as jitsi-meet's hangup, KICKED_OUT and
 * CONFERENCE_DESTROYED paths do. A failed join does not: the user may still get in (with a
 * password, say). Commands that arrive before `attach` wait (at most MAX_WAITING_COMMANDS) and
 * run on attach. The `password` command joins with the password while a join waits for one
 * (`passwordRequired` was sent), through the app's `joinWithPassword`; otherwise it locks the room.
 *
 * Every command argument comes from another origin: each is type-checked and bounded here
 * before it reaches the controller, and nothing received is ever turned into a URL or HTML.
 */
import type { ConferenceController, ConferenceState, Participant } from '../conference/model.ts';
import { ApiChannel, type MessageHost, type PostTarget, type Respond, type Timers } from './channel.ts';
import { baselineOf, conferenceEvents } from './state-events.ts';
import { MAX_DISPLAY_NAME } from './url-overrides.ts';
import { namedPayload, REQUEST, REQUEST_DESKTOP_SOURCES, scopeFor, UNKNOWN_REQUEST } from './wire.ts';

/** Commands received before `attach`, kept to run then. */
export const MAX_WAITING_COMMANDS = 32;
/** Longest chat message or display name a command may carry, in characters. */
export const MAX_TEXT_CHARS = 10_000;
const MAX_PASSWORD_CHARS = 256;
const MAX_ID_CHARS = 256;

/** A request the page cannot answer before it is in a conference. */
export const NOT_IN_CONFERENCE = 'NotInConferenceError';

export interface EndpointOptions {
  /** The API instance id from `#jitsi_meet_external_api_id=`. */
  readonly apiId: number;
  /** The window the page runs in (messages arrive there). */
  readonly host: MessageHost;
  /** The embedding window: `window.parent`. */
  readonly parent: PostTarget;
  /** Whether this browser can hold a call (sent as `browser-support`). */
  readonly browserSupported: boolean;
  readonly timers?: Timers;
  readonly reportError?: (what: string, err: unknown) => void;
}

/** What the app lets the embedder do besides driving the attached controller. */
export interface AttachOptions {
  /**
   * Joins again with a password after the conference failed with `password-required` (the
   * `password` command's meaning while a join waits for one). Default: the command is dropped.
   */
  readonly joinWithPassword?: (password: string) => void;
}

/** What a command may use: the controller, the app's options, and the endpoint's error report and readyToClose. */
interface CommandContext {
  readonly controller: ConferenceController;
  readonly options: AttachOptions;
  report(what: string, err: unknown): void;
  readyToClose(): void;
}

type Command = (ctx: CommandContext, args: readonly unknown[]) => void;

function text(value: unknown, max: number): string | undefined {
  return typeof value === 'string' && value.length <= max ? value : undefined;
}

function localOf(state: ConferenceState): Participant | undefined {
  return state.localId === undefined ? undefined : state.participants.get(state.localId);
}

export class ExternalApiEndpoint {
  readonly #channel: ApiChannel;
  readonly #report: (what: string, err: unknown) => void;
  readonly #waiting: Array<{ name: string; args: readonly unknown[] }> = [];
  #controller: ConferenceController | undefined;
  #options: AttachOptions = {};
  #unsubscribe: (() => void) | undefined;
  #last: ConferenceState | undefined;
  #readyToCloseSent = false;
  #closed = false;

  constructor(options: EndpointOptions) {
    this.#report = options.reportError ?? ((what, err) => console.error(what, err));
    this.#channel = new ApiChannel({
      scope: scopeFor(options.apiId),
      host: options.host,
      peer: () => options.parent,
      onEvent: (data) => this.#onCommand(data),
      onRequest: (data, respond) => this.#onRequest(data, respond),
      reportError: this.#report,
      ...(options.timers ? { timers: options.timers } : {}),
    });
    this.#channel.sendEvent({ name: 'browser-support', supported: options.browserSupported });
    this.#channel.sendEvent({ name: 'ready' });
  }

  /**
   * Reports `controller`'s conference to the embedder and lets the embedder drive it; replaces a
   * controller attached before. Returns the function that detaches it (idempotent).
   */
  attach(controller: ConferenceController, options: AttachOptions = {}): () => void {
    this.detach();
    if (this.#closed) return () => undefined;
    this.#controller = controller;
    this.#options = options;
    this.#readyToCloseSent = false;
    const first = controller.getState();
    this.#last = baselineOf(first);
    this.#onState(first);
    const unsubscribe = controller.subscribe(() => this.#onState(controller.getState()));
    this.#unsubscribe = unsubscribe;
    for (const { name, args } of this.#waiting.splice(0)) this.#run(name, args);
    return () => {
      if (this.#unsubscribe === unsubscribe) this.detach();
    };
  }

  /** Stops reporting the attached controller, if any. */
  detach(): void {
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
    this.#controller = undefined;
    this.#options = {};
    this.#last = undefined;
  }

  /** Tells the embedder the call is over and the frame may go (`readyToClose`); once per attach. */
  readyToClose(): void {
    if (this.#readyToCloseSent || this.#closed) return;
    this.#readyToCloseSent = true;
    this.#channel.sendEvent({ name: 'video-ready-to-close' });
  }

  /**
   * Asks the desktop app for the screens and windows it can share (its own picker feeds
   * getUserMedia with the chosen source id); rejects on a plain integrator page, which has no
   * handler for it.
   */
  requestDesktopSources(options: { readonly types: readonly ('screen' | 'window')[] }): Promise<unknown> {
    return this.#channel.request({ name: REQUEST_DESKTOP_SOURCES, options });
  }

  /** Detaches and closes the link; idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.detach();
    this.#waiting.length = 0;
    this.#channel.close();
  }

  #onState(state: ConferenceState): void {
    const prev = this.#last;
    this.#last = state;
    if (!prev || prev === state) return;
    for (const event of conferenceEvents(prev, state)) this.#channel.sendEvent(event);
    if (state.phase.name === 'left' && prev.phase.name !== 'left') this.readyToClose();
  }

  #onCommand(data: unknown): void {
    const payload = namedPayload(data);
    if (!payload) return;
    let args = Array.isArray(payload.fields.data) ? payload.fields.data as unknown[] : [];
    // Jitsi's executeCommands() sends each value (an argument list) as one argument.
    if (args.length === 1 && Array.isArray(args[0])) args = args[0] as unknown[];
    if (!Object.hasOwn(COMMANDS, payload.name)) {
      this.#report('iframe API command not supported', payload.name);
      return;
    }
    if (this.#controller) this.#run(payload.name, args);
    else {
      this.#waiting.push({ name: payload.name, args });
      if (this.#waiting.length > MAX_WAITING_COMMANDS) this.#waiting.shift();
    }
  }

  #run(name: string, args: readonly unknown[]): void {
    const controller = this.#controller;
    const command = COMMANDS[name];
    if (!controller || !command) return;
    command({ controller, options: this.#options, report: this.#report, readyToClose: () => this.readyToClose() }, args);
  }

  #onRequest(data: unknown, respond: Respond): void {
    const payload = namedPayload(data);
    if (!payload) {
      respond(undefined, UNKNOWN_REQUEST);
      return;
    }
    const state = this.#controller?.getState();
    const local = state ? localOf(state) : undefined;
    switch (payload.name) {
      case REQUEST.isAudioMuted:
      case REQUEST.isVideoMuted:
      case REQUEST.isSharingScreen:
        if (!local) {
          respond(undefined, NOT_IN_CONFERENCE);
          return;
        }
        respond(payload.name === REQUEST.isAudioMuted ? local.audioMuted
          : payload.name === REQUEST.isVideoMuted ? local.videoMuted : local.screenSharing);
        return;
      case REQUEST.isAudioAvailable:
        respond(state?.local.audio !== undefined);
        return;
      case REQUEST.isVideoAvailable:
        respond(state?.local.video !== undefined);
        return;
      case REQUEST.roomsInfo:
        respond({ rooms: state ? [roomInfo(state)] : [] });
        return;
      default:
        respond(undefined, UNKNOWN_REQUEST);
    }
  }
}

/** Jitsi's `getRoomsInfo()` shape for the one room (no breakout rooms here). */
function roomInfo(state: ConferenceState): Record<string, unknown> {
  return {
    isMainRoom: true,
    id: state.room,
    participants: [...state.participants.values()].map((p) => ({ id: p.id, displayName: p.displayName, role: p.role })),
  };
}

function runAsync(ctx: CommandContext, what: string, promise: Promise<void>): void {
  promise.catch((err: unknown) => ctx.report(`the iframe API command ${what} failed`, err));
}

/** Wire command name → what it does; arguments are checked before anything is called. */
const COMMANDS: Readonly<Record<string, Command>> = {
  'toggle-audio': (ctx) => {
    const local = localOf(ctx.controller.getState());
    if (local) runAsync(ctx, 'toggle-audio', ctx.controller.setAudioMuted(!local.audioMuted));
  },
  'toggle-video': (ctx) => {
    const local = localOf(ctx.controller.getState());
    if (local) runAsync(ctx, 'toggle-video', ctx.controller.setVideoMuted(!local.videoMuted));
  },
  // `{enable: boolean}` forces a state (Jitsi's undocumented option); else it toggles.
  'toggle-share-screen': (ctx, [options]) => {
    const local = localOf(ctx.controller.getState());
    if (!local) return;
    const enable = typeof options === 'object' && options !== null ? (options as { enable?: unknown }).enable : undefined;
    runAsync(ctx, 'toggle-share-screen', ctx.controller.setScreenSharing(typeof enable === 'boolean' ? enable : !local.screenSharing));
  },
  // Jitsi's hangup ends with readyToClose whether leaving went well or not (the phase change to
  // `left` sends it when it did; this covers a leave that failed).
  'video-hangup': (ctx) => {
    ctx.controller.leave()
      .catch((err: unknown) => ctx.report('leaving on the iframe API hangup command failed', err))
      .finally(() => ctx.readyToClose());
  },
  'display-name': (ctx, [name]) => {
    const value = text(name, MAX_TEXT_CHARS)?.trim();
    if (value) ctx.controller.setDisplayName([...value].slice(0, MAX_DISPLAY_NAME).join(''));
  },
  'send-chat-message': (ctx, [message, to]) => {
    const body = text(message, MAX_TEXT_CHARS);
    if (!body) return;
    if (to === undefined || to === '') {
      ctx.controller.sendChatMessage(body);
      return;
    }
    const recipient = text(to, MAX_ID_CHARS);
    if (recipient !== undefined) ctx.controller.sendChatMessage(body, recipient);
  },
  // API.js: while a join waits for a password (lib-jitsi-meet's PASSWORD_REQUIRED, after which
  // jitsi-meet sent `passwordRequired`) it joins with it; otherwise it locks the room.
  'password': (ctx, [password]) => {
    const value = text(password, MAX_PASSWORD_CHARS);
    if (value === undefined) return;
    const { phase } = ctx.controller.getState();
    if (phase.name !== 'failed' || phase.error !== 'password-required') ctx.controller.setRoomPassword(value);
    else if (ctx.options.joinWithPassword) ctx.options.joinWithPassword(value);
    else ctx.report('the iframe API password command has no join to give it to', 'password');
  },
  'toggle-raise-hand': (ctx) => {
    const local = localOf(ctx.controller.getState());
    if (local) ctx.controller.setRaisedHand(local.raisedHandAt === undefined);
  },
  // Microphones only: Salon's moderators mute audio, which is also `mute-everyone`'s default.
  'mute-everyone': (ctx, [mediaType]) => {
    if (mediaType !== undefined && mediaType !== 'audio') return;
    for (const p of ctx.controller.getState().participants.values()) {
      if (!p.local && !p.audioMuted) ctx.controller.muteParticipant(p.id);
    }
  },
  'kick-participant': (ctx, [id]) => {
    const target = text(id, MAX_ID_CHARS);
    if (target) ctx.controller.kickParticipant(target);
  },
  'grant-moderator': (ctx, [id]) => {
    const target = text(id, MAX_ID_CHARS);
    if (target) ctx.controller.grantModerator(target);
  },
};

/**
 * Starts the iframe API endpoint when this page is framed and its URL names an API instance
 * (`#jitsi_meet_external_api_id=N`); undefined otherwise. Call once, at start.
 */
export function startEmbeddingIn(win: Window, apiId: number | undefined): ExternalApiEndpoint | undefined {
  if (apiId === undefined || win.parent === win) return undefined;
  const webrtc = typeof (win as Window & { RTCPeerConnection?: unknown }).RTCPeerConnection === 'function';
  const supported = webrtc && typeof win.navigator.mediaDevices?.getUserMedia === 'function';
  return new ExternalApiEndpoint({ apiId, host: win, parent: win.parent, browserSupported: supported });
}
