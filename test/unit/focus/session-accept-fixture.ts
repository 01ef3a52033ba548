/**
 * lib-jitsi-meet's recorded session-accept (test/fixtures/xmpp/jingle/jingle-session-accept-ljm.xml),
 * re-addressed to another endpoint: sid, source names, msids and SSRCs adapted, so that several
 * fake participants can answer one conference without colliding.
 */
import { readFileSync } from 'node:fs';
import { parse, type Element } from 'ltx';

const FIXTURE = new URL('../../fixtures/xmpp/jingle/jingle-session-accept-ljm.xml', import.meta.url);

/** The `<jingle action="session-accept"/>` of endpoint `nick`; every SSRC is offset by `ssrcOffset`. */
export function sessionAcceptFor(nick: string, sid: string, ssrcOffset: number): Element {
  const iq = parse(readFileSync(FIXTURE, 'utf8'));
  const jingle = iq.getChild('jingle')!;
  jingle.attrs.sid = sid;
  const walk = (el: Element): void => {
    if (typeof el.attrs.ssrc === 'string') el.attrs.ssrc = String(Number(el.attrs.ssrc) + ssrcOffset);
    if (el.name === 'source' && typeof el.attrs.name === 'string') el.attrs.name = el.attrs.name.replace('abcd1234', nick);
    if (el.name === 'parameter' && el.attrs.name === 'msid') el.attrs.value = `${nick}-${String(el.attrs.value)}`;
    for (const child of el.getChildElements()) walk(child);
  };
  walk(jingle);
  return jingle;
}

/** The SSRCs the fixture's sources use, after the offset. */
export function fixtureSsrcs(ssrcOffset: number): number[] {
  const out = new Set<number>();
  const walk = (el: Element): void => {
    if (el.name === 'source' && el.attrs.ssrc && el.getChild('parameter')) out.add(Number(el.attrs.ssrc) + ssrcOffset);
    for (const child of el.getChildElements()) walk(child);
  };
  walk(parse(readFileSync(FIXTURE, 'utf8')));
  return [...out];
}
