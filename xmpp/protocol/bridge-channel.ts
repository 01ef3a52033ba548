/**
 * The bridge channel (protocol notes §7): the JSON messages a bridge and its endpoints exchange over
 * the colibri-ws WebSocket or the SCTP data channel, each an object whose `colibriClass` names it.
 * One zod schema per class; parseBridgeChannelMessage validates, serialiseBridgeChannelMessage writes.
 * The schemas use zod/mini because the browser client bundles this module: classic zod hangs every
 * method on its prototypes, so none tree-shakes (about 95 KB gzipped, against about 11 KB here).
 *
 * There is no spec: the classes and fields are those of jitsi-videobridge's
 * jvb/src/main/kotlin/org/jitsi/videobridge/message/BridgeChannelMessage.kt and
 * cc/allocation/VideoConstraints.kt, and of lib-jitsi-meet's modules/RTC/BridgeChannel.ts
 * (https://github.com/jitsi/jitsi-videobridge, https://github.com/jitsi/lib-jitsi-meet, both 2026-08).
 *
 * Deviations from JVB, which parses with Jackson:
 * - a message is at most 64 KiB of UTF-8 and 32 levels deep, and no object may have a `__proto__`
 *   key: EndpointMessage and EndpointStats come from other participants and are relayed;
 * - EndpointMessage needs an object `msgPayload` (JVB relays anything; lib-jitsi-meet drops such
 *   messages on receipt, so they only cost bandwidth);
 * - unknown fields are dropped, except in EndpointMessage and EndpointStats, which keep them (JVB
 *   does the same for those two and refuses unknown fields elsewhere);
 * - ReceiverAudioSubscription's legacy `{mode, list}` form is read into `{all, include, exclude}`
 *   exactly as JVB does, and video types are read in any case and kept upper-case, as JVB writes them.
 * Not modelled (parsed as unknown classes): the relay-only AddReceiver and RemoveReceiver, and
 * SyntheticSourceSendingChangeEvent (translated audio). Pure and browser-safe.
 */
import * as z from 'zod/mini';
import { en } from 'zod/locales';

/** Largest message accepted, in bytes of UTF-8. */
export const MAX_BRIDGE_CHANNEL_MESSAGE_BYTES = 64 * 1024;
/** Deepest nesting of arrays and objects accepted; the message object itself is level 1. */
export const MAX_BRIDGE_CHANNEL_MESSAGE_DEPTH = 32;

/** JVB's VideoType enum, as the bridge writes it; lib-jitsi-meet sends it lower-case (jingle-rtp's VideoType is the SSMA attribute). */
export const BRIDGE_CHANNEL_VIDEO_TYPES = ['CAMERA', 'DESKTOP', 'DESKTOP_HIGH_FPS', 'DISABLED', 'NONE'] as const;
export type BridgeChannelVideoType = (typeof BRIDGE_CHANNEL_VIDEO_TYPES)[number];

const json = z.json();
const jsonObject = z.record(z.string(), json);
const endpointId = z.string();
const sourceName = z.string();
/** A safe integer (zod's int) of at least `min`. */
const integer = (min: number) => z.number().check(z.int(), z.minimum(min));
const ssrc = integer(0).check(z.maximum(0xffffffff));
/** -1 means unlimited. */
const lastN = integer(-1);
const videoType = z.pipe(z.string().check(z.toUpperCase()), z.enum(BRIDGE_CHANNEL_VIDEO_TYPES));
const cls = <C extends string>(name: C) => z.literal(name);

/** VideoConstraints.kt: maxHeight -1 (unlimited), 0 (nothing) or a height; maxFrameRate -1 (unlimited) or ≥ 0. */
const videoConstraints = z.object({
  maxHeight: integer(-1),
  maxFrameRate: z.optional(z.union([z.literal(-1), z.number().check(z.minimum(0))])),
});

const audioSubscriptionMode = z.enum(['All', 'None', 'Include', 'Exclude']);
const audioSubscription = z.object({
  colibriClass: cls('ReceiverAudioSubscription'),
  all: z.optional(z.boolean()),
  include: z.optional(z.array(sourceName)),
  exclude: z.optional(z.array(sourceName)),
  mode: z.optional(audioSubscriptionMode),
  list: z.optional(z.array(sourceName)),
});

/**
 * zod/mini registers no locale, so issues would all read "Invalid input"; pass the English messages
 * per parse (classic zod sets them globally) so that refusals keep naming what was expected.
 */
