/**
 * JIDs (RFC 7622): parse, normalise and compare. Pure and browser-safe.
 *
 * Normalisation is the pragmatic subset Jitsi deployments rely on: Unicode NFC, case-folded
 * localpart and domainpart, resource kept as written (NFC). Full PRECIS profiles are not
 * applied; the characters RFC 7622 §3.3.1 forbids in a localpart are refused.
 */
import { StanzaError } from './errors.ts';

const MAX_PART_BYTES = 1023; // RFC 7622 §3.2, §3.3, §3.4
const LOCAL_FORBIDDEN = /[\s"&'/:<>@\u0000-\u001f\u007f]/u;
const DOMAIN_FORBIDDEN = /[\s"&'/:<>@\\\u0000-\u001f\u007f]/u;
const RESOURCE_FORBIDDEN = /[\u0000-\u001f\u007f]/u;

export class Jid {
  readonly local: string;
  readonly domain: string;
  readonly resource: string;
  /** `local@domain` or `domain`. */
  readonly bare: string;
  /** The full form, `bare/resource` when there is a resource. */
  readonly full: string;

  constructor(local: string, domain: string, resource = '') {
    this.local = local;
    this.domain = domain;
    this.resource = resource;
    this.bare = local ? `${local}@${domain}` : domain;
    this.full = resource ? `${this.bare}/${resource}` : this.bare;
  }

  toString(): string {
    return this.full;
  }

  toBare(): Jid {
    return this.resource ? new Jid(this.local, this.domain) : this;
  }

  withResource(resource: string): Jid {
    return new Jid(this.local, this.domain, normaliseResource(resource));
  }

  equals(other: Jid): boolean {
    return this.full === other.full;
  }
}

function byteLength(s: string): number {
  return new TextEncoder().encode(s).length;
}

export function normaliseLocal(local: string): string {
  const out = local.normalize('NFC').toLowerCase();
  if (byteLength(out) > MAX_PART_BYTES || LOCAL_FORBIDDEN.test(out)) throw new StanzaError('modify', 'jid-malformed', 'bad localpart');
  return out;
}

export function normaliseDomain(domain: string): string {
  const out = domain.normalize('NFC').toLowerCase().replace(/\.$/, '');
  if (!out || byteLength(out) > MAX_PART_BYTES || DOMAIN_FORBIDDEN.test(out)) throw new StanzaError('modify', 'jid-malformed', 'bad domainpart');
  return out;
}

export function normaliseResource(resource: string): string {
  const out = resource.normalize('NFC');
  if (byteLength(out) > MAX_PART_BYTES || RESOURCE_FORBIDDEN.test(out)) throw new StanzaError('modify', 'jid-malformed', 'bad resourcepart');
  return out;
}

/** Parses and normalises a JID; throws a `jid-malformed` StanzaError. */
export function parseJid(text: string): Jid {
  const slash = text.indexOf('/');
  const barePart = slash === -1 ? text : text.slice(0, slash);
  const resource = slash === -1 ? '' : text.slice(slash + 1);
  const at = barePart.indexOf('@');
  const local = at === -1 ? '' : barePart.slice(0, at);
  const domain = at === -1 ? barePart : barePart.slice(at + 1);
  if ((at !== -1 && !local) || (slash !== -1 && !resource)) throw new StanzaError('modify', 'jid-malformed', 'empty JID part');
  return new Jid(local ? normaliseLocal(local) : '', normaliseDomain(domain), resource ? normaliseResource(resource) : '');
}

/** Like parseJid, but undefined for malformed input. */
export function tryParseJid(text: string | undefined): Jid | undefined {
  if (text === undefined) return undefined;
  try {
    return parseJid(text);
  } catch {
    return undefined; // the caller decides what a malformed address means
  }
}
