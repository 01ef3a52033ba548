/**
 * Guessing a room's password is throttled (xmpp/muc/service.ts joinGuardingPassword): after 5
 * wrong passwords from one address, further attempts on that room, even with the right password,
 * are refused unchecked (`policy-violation`, type wait) until the allowance comes back; someone
 * from another address still gets in with the password, and the guesser's other rooms are not
 * affected. A moderator's own room stays reachable for the people it gave the password to.
 */
import assert from 'node:assert/strict';
import type { Element } from 'ltx';
import { joinConference } from './conference-participant.ts';
import { startTestServer, stopClient, waitForStanza, xml, type TestServer, type XmppClient } from './harness.ts';
import { RawWsClient } from './raw-client.ts';

const NS_MUC = 'http://jabber.org/protocol/muc';
const NS_MUC_OWNER = 'http://jabber.org/protocol/muc#owner';
const NS_STANZAS = 'urn:ietf:params:xml:ns:xmpp-stanzas';

function lockForm(room: string, secret: string): Element {
  return xml('iq', { type: 'set', to: room }, xml('query', { xmlns: NS_MUC_OWNER }, xml('x', { xmlns: 'jabber:x:data', type: 'submit' },
    xml('field', { var: 'FORM_TYPE' }, xml('value', {}, 'http://jabber.org/protocol/muc#roomconfig')),
    xml('field', { var: 'muc#roomconfig_roomsecret' }, xml('value', {}, secret)),
    xml('field', { var: 'muc#roomconfig_passwordprotectedroom' }, xml('value', {}, '1')))));
}

