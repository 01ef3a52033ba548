/**
 * Room names: validation against what a MUC node part may safely hold here (letters, digits,
 * `-`, `_`, 3..64 characters; RFC 7622 §3.3 allows more, but a name must also live unescaped in a
 * URL path) and a readable random suggestion.
 */
import { ROOM_WORDS } from '../../i18n/room-words.ts';
import type { Lang } from '../../i18n/translate.ts';

export type RoomNameProblem = 'empty' | 'short' | 'long' | 'chars';

export const ROOM_NAME_MIN = 3;
export const ROOM_NAME_MAX = 64;
const ALLOWED = /^[\p{L}\p{N}_-]+$/u;

/** Undefined when `name` (already trimmed by the caller or not) is a valid room name. */
export function roomNameProblem(name: string): RoomNameProblem | undefined {
  if (name.length === 0) return 'empty';
  if (!ALLOWED.test(name)) return 'chars';
  const length = [...name].length; // code points, so "é" counts once
  if (length < ROOM_NAME_MIN) return 'short';
  if (length > ROOM_NAME_MAX) return 'long';
  return undefined;
}

/** A uniformly drawn integer in [0, bound), from the Web Crypto generator. */
export type RandomInt = (bound: number) => number;

export const cryptoRandomInt: RandomInt = (bound) => {
  const buf = new Uint32Array(1);
  crypto.getRandomValues(buf);
  return (buf[0] ?? 0) % bound; // bound ≤ 10000, so the modulo bias is below 1e-5
};

function pick(words: readonly string[], random: RandomInt): string {
  return words[random(words.length)] ?? words[0] ?? 'Salon';
}

/** E.g. "BrightRiver4821" in English, "RiviereCalme4821" in French: ASCII, always valid. */
export function suggestRoomName(lang: Lang, random: RandomInt = cryptoRandomInt): string {
  const words = ROOM_WORDS[lang];
  const adjective = pick(words.adjectives, random);
  const noun = pick(words.nouns, random);
  const number = 1000 + random(9000);
  return words.adjectiveFirst ? `${adjective}${noun}${number}` : `${noun}${adjective}${number}`;
}
