/**
 * Reading typed attributes for the protocol modules' parsers: each throws a bad-request
 * StanzaError naming the element and the attribute (STYLE.md: parse errors name the bad field).
 */
import type { Element } from 'ltx';
import { StanzaError } from '../errors.ts';

function bad(el: Element, name: string, raw: unknown): StanzaError {
  return StanzaError.badRequest(`<${el.name}/> has a bad '${name}': '${String(raw)}'`);
}

/** A non-empty string attribute. */
export function required(el: Element, name: string): string {
  const value = el.attrs[name] as unknown;
  if (typeof value !== 'string' || value === '') throw StanzaError.badRequest(`<${el.name}/> lacks '${name}'`);
  return value;
}

/** An unsigned decimal integer in [min, max], or undefined when absent. */
export function uint(el: Element, name: string, max: number, min = 0): number | undefined {
  const raw = el.attrs[name] as unknown;
  if (raw === undefined) return undefined;
  const value = typeof raw === 'string' && /^\d{1,10}$/.test(raw) ? Number(raw) : NaN;
  if (!(value >= min && value <= max)) throw bad(el, name, raw);
  return value;
}

export function requiredUint(el: Element, name: string, max: number, min = 0): number {
  const value = uint(el, name, max, min);
  if (value === undefined) throw StanzaError.badRequest(`<${el.name}/> lacks '${name}'`);
  return value;
}

/** One of an enumeration's values, or undefined when absent. */
export function oneOf<T extends string>(el: Element, name: string, values: readonly T[]): T | undefined {
  const raw = el.attrs[name] as unknown;
  if (raw === undefined) return undefined;
  if (!(values as readonly unknown[]).includes(raw)) throw bad(el, name, raw);
  return raw as T;
}

export function requiredOneOf<T extends string>(el: Element, name: string, values: readonly T[]): T {
  const value = oneOf(el, name, values);
  if (value === undefined) throw StanzaError.badRequest(`<${el.name}/> lacks '${name}'`);
  return value;
}

/** XML Schema boolean: true/1/false/0, or undefined when absent. */
export function readBoolean(el: Element, name: string): boolean | undefined {
  const raw = el.attrs[name] as unknown;
  if (raw === undefined) return undefined;
  if (raw === 'true' || raw === '1') return true;
  if (raw === 'false' || raw === '0') return false;
  throw bad(el, name, raw);
}