const englishMessages = en().localeError;

const schemas = {
  /** Client → bridge; the bridge answers ServerHello. Current lib-jitsi-meet does not send it. */
  ClientHello: z.object({ colibriClass: cls('ClientHello') }),
  /** Bridge → client, when a WebSocket opens and in answer to ClientHello. */
  ServerHello: z.object({ colibriClass: cls('ServerHello'), version: z.optional(z.string()) }),
  /**
   * Both ways: `to` is an endpoint id, or blank to broadcast; the bridge overwrites `from` with
   * the sender's id (or "transcriber") before relaying.
   */
  EndpointMessage: z.catchall(z.object({
    colibriClass: cls('EndpointMessage'),
    to: endpointId,
    from: z.optional(endpointId),
    msgPayload: jsonObject,
  }), json),
  /** Both ways: the sender's connection stats (bitrate, packetLoss, connectionQuality, jvbRTT…), relayed with `from`. */
  EndpointStats: z.catchall(z.object({ colibriClass: cls('EndpointStats'), from: z.optional(endpointId) }), json),
  /** Client → bridge, legacy last-N setter; lib-jitsi-meet still has the sender but no longer calls it. */
  LastNChangedEvent: z.object({ colibriClass: cls('LastNChangedEvent'), lastN }),
  /** Client → bridge: what video to forward, at what resolution (§8.4). */
  ReceiverVideoConstraints: z.object({
    colibriClass: cls('ReceiverVideoConstraints'),
    lastN: z.optional(lastN),
    selectedSources: z.optional(z.array(sourceName)),
    onStageSources: z.optional(z.array(sourceName)),
    /** The older form (lib-jitsi-meet before source names): endpoint ids, and `constraints` keyed by endpoint id. */
    selectedEndpoints: z.optional(z.array(sourceName)),
    onStageEndpoints: z.optional(z.array(sourceName)),
    defaultConstraints: z.optional(videoConstraints),
    /** Source name → constraints. */
    constraints: z.optional(z.record(sourceName, videoConstraints)),
    /**
     * -1 lets the bridge estimate. JVB reads it as a Long (a fraction cut off): jitsi-meet passes on
     * whatever its API was given, and a fraction must not cost the whole message (later ones repeat it).
     */
    assumedBandwidthBps: z.optional(z.pipe(z.number().check(z.minimum(-1)), z.transform((bps: number) => Math.trunc(bps)))),
  }),
  /**
   * Client → bridge: which audio sources to forward. `all` defaults to false when absent (JVB);
   * synthetic sources come only when named in `include`; `exclude` wins over both.
   */
  ReceiverAudioSubscription: z.pipe(audioSubscription, z.transform((fields: z.output<typeof audioSubscription>) => {
    const { colibriClass, all, include, exclude, mode, list } = fields;
    const subscription = { colibriClass, all: all ?? false, include: include ?? [], exclude: exclude ?? [] };
    switch (mode) {
      case 'All': return { ...subscription, all: true, include: [], exclude: [] };
      case 'None': return { ...subscription, all: false, include: [], exclude: [] };
      case 'Include': return { ...subscription, all: false, include: list ?? [], exclude: [] };
      case 'Exclude': return { ...subscription, all: true, include: [], exclude: list ?? [] };
      case undefined: return subscription;
    }
  })),
  /** Client → bridge: a source's video type (screen share is favoured); `endpointId` only between relays. */
  SourceVideoTypeMessage: z.object({
    colibriClass: cls('SourceVideoTypeMessage'),
    sourceName,
    videoType,
    endpointId: z.optional(endpointId),
  }),
  /** Client → bridge, deprecated form of SourceVideoTypeMessage for the endpoint's first video source. */
  VideoTypeMessage: z.object({ colibriClass: cls('VideoTypeMessage'), videoType, endpointId: z.optional(endpointId) }),
  /** Bridge → client: the loudest speaker first, then the recent ones. */
  DominantSpeakerEndpointChangeEvent: z.object({
    colibriClass: cls('DominantSpeakerEndpointChangeEvent'),
    dominantSpeakerEndpoint: endpointId,
    previousSpeakers: z.optional(z.array(endpointId)),
    silence: z.boolean(),
  }),
  /**
   * Bridge → client, legacy form of ForwardedSources for an endpoint without source names: the
   * endpoints whose video is forwarded to it. lib-jitsi-meet before source names shows the others'
   * video as out of last-N (inactive) rather than interrupted.
   */
  LastNEndpointsChangeEvent: z.object({ colibriClass: cls('LastNEndpointsChangeEvent'), lastNEndpoints: z.array(endpointId) }),
  /** Bridge → client: the video sources now forwarded to it; unlisted ones show as not in last-N. */
  ForwardedSources: z.object({ colibriClass: cls('ForwardedSources'), forwardedSources: z.array(sourceName) }),
  /** Bridge → sender: the largest height anyone receives of this source (0 = stop sending). */
  SenderSourceConstraints: z.object({
    colibriClass: cls('SenderSourceConstraints'),
    sourceName,
    maxHeight: integer(-1),
  }),
  /**
   * Bridge → sender, legacy form of SenderSourceConstraints for an endpoint without source names
   * (Colibri2 capability `source-names` absent): its one video source, by `idealHeight` as JVB
   * writes it. lib-jitsi-meet before source names acts on this form only.
   */
  SenderVideoConstraints: z.object({
    colibriClass: cls('SenderVideoConstraints'),
    videoConstraints: z.object({ idealHeight: integer(-1) }),
  }),
  /** Bridge → client, legacy: the bridge's media connection to another endpoint; `active` is a string. */
  EndpointConnectivityStatusChangeEvent: z.object({
    colibriClass: cls('EndpointConnectivityStatusChangeEvent'),
    endpoint: endpointId,
    active: z.enum(['true', 'false']),
  }),
  /** Bridge → client: the bridge's estimate of the endpoint's downlink, in bits per second. */
  ConnectionStats: z.object({ colibriClass: cls('ConnectionStats'), estimatedDownlinkBandwidth: integer(0) }),
  /** Bridge → client, SSRC rewriting only (§5.9): which source each of the bridge's video SSRCs now carries. */
  VideoSourcesMap: z.object({
    colibriClass: cls('VideoSourcesMap'),
    mappedSources: z.array(z.object({
      source: sourceName,
      owner: z.nullable(endpointId),
      ssrc,
      /** JVB always has one; lib-jitsi-meet skips the FID group only for the string "-1". */
      rtx: z.union([ssrc, z.literal(-1)]),
      videoType,
      /** With rtp-mid-demux. */
      mid: z.optional(z.string()),
    })),
  }),
  /** Bridge → client, SSRC rewriting only: which source each of the bridge's audio SSRCs now carries. */
  AudioSourcesMap: z.object({
    colibriClass: cls('AudioSourcesMap'),
    mappedSources: z.array(z.object({ source: sourceName, owner: z.nullable(endpointId), ssrc, mid: z.optional(z.string()) })),
  }),
} as const;

