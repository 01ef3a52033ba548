/**
 * A raw XMPP conference participant for the integration tests (@xmpp/client over the WebSocket):
 * it answers the focus's disco#info with the given features, records every Jingle request, asks
 * the focus for the room and joins it.
 */
import type { Element } from 'ltx';
import { ClientFeature } from '../../focus/offer.ts';
import { parseJingle, type Jingle } from '../../xmpp/protocol/jingle.ts';
import { connectClient, waitForStanza, xml, type TestServer, type XmppClient } from './harness.ts';

/** @xmpp/client's iq callee (test/types/xmpp-client.d.ts leaves it out). */
type IqHandler = (ctx: { stanza: Element; element: Element }) => Element | boolean;
type WithCallee = XmppClient & { iqCallee: { get(ns: string, name: string, handler: IqHandler): void; set(ns: string, name: string, handler: IqHandler): void } };

export interface ConferenceParticipant {
  client: XmppClient;
  inbox: Element[];
  /** Jingle requests received, in order. */
  jingle: Jingle[];
}

export interface JoinOptions {
  features?: readonly string[];
  /** Sent as `<stats-id>` in the join presence. */
  statsId?: string;
  /** Where and how to log in. Default: anonymously on meet.jitsi (authentication off). */
  login?: { domain: string; username?: string; password?: string };
  /** A JWT, on the service URL as Jitsi clients put it (`?token=`). */
  token?: string;
}

export async function joinConference(server: TestServer, room: string, nick: string, options: JoinOptions = {}): Promise<ConferenceParticipant> {
  const service = options.token ? `${server.wsUrl}?token=${encodeURIComponent(options.token)}` : server.wsUrl;
  const { client, inbox } = await connectClient({ service, ...(options.login ?? { domain: 'meet.jitsi' }) });
  const jingle: Jingle[] = [];
  const { iqCallee } = client as WithCallee;
  iqCallee.set('urn:xmpp:jingle:1', 'jingle', (ctx) => {
    jingle.push(parseJingle(ctx.element));
    return true;
  });
  const features = options.features ?? [ClientFeature.audio, ClientFeature.video, ClientFeature.sctp, ClientFeature.jsonSources];
  iqCallee.get('http://jabber.org/protocol/disco#info', 'query', () =>
    xml('query', { xmlns: 'http://jabber.org/protocol/disco#info' }, ...features.map((v) => xml('feature', { var: v }))));
  await client.iqCaller.request(xml('iq', { type: 'set', to: 'focus.meet.jitsi' }, xml('conference', { xmlns: 'http://jitsi.org/protocol/focus', room, 'machine-uid': `m-${nick}` })));
  await client.send(xml('presence', { to: `${room}/${nick}` }, xml('x', { xmlns: 'http://jabber.org/protocol/muc' }), ...(options.statsId ? [xml('stats-id', {}, options.statsId)] : [])));
  await waitForStanza(inbox, (s) => s.name === 'presence' && s.attrs.from === `${room}/${nick}`, 5000, `${nick}'s own presence`);
  return { client, inbox, jingle };
}
