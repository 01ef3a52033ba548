/**
 * Scansion-style harness for MUC conversation tests: a real Router with a MucService, fake
 * clients bound as resources that record what they receive, and comparison of stanzas as
 * canonical XML (attribute order and whitespace ignored; an attribute value or text of `*` in
 * the expectation matches anything).
 */
import assert from 'node:assert/strict';
import { Element, parse } from 'ltx';
import { pino } from 'pino';
import { parseJid, type Jid } from '../../../../xmpp/jid.ts';
import type { Outgoing } from '../../../../xmpp/outgoing.ts';
import { Router, type Recipient } from '../../../../xmpp/router.ts';
import { MucService, type MucServiceOptions } from '../../../../xmpp/muc/index.ts';

export const MUC = 'muc.example';
export const FOCUS = 'focus@auth.example/focus';
export const NS_MUC = 'http://jabber.org/protocol/muc';
export const NS_MUC_USER = 'http://jabber.org/protocol/muc#user';

export class FakeClient implements Recipient {
  readonly jid: Jid;
  /** Everything delivered, oldest first; `receives` consumes from the front. */
  readonly received: Element[] = [];
  /** The shared stanzas as delivered, to check that fan-out reuses them. */
  readonly deliveries: Outgoing[] = [];

  constructor(private readonly world: World, jid: string) {
    this.jid = parseJid(jid);
  }

  deliver(out: Outgoing): void {
    this.deliveries.push(out);
    this.received.push(out.elementFor(this.jid.full));
  }

  /** "alice sends …": the server stamps `from`. */
  send(stanza: string | Element): void {
    const el = typeof stanza === 'string' ? parse(stanza) : stanza;
    el.attrs.from = this.jid.full;
    this.world.router.route(el);
  }

  /** "alice receives …": the next stanza, which must carry xmlns="jabber:client". */
  receives(expected: string): Element {
    const next = this.received.shift();
    assert.ok(next, `${this.jid.full} received nothing; expected ${expected}`);
    assert.equal(next.attrs.xmlns, 'jabber:client', `stanza without jabber:client: ${next.toString()}`);
    assertXml(next, expected);
    return next;
  }

  /** The next stanza, whatever it is. */
  next(): Element {
    const next = this.received.shift();
    assert.ok(next, `${this.jid.full} received nothing`);
    return next;
  }

  receivesNothing(): void {
    assert.deepEqual(this.received.map((e) => e.toString()), [], `${this.jid.full} received unexpected stanzas`);
  }

  clear(): void {
    this.received.length = 0;
    this.deliveries.length = 0;
  }

  /** Joins `room@muc.example/nick` and drops the join sequence it receives. */
  join(room: string, nick: string, extra = ''): void {
    this.send(`<presence to="${room}@${MUC}/${nick}"><x xmlns="${NS_MUC}"/>${extra}</presence>`);
    this.clear();
  }
}

export class World {
  readonly router = new Router(pino({ level: 'silent' }));
  readonly muc: MucService;
  clock = Date.UTC(2026, 0, 1);

  constructor(options: Partial<MucServiceOptions> = {}) {
    this.muc = new MucService(this.router, pino({ level: 'silent' }), {
      domain: MUC,
      name: 'Conferences',
      admins: new Set(['focus@auth.example']),
      restrictRoomCreation: false,
      maxOccupantsPerRoom: 500,
      maxHistoryMessages: 0,
      defaultWhois: 'anyone',
      ...options,
      now: () => this.clock,
    });
    this.router.addService(this.muc);
  }

  client(jid: string): FakeClient {
    const client = new FakeClient(this, jid);
    this.router.bind(client);
    return client;
  }
}

function canonical(node: Element | string, expected?: Element | string): string {
  if (typeof node === 'string') return typeof expected === 'string' && expected.trim() === '*' ? '*' : node.trim();
  const exp = typeof expected === 'string' ? undefined : expected;
  const attrs = Object.keys(node.attrs)
    .filter((k) => node.attrs[k] !== undefined && node.attrs[k] !== null)
    .sort()
    .map((k) => `${k}="${exp?.attrs[k] === '*' ? '*' : String(node.attrs[k])}"`);
  const children = node.children.filter((c) => typeof c !== 'string' || c.trim() !== '');
  const expChildren = exp?.children.filter((c) => typeof c !== 'string' || c.trim() !== '') ?? [];
  const inner = children.map((c, i) => canonical(c, expChildren[i])).join('');
  return `<${[node.name, ...attrs].join(' ')}>${inner}</${node.name}>`;
}

/** Compares as canonical XML; `*` in the expectation's attribute values or text matches anything. */
export function assertXml(actual: Element, expected: string): void {
  const exp = parse(expected);
  if (exp.attrs.xmlns === undefined && ['presence', 'message', 'iq'].includes(exp.name)) exp.attrs.xmlns = 'jabber:client';
  assert.equal(canonical(actual, exp), canonical(exp));
}

/** The condition of an error stanza. */
export function errorCondition(stanza: Element): { type: string; condition: string } {
  const error = stanza.getChild('error');
  assert.ok(error, `not an error: ${stanza.toString()}`);
  const condition = error.getChildElements().find((c) => c.name !== 'text');
  return { type: String(error.attrs.type), condition: condition?.name ?? '' };
}

export function statusCodes(stanza: Element): number[] {
  return (stanza.getChild('x', NS_MUC_USER)?.getChildren('status') ?? []).map((s) => Number(s.attrs.code));
}

/** focus (owner, moderator), alice and bob in room1; focus's and alice's inboxes cleared. */
export function roomOfThree(options: ConstructorParameters<typeof World>[0] = {}) {
  const world = new World(options);
  const focus = world.client(FOCUS);
  const alice = world.client('alice@example/web');
  const bob = world.client('bob@example/web');
  focus.join('room1', 'focus');
  alice.join('room1', 'alice');
  bob.join('room1', 'bob');
  focus.clear();
  alice.clear();
  return { world, focus, alice, bob };
}