type Schemas = typeof schemas;
export type BridgeChannelClass = keyof Schemas;
/** Every class this module parses. */
export const BRIDGE_CHANNEL_CLASSES = Object.keys(schemas) as readonly BridgeChannelClass[];
export type BridgeChannelMessage = { [C in BridgeChannelClass]: z.output<Schemas[C]> }[BridgeChannelClass];
/** The message of one class, e.g. `BridgeChannelMessageOf<'ForwardedSources'>`. */
export type BridgeChannelMessageOf<C extends BridgeChannelClass> = Extract<BridgeChannelMessage, { colibriClass: C }>;

const CLIENT_TO_BRIDGE = [
  'ClientHello', 'EndpointMessage', 'EndpointStats', 'LastNChangedEvent', 'ReceiverVideoConstraints',
  'ReceiverAudioSubscription', 'SourceVideoTypeMessage', 'VideoTypeMessage',
] as const satisfies readonly BridgeChannelClass[];
const BRIDGE_TO_CLIENT = [
  'ServerHello', 'EndpointMessage', 'EndpointStats', 'DominantSpeakerEndpointChangeEvent', 'ForwardedSources',
  'LastNEndpointsChangeEvent', 'SenderSourceConstraints', 'SenderVideoConstraints', 'EndpointConnectivityStatusChangeEvent', 'ConnectionStats', 'VideoSourcesMap',
  'AudioSourcesMap',
] as const satisfies readonly BridgeChannelClass[];

/** What an endpoint may send the bridge; the bridge logs and ignores the rest, like JVB. */
export type ClientToBridgeMessage = BridgeChannelMessageOf<(typeof CLIENT_TO_BRIDGE)[number]>;
/** What the bridge sends an endpoint. */
export type BridgeToClientMessage = BridgeChannelMessageOf<(typeof BRIDGE_TO_CLIENT)[number]>;

