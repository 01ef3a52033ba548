/**
 * `/external_api.js`: `window.JitsiMeetExternalAPI`, the iframe API integrators use to embed a
 * conference (`new JitsiMeetExternalAPI(domain, {roomName, parentNode, ...})`), compatible with
 * Jitsi Meet's: same options, iframe URL, events, commands and postMessage wire format (see
 * ../client/embed/wire.ts), so pages written for Jitsi's work unchanged against Salon — and
 * against a Jitsi server too. Built by web/server/bundle.ts as a classic script.
 *
 * Supported: the constructor options of ./frame-url.ts plus `width`, `height`, `parentNode`,
 * `onload`, `sandbox` (and the positional form of Jitsi's first releases); `on`/`addListener`/
 * `once`/`off`/`removeListener`/`removeAllListeners` and the deprecated `addEventListener(s)`/
 * `removeEventListener(s)`; `executeCommand`, `executeCommands`; `isAudioMuted`, `isVideoMuted`,
 * `isSharingScreen`, `isAudioAvailable`, `isVideoAvailable`, `getRoomsInfo`,
 * `getAvailableDevices`, `getCurrentDevices` (requests to the iframe); `getParticipantsInfo`,
 * `getNumberOfParticipants`, `getDisplayName`, `getEmail`, `getAvatarURL` (kept here from the
 * events, as Jitsi does); `getIFrame`, `dispose`.
 */
import { ApiChannel } from '../client/embed/channel.ts';
import {
  COMMAND_NAMES, EVENT_NAMES, namedPayload, REQUEST, REQUEST_DESKTOP_SOURCES, REQUEST_DESKTOP_SOURCES_EVENT, scopeFor,
} from '../client/embed/wire.ts';
import { buildFrameUrl, type FrameUrlOptions } from './frame-url.ts';

type Listener = (...args: unknown[]) => unknown;

export interface ExternalApiOptions extends FrameUrlOptions {
  /** CSS size: a number of pixels, or a string such as `100%`, `480px`, `50vh` (default 100%). */
  readonly width?: number | string;
  readonly height?: number | string;
  /** Where the iframe goes (default document.body). */
  readonly parentNode?: Element;
  /** Called when the conference page reports it is ready. */
  readonly onload?: () => void;
  /** The iframe's sandbox attribute, when the embedder wants one. */
  readonly sandbox?: string;
}

interface ParticipantInfo {
  displayName?: unknown;
  formattedDisplayName?: unknown;
  avatarURL?: unknown;
  email?: unknown;
}

/** What the iframe may use: camera, microphone, screen sharing, sound, the clipboard. */
const FRAME_ALLOW = 'camera; microphone; display-capture; autoplay; clipboard-write';
const SIZE = /([0-9]*\.?[0-9]+)(em|pt|px|((d|l|s)?v)(h|w)|%)$/;

/** `Object.hasOwn`, which integrators' older browsers may lack. */
function hasOwn(object: object, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(object, key);
}

function cssSize(value: unknown): string | undefined {
  if (typeof value === 'number') return `${value}px`;
  return typeof value === 'string' && SIZE.test(value) ? value : undefined;
}

/** Jitsi's first releases took positional arguments: (roomName, width, height, parentNode, …). */
function optionsFrom(args: readonly unknown[]): ExternalApiOptions {
  const [first] = args;
  if (first === undefined) return {};
  if (typeof first === 'object' && first !== null) return first as ExternalApiOptions;
  if (typeof first !== 'string') throw new Error('Can\'t parse the arguments!');
  const [roomName, width, height, parentNode, configOverwrite, interfaceConfigOverwrite, jwt, onload] = args;
  return { roomName, width, height, parentNode, configOverwrite, interfaceConfigOverwrite, jwt, onload } as ExternalApiOptions;
}

export class JitsiMeetExternalAPI {
  /** API instances made by this page so far: the next iframe's id (Jitsi numbers them the same way). */
  static #instances = 0;

  readonly #listeners = new Map<string, Listener[]>();
  readonly #participants = new Map<string, ParticipantInfo>();
  readonly #channel: ApiChannel;
  readonly #frame: HTMLIFrameElement;
  readonly #onload: (() => void) | undefined;
  #numberOfParticipants = 0;
  #myUserId: string | undefined;