describe('room passwords: guessing is throttled per address', function () {
  this.timeout(30_000);
  let server: TestServer;
  const clients: XmppClient[] = [];
  const raws: RawWsClient[] = [];

  before(async () => {
    server = await startTestServer();
  });
  after(async () => {
    raws.forEach((r) => r.close());
    await Promise.all(clients.map(stopClient));
    await server.close();
  });

  it('refuses a guesser after 5 wrong passwords, even with the right one, and lets others in', async () => {
    const room = 'vault@muc.meet.jitsi';
    const other = 'open@muc.meet.jitsi';
    const owner = await joinConference(server, room, 'owner');
    clients.push(owner.client);
    await waitForStanza(owner.inbox, (s) => s.name === 'presence' && s.attrs.from === `${room}/owner`
      && s.getChild('x', 'http://jabber.org/protocol/muc#user')?.getChild('item')?.attrs.affiliation === 'owner', 5000, 'owner');
    await owner.client.iqCaller.request(lockForm(room, 'correct horse'));
    const host2 = await joinConference(server, other, 'host2');
    clients.push(host2.client);

    const guesser = new RawWsClient(server.wsUrl, { localAddress: '127.0.0.2' });
    raws.push(guesser);
    await guesser.loginAnonymous();
    let n = 0;
    const attempt = async (target: string, password: string | undefined): Promise<Element> => {
      const id = `try${++n}`;
      const x = xml('x', { xmlns: NS_MUC }, ...(password !== undefined ? [xml('password', {}, password)] : []));
      guesser.send(xml('presence', { xmlns: 'jabber:client', to: `${target}/guess${n}`, id }, x).toString());
      return guesser.waitFor((e) => e.name === 'presence' && (e.attrs.id === id || e.attrs.from === `${target}/guess${n}`), 5000, `answer to ${id}`);
    };
    for (let i = 0; i < 5; i++) {
      const answer = await attempt(room, `guess ${i}`);
      assert.equal(answer.attrs.type, 'error');
      assert.ok(answer.getChild('error')?.getChild('not-authorized', NS_STANZAS), `wrong password ${i} is not-authorized`);
    }
    const throttled = await attempt(room, 'correct horse');
    assert.equal(throttled.attrs.type, 'error', 'the right password is not even checked now');
    const error = throttled.getChild('error')!;
    assert.equal(error.attrs.type, 'wait');
    assert.ok(error.getChild('policy-violation', NS_STANZAS));
    assert.match(error.getChildText('text', NS_STANZAS) ?? '', /too many wrong passwords for this room: try again in \d+ s/);

    // The guesser's other rooms are not affected.
    const elsewhere = await attempt(other, undefined);
    assert.notEqual(elsewhere.attrs.type, 'error', 'an open room still lets the guesser in');

    // Someone from another address gets in with the password.
    const friend = new RawWsClient(server.wsUrl);
    raws.push(friend);
    await friend.loginAnonymous();
    friend.send(xml('presence', { xmlns: 'jabber:client', to: `${room}/friend`, id: 'f1' }, xml('x', { xmlns: NS_MUC }, xml('password', {}, 'correct horse'))).toString());
    const admitted = await friend.waitFor((e) => e.name === 'presence' && e.attrs.from === `${room}/friend`, 5000, 'friend joined');
    assert.notEqual(admitted.attrs.type, 'error');
  });

  it('counts wrong passwords that would skip a lobby, and never holds up a member', async () => {
    const room = 'guarded@muc.meet.jitsi';
    const owner = await joinConference(server, room, 'owner');
    clients.push(owner.client);
    await waitForStanza(owner.inbox, (s) => s.name === 'presence' && s.attrs.from === `${room}/owner`
      && s.getChild('x', 'http://jabber.org/protocol/muc#user')?.getChild('item')?.attrs.affiliation === 'owner', 5000, 'owner');
    await owner.client.iqCaller.request(lockForm(room, 'correct horse'));
    await owner.client.iqCaller.request(xml('iq', { type: 'set', to: room }, xml('query', { xmlns: NS_MUC_OWNER }, xml('x', { xmlns: 'jabber:x:data', type: 'submit' },
      xml('field', { var: 'FORM_TYPE' }, xml('value', {}, 'http://jabber.org/protocol/muc#roomconfig')),
      xml('field', { var: 'muc#roomconfig_membersonly' }, xml('value', {}, '1'))))));

    // A member from the guesser's address, made one before the guessing starts.
    const member = new RawWsClient(server.wsUrl, { localAddress: '127.0.0.3' });
    raws.push(member);
    const memberJid = await member.loginAnonymous();
    await owner.client.iqCaller.request(xml('iq', { type: 'set', to: room }, xml('query', { xmlns: 'http://jabber.org/protocol/muc#admin' },
      xml('item', { affiliation: 'member', jid: memberJid.split('/')[0] }))));

    const guesser = new RawWsClient(server.wsUrl, { localAddress: '127.0.0.3' });
    raws.push(guesser);
    await guesser.loginAnonymous();
    const attempt = async (n: number, password: string): Promise<Element> => {
      guesser.send(xml('presence', { xmlns: 'jabber:client', to: `${room}/g${n}`, id: `g${n}` }, xml('x', { xmlns: NS_MUC }, xml('password', {}, password)),
        xml('nick', { xmlns: 'http://jabber.org/protocol/nick' }, 'Guesser')).toString());
      return guesser.waitFor((e) => e.name === 'presence' && (e.attrs.id === `g${n}` || e.attrs.from === `${room}/g${n}`), 5000, `answer ${n}`);
    };
    for (let i = 0; i < 5; i++) {
      const answer = await attempt(i, `guess ${i}`);
      assert.ok(answer.getChild('error')?.getChild('registration-required', NS_STANZAS), 'a wrong password means knocking');
    }
    const throttled = await attempt(5, 'correct horse');
    assert.ok(throttled.getChild('error')?.getChild('policy-violation', NS_STANZAS), 'the right password is not even checked now');

    // The member, from the same address, enters without a password.
    member.send(xml('presence', { xmlns: 'jabber:client', to: `${room}/member` }, xml('x', { xmlns: NS_MUC })).toString());
    const entered = await member.waitFor((e) => e.name === 'presence' && e.attrs.from === `${room}/member`, 5000, 'member joined');
    assert.notEqual(entered.attrs.type, 'error');
  });
});