const clientToBridge: ReadonlySet<string> = new Set(CLIENT_TO_BRIDGE);
const bridgeToClient: ReadonlySet<string> = new Set(BRIDGE_TO_CLIENT);

export function isClientToBridgeMessage(msg: BridgeChannelMessage): msg is ClientToBridgeMessage {
  return clientToBridge.has(msg.colibriClass);
}

export function isBridgeToClientMessage(msg: BridgeChannelMessage): msg is BridgeToClientMessage {
  return bridgeToClient.has(msg.colibriClass);
}

/**
 * Why a message was refused. `unknown-class` is a well-formed message of a class this module does
 * not know: log it at debug and carry on (protocol notes §7: unknown classes must be ignored).
 */
export type BridgeChannelErrorKind =
  | 'too-large' | 'bad-json' | 'not-an-object' | 'too-deep' | 'missing-class' | 'unknown-class' | 'invalid-fields';

export class BridgeChannelMessageError extends Error {
  constructor(
    readonly kind: BridgeChannelErrorKind,
    message: string,
    /** The message's class, when it had one. */
    readonly colibriClass?: string,
  ) {
    super(message);
    this.name = 'BridgeChannelMessageError';
  }
}

/** Parses one bridge-channel text frame; throws {@link BridgeChannelMessageError}. */
export function parseBridgeChannelMessage(text: string): BridgeChannelMessage {
  if (utf8Length(text) > MAX_BRIDGE_CHANNEL_MESSAGE_BYTES) {
    throw new BridgeChannelMessageError('too-large', `message over ${MAX_BRIDGE_CHANNEL_MESSAGE_BYTES} bytes`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new BridgeChannelMessageError('bad-json', `not JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new BridgeChannelMessageError('not-an-object', 'message is not a JSON object');
  }
  checkShape(value);
  const colibriClass: unknown = (value as Record<string, unknown>).colibriClass;
  if (typeof colibriClass !== 'string') throw new BridgeChannelMessageError('missing-class', 'message has no string colibriClass');
  if (!Object.hasOwn(schemas, colibriClass)) {
    throw new BridgeChannelMessageError('unknown-class', `unknown colibriClass ${JSON.stringify(colibriClass)}`, colibriClass);
  }
  const result = schemas[colibriClass as BridgeChannelClass].safeParse(value, { error: englishMessages });
  if (!result.success) {
    const fields = result.error.issues.map((issue) => `${issue.path.map(String).join('.') || '(message)'}: ${issue.message}`);
    throw new BridgeChannelMessageError('invalid-fields', `invalid ${colibriClass}: ${fields.join('; ')}`, colibriClass);
  }
  return result.data as BridgeChannelMessage;
}

/** The JSON text of a message, `colibriClass` first (as JVB writes it; easier to read in logs). */
export function serialiseBridgeChannelMessage(msg: BridgeChannelMessage): string {
  const { colibriClass, ...fields } = msg;
  return JSON.stringify({ colibriClass, ...fields });
}

/** Refuses nesting deeper than the limit and `__proto__` keys, without recursion. */
function checkShape(root: object): void {
  const stack: Array<[unknown, number]> = [[root, 1]];
  for (let entry = stack.pop(); entry; entry = stack.pop()) {
    const [value, depth] = entry;
    if (typeof value !== 'object' || value === null) continue;
    if (depth > MAX_BRIDGE_CHANNEL_MESSAGE_DEPTH) {
      throw new BridgeChannelMessageError('too-deep', `message nested deeper than ${MAX_BRIDGE_CHANNEL_MESSAGE_DEPTH} levels`);
    }
    if (Array.isArray(value)) {
      for (const item of value) stack.push([item, depth + 1]);
      continue;
    }
    for (const [key, item] of Object.entries(value)) {
      if (key === '__proto__') throw new BridgeChannelMessageError('invalid-fields', 'message has a __proto__ key');
      stack.push([item, depth + 1]);
    }
  }
}

/** Bytes of `text` in UTF-8, counted without encoding it (lone surrogates count 3, as TextEncoder writes U+FFFD). */
function utf8Length(text: string): number {
  if (text.length > MAX_BRIDGE_CHANNEL_MESSAGE_BYTES) return text.length; // at least one byte per code unit
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0x80) bytes += 1;
    else if (unit < 0x800) bytes += 2;
    else if (unit >= 0xd800 && unit < 0xdc00 && i + 1 < text.length && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return bytes;
}