  constructor(domain: string, ...args: unknown[]) {
    const options = optionsFrom(args);
    const id = JitsiMeetExternalAPI.#instances++;
    const url = buildFrameUrl(domain, id, options);
    this.#onload = options.onload;
    this.#frame = this.#createFrame(url, id, options);
    const frame = this.#frame;
    this.#channel = new ApiChannel({
      scope: scopeFor(id),
      host: window,
      peer: () => frame.contentWindow,
      peerOrigin: new URL(url).origin,
      onEvent: (data) => this.#onEvent(data),
      onRequest: (data, respond) => {
        const payload = namedPayload(data);
        // The desktop app's screen picker answers this one; a web page has nothing to offer.
        if (payload?.name === REQUEST_DESKTOP_SOURCES && this.listenerCount(REQUEST_DESKTOP_SOURCES_EVENT) > 0) {
          this.emit(REQUEST_DESKTOP_SOURCES_EVENT, payload.fields, respond);
          return;
        }
        respond(undefined, 'UnknownRequestError');
      },
    });
  }

  #createFrame(url: string, id: number, options: ExternalApiOptions): HTMLIFrameElement {
    const frame = document.createElement('iframe');
    frame.allow = FRAME_ALLOW;
    frame.name = `jitsiConferenceFrame${id}`;
    frame.id = frame.name;
    const height = cssSize(options.height ?? '100%');
    const width = cssSize(options.width ?? '100%');
    if (height !== undefined) frame.style.height = height;
    if (width !== undefined) frame.style.width = width;
    frame.setAttribute('allowFullScreen', 'true');
    frame.style.border = '0';
    if (options.sandbox) frame.setAttribute('sandbox', options.sandbox);
    frame.src = url;
    return (options.parentNode ?? document.body).appendChild(frame);
  }

  #onEvent(data: unknown): void {
    const payload = namedPayload(data);
    if (!payload) return;
    const { name, fields } = payload;
    const id = typeof fields.id === 'string' ? fields.id : undefined;
    switch (name) {
      case 'ready':
        this.#onload?.call(this);
        break;
      case 'video-conference-joined':
      case 'participant-joined':
        // The local participant counts as one more participant, as in Jitsi.
        if (id !== undefined) {
          if (name === 'video-conference-joined') {
            this.#myUserId = id;
            this.#participants.set(id, { email: fields.email, avatarURL: fields.avatarURL });
          }
          const info = this.#participants.get(id) ?? {};
          info.displayName = fields.displayName;
          info.formattedDisplayName = fields.formattedDisplayName;
          this.#participants.set(id, info);
        }
        this.#numberOfParticipants += 1;
        break;
      case 'participant-left':
        this.#numberOfParticipants -= 1;
        if (id !== undefined) this.#participants.delete(id);
        break;
      case 'display-name-change': {
        const info = id === undefined ? undefined : this.#participants.get(id);
        if (info) {
          info.displayName = fields.displayname;
          info.formattedDisplayName = fields.formattedDisplayName;
        }
        break;
      }
      case 'email-change':
      case 'avatar-changed': {
        const info = id === undefined ? undefined : this.#participants.get(id);
        if (info && name === 'email-change') info.email = fields.email;
        if (info && name === 'avatar-changed') info.avatarURL = fields.avatarURL;
        break;
      }
      case 'video-conference-left':
        this.#numberOfParticipants -= 1;
        if (this.#myUserId !== undefined) this.#participants.delete(this.#myUserId);
        break;
    }
    const apiName = hasOwn(EVENT_NAMES, name) ? EVENT_NAMES[name] : undefined;
    if (apiName) this.emit(apiName, fields);
  }

  // Events, as Node's EventEmitter (which Jitsi's class extends) offers them.

  on(event: string, listener: Listener): this {
    this.#listeners.set(event, [...(this.#listeners.get(event) ?? []), listener]);
    return this;
  }

  addListener(event: string, listener: Listener): this {
    return this.on(event, listener);
  }

  once(event: string, listener: Listener): this {
    const wrapper: Listener = (...args) => {
      this.removeListener(event, wrapper);
      return listener.apply(this, args);
    };
    return this.on(event, wrapper);
  }

  removeListener(event: string, listener: Listener): this {
    const list = this.#listeners.get(event);
    if (!list) return this;
    const at = list.lastIndexOf(listener);
    if (at !== -1) list.splice(at, 1);
    if (!list.length) this.#listeners.delete(event);
    return this;
  }

  off(event: string, listener: Listener): this {
    return this.removeListener(event, listener);
  }

  removeAllListeners(event?: string): this {
    if (event === undefined) this.#listeners.clear();
    else this.#listeners.delete(event);
    return this;
  }

  listenerCount(event: string): number {
    return this.#listeners.get(event)?.length ?? 0;
  }

  emit(event: string, ...args: unknown[]): boolean {
    const list = this.#listeners.get(event);
    if (!list) return false;
    for (const listener of [...list]) {
      try {
        listener.apply(this, args);
      } catch (err) {
        console.error(`a JitsiMeetExternalAPI ${event} listener failed`, err);
      }
    }
    return true;
  }

  /** @deprecated as in Jitsi: use `on`. */
  addEventListener(event: string, listener: Listener): void {
    this.on(event, listener);
  }

  /** @deprecated as in Jitsi: use `on` for each. */
  addEventListeners(listeners: Record<string, Listener>): void {
    for (const [event, listener] of Object.entries(listeners)) this.on(event, listener);
  }

  /** @deprecated as in Jitsi: removes every listener of the event. */
  removeEventListener(event: string): void {
    this.removeAllListeners(event);
  }

  /** @deprecated as in Jitsi. */
  removeEventListeners(events: readonly string[]): void {
    for (const event of events) this.removeAllListeners(event);
  }

  // Commands and requests.

  executeCommand(name: string, ...args: unknown[]): void {
    const wireName = hasOwn(COMMAND_NAMES, name) ? COMMAND_NAMES[name] : undefined;
    if (!wireName) {
      console.error('Not supported command name.');
      return;
    }
    this.#channel.sendEvent({ data: args, name: wireName });
  }

  /** `{displayName: ['Ada'], toggleAudio: []}`: each value is the command's argument list. */
  executeCommands(commands: Record<string, unknown>): void {
    for (const [name, args] of Object.entries(commands)) {
      this.executeCommand(name, ...(Array.isArray(args) ? args : [args]));
    }
  }

  isAudioMuted(): Promise<unknown> {
    return this.#channel.request({ name: REQUEST.isAudioMuted });
  }

  isVideoMuted(): Promise<unknown> {
    return this.#channel.request({ name: REQUEST.isVideoMuted });
  }

  isSharingScreen(): Promise<unknown> {
    return this.#channel.request({ name: REQUEST.isSharingScreen });
  }

  isAudioAvailable(): Promise<unknown> {
    return this.#channel.request({ name: REQUEST.isAudioAvailable });
  }

  isVideoAvailable(): Promise<unknown> {
    return this.#channel.request({ name: REQUEST.isVideoAvailable });
  }

  getRoomsInfo(): Promise<unknown> {
    return this.#channel.request({ name: REQUEST.roomsInfo });
  }

  /** As Jitsi: `{}` when the page cannot tell. */
  getAvailableDevices(): Promise<unknown> {
    return this.#channel.request({ type: 'devices', name: 'getAvailableDevices' }).catch(() => ({}));
  }

  getCurrentDevices(): Promise<unknown> {
    return this.#channel.request({ type: 'devices', name: 'getCurrentDevices' }).catch(() => ({}));
  }

  // What the events told.

  getParticipantsInfo(): Array<ParticipantInfo & { participantId: string }> {
    return [...this.#participants].map(([participantId, info]) => ({ ...info, participantId }));
  }

  getNumberOfParticipants(): number {
    return this.#numberOfParticipants;
  }

  getDisplayName(participantId: string): unknown {
    return this.#participants.get(participantId)?.displayName;
  }

  getEmail(participantId: string): unknown {
    return this.#participants.get(participantId)?.email;
  }

  getAvatarURL(participantId: string): unknown {
    return this.#participants.get(participantId)?.avatarURL;
  }

  getIFrame(): HTMLIFrameElement {
    return this.#frame;
  }

  /** Stops listening, drops every listener and removes the iframe. */
  dispose(): void {
    this.emit('_willDispose');
    this.#channel.close();
    this.removeAllListeners();
    this.#frame.remove();
  }
}

declare global {
  interface Window {
    JitsiMeetExternalAPI?: typeof JitsiMeetExternalAPI;
  }
}

window.JitsiMeetExternalAPI = JitsiMeetExternalAPI;
