/**
 * A participant let in from the lobby and then removed by a moderator knocks again: the kick takes
 * back the membership the invitation gave (xmpp/muc/moderation.ts), so the removed guest cannot
 * walk straight back in past the lobby (stock Prosody keeps the membership).
 */
import assert from 'node:assert/strict';
import type { Element } from 'ltx';
import { connectClient, startTestServer, stopClient, waitForStanza, xml, type TestServer, type XmppClient } from './harness.ts';

const NS_MUC = 'http://jabber.org/protocol/muc';
const NS_MUC_USER = 'http://jabber.org/protocol/muc#user';
const NS_MUC_OWNER = 'http://jabber.org/protocol/muc#owner';
const NS_MUC_ADMIN = 'http://jabber.org/protocol/muc#admin';
const NS_STANZAS = 'urn:ietf:params:xml:ns:xmpp-stanzas';
const NS_NICK = 'http://jabber.org/protocol/nick';
const ROOM = 'clinic@muc.meet.jitsi';

describe('lobby: a removed participant knocks again', function () {
  this.timeout(30_000);
  let server: TestServer;
  const clients: XmppClient[] = [];

  before(async () => {
    server = await startTestServer();
  });
  after(async () => {
    await Promise.all(clients.map(stopClient));
    await server.close();
  });

  async function join(p: { client: XmppClient; inbox: Element[] }, occupantJid: string): Promise<Element> {
    const seen = p.inbox.length;
    await p.client.send(xml('presence', { to: occupantJid }, xml('x', { xmlns: NS_MUC }), xml('nick', { xmlns: NS_NICK }, 'Visitor')));
    return waitForStanza(p.inbox, (s) => s.name === 'presence' && s.attrs.from === occupantJid && p.inbox.indexOf(s) >= seen, 5000, `answer from ${occupantJid}`);
  }

  it('takes back the membership an admission gave when the moderator removes the guest', async () => {
    const host = await connectClient({ service: server.wsUrl, domain: 'meet.jitsi' });
    clients.push(host.client);
    await host.client.iqCaller.request(xml('iq', { type: 'set', to: 'focus.meet.jitsi' }, xml('conference', { xmlns: 'http://jitsi.org/protocol/focus', room: ROOM, 'machine-uid': 'm-host' })));
    await join(host, `${ROOM}/host`);
    await waitForStanza(host.inbox, (s) => s.attrs.from === `${ROOM}/host` && s.getChild('x', NS_MUC_USER)?.getChild('item')?.attrs.affiliation === 'owner', 5000, 'host made owner');
    await host.client.iqCaller.request(xml('iq', { type: 'set', to: ROOM }, xml('query', { xmlns: NS_MUC_OWNER }, xml('x', { xmlns: 'jabber:x:data', type: 'submit' },
      xml('field', { var: 'FORM_TYPE' }, xml('value', {}, 'http://jabber.org/protocol/muc#roomconfig')),
      xml('field', { var: 'muc#roomconfig_membersonly' }, xml('value', {}, 'true'))))));

    const guest = await connectClient({ service: server.wsUrl, domain: 'meet.jitsi' });
    clients.push(guest.client);
    const knocked = await join(guest, `${ROOM}/guest`);
    assert.ok(knocked.getChild('error')?.getChild('registration-required', NS_STANZAS), 'the guest must knock');

    // Admitted by the host's invitation (what the lobby's Admit sends), the guest enters.
    await host.client.send(xml('message', { to: ROOM }, xml('x', { xmlns: NS_MUC_USER }, xml('invite', { to: guest.jid }))));
    await waitForStanza(guest.inbox, (s) => s.name === 'message' && s.getChild('x', NS_MUC_USER)?.getChild('invite') !== undefined, 5000, 'the invitation');
    const entered = await join(guest, `${ROOM}/guest`);
    assert.equal(entered.attrs.type, undefined, 'admitted');

    await host.client.iqCaller.request(xml('iq', { type: 'set', to: ROOM }, xml('query', { xmlns: NS_MUC_ADMIN }, xml('item', { nick: 'guest', role: 'none' }))));
    await waitForStanza(guest.inbox, (s) => s.attrs.from === `${ROOM}/guest` && s.attrs.type === 'unavailable', 5000, 'the kick');
    const again = await join(guest, `${ROOM}/guest`);
    assert.ok(again.getChild('error')?.getChild('registration-required', NS_STANZAS), 'the removed guest knocks again');
  });
});
