/**
 * The browser client's moderation stanzas (lobby, end of meeting, A/V moderation, components and
 * room information), its lobby room for knockers and moderators, and its SCRAM-SHA-1 client
 * (RFC 5802's own example).
 */
import assert from 'node:assert/strict';
import { Element, parse } from 'ltx';
import { fieldValue, parseDataForm } from '../../../xmpp/protocol/dataform.ts';
import { parseMucAdmin, parseMucUser } from '../../../xmpp/protocol/muc-user.ts';
import { LobbyRoom } from '../../../web/client/conference/lobby-room.ts';
import type { Knocker } from '../../../web/client/conference/model.ts';
import {
  buildAvModerationApproval, buildAvModerationSwitch, buildEndConference, buildLobbyAdmission, buildLobbyRefusal,
  buildMembersOnlyRequest, buildMembershipGrant, isInvitation, parseAvModerationMessage, parseDomainComponents,
  parseJoinRefusal, parseRoomInfo,
} from '../../../web/client/conference/moderation-stanzas.ts';
import type { XmppConnection } from '../../../web/client/xmpp/connection.ts';
import { fromBase64, ScramSha1Client, toBase64 } from '../../../web/client/xmpp/scram.ts';

const ROOM = 'r@muc.meet.jitsi';
const LOBBY = 'r@lobby.meet.jitsi';

describe('web client: moderation stanzas', () => {
  it('finds the A/V moderation, end-conference and lobby components among the main domain identities', () => {
    const result = parse(`<query xmlns="http://jabber.org/protocol/disco#info">
      <identity category="server" type="im" name="Prosody"/>
      <identity category="component" type="av_moderation" name="avmoderation.meet.jitsi"/>
      <identity category="component" type="end_conference" name="endconference.meet.jitsi"/>
      <identity category="component" type="lobbyrooms" name="lobby.meet.jitsi"/>
      <feature var="urn:xmpp:ping"/></query>`);
    assert.deepEqual(parseDomainComponents(result),
      { avModeration: 'avmoderation.meet.jitsi', endConference: 'endconference.meet.jitsi', lobby: 'lobby.meet.jitsi' });
    assert.deepEqual(parseDomainComponents(parse('<query xmlns="http://jabber.org/protocol/disco#info"/>')),
      { avModeration: undefined, endConference: undefined, lobby: undefined });
  });

  it('reads members-only, the lock and the lobby room from the room disco#info', () => {
    const info = parseRoomInfo(parse(`<query xmlns="http://jabber.org/protocol/disco#info">
      <identity category="conference" type="text" name="r"/><feature var="muc_membersonly"/><feature var="muc_unsecured"/>
      <x xmlns="jabber:x:data" type="result">
        <field var="FORM_TYPE" type="hidden"><value>http://jabber.org/protocol/muc#roominfo</value></field>
        <field var="muc#roominfo_lobbyroom"><value>${LOBBY}</value></field></x></query>`));
    assert.deepEqual(info, { membersOnly: true, passwordProtected: false, lobbyRoom: LOBBY });
    const open = parseRoomInfo(parse('<query xmlns="http://jabber.org/protocol/disco#info"><feature var="muc_open"/><feature var="muc_passwordprotected"/></query>'));
    assert.deepEqual(open, { membersOnly: false, passwordProtected: true, lobbyRoom: undefined });
  });

  it('reads a members-only refusal with its lobby room (Prosody puts it next to the error)', () => {
    const refused = parseJoinRefusal(parse(`<presence from="${ROOM}/ab12" type="error">
      <x xmlns="http://jabber.org/protocol/muc"/>
      <error type="auth"><registration-required xmlns="urn:ietf:params:xml:ns:xmpp-stanzas"/></error>
      <lobbyroom xmlns="http://jitsi.org/jitmeet">${LOBBY}</lobbyroom></presence>`));
    assert.deepEqual(refused, { condition: 'registration-required', lobbyRoom: LOBBY });
    const inside = parseJoinRefusal(parse(`<presence type="error"><error type="auth"><registration-required xmlns="urn:ietf:params:xml:ns:xmpp-stanzas"/>
      <lobbyroom xmlns="http://jitsi.org/jitmeet">${LOBBY}</lobbyroom><text xmlns="urn:ietf:params:xml:ns:xmpp-stanzas">members only</text></error></presence>`));
    assert.deepEqual(inside, { condition: 'registration-required', lobbyRoom: LOBBY });
    assert.deepEqual(parseJoinRefusal(parse('<presence type="error"><error type="auth"><not-authorized xmlns="urn:ietf:params:xml:ns:xmpp-stanzas"/></error></presence>')),
      { condition: 'not-authorized', lobbyRoom: undefined });
  });

  it('turns the lobby on with the owner form (keeping the lock), makes occupants members first', () => {
    const on = buildMembersOnlyRequest(ROOM, true, true);
    assert.deepEqual([on.attrs.type, on.attrs.to], ['set', ROOM]);
    const form = parseDataForm(on.getChild('query', 'http://jabber.org/protocol/muc#owner')?.getChild('x', 'jabber:x:data') ?? assert.fail('no form'));
    assert.equal(form.type, 'submit');
    assert.equal(fieldValue(form, 'FORM_TYPE'), 'http://jabber.org/protocol/muc#roomconfig');
    assert.equal(fieldValue(form, 'muc#roomconfig_membersonly'), 'true');
    assert.equal(fieldValue(form, 'muc#roomconfig_passwordprotectedroom'), '1');
    const off = parseDataForm(buildMembersOnlyRequest(ROOM, false, false).getChild('query')?.getChild('x') ?? assert.fail('no form'));
    assert.equal(fieldValue(off, 'muc#roomconfig_membersonly'), 'false');
    assert.equal(fieldValue(off, 'muc#roomconfig_passwordprotectedroom'), undefined);
    const grant = buildMembershipGrant(ROOM, 'u@meet.jitsi');
    assert.deepEqual(parseMucAdmin(grant.getChild('query') ?? assert.fail('no query')), [{ affiliation: 'member', jid: 'u@meet.jitsi' }]);
  });

  it('admits a knocker with an invitation of its real JID to the main room and refuses with a kick in the lobby', () => {
    const admit = buildLobbyAdmission(ROOM, 'k@guest.meet.jitsi/res');
    assert.equal(admit.attrs.to, ROOM);
    assert.deepEqual(parseMucUser(admit.getChild('x') ?? assert.fail('no x')).invites, [{ to: 'k@guest.meet.jitsi/res' }]);
    const deny = buildLobbyRefusal(LOBBY, 'k1');
    assert.deepEqual([deny.attrs.type, deny.attrs.to], ['set', LOBBY]);
    assert.deepEqual(parseMucAdmin(deny.getChild('query') ?? assert.fail('no query')), [{ nick: 'k1', role: 'none' }]);
    assert.equal(isInvitation(parse(`<message from="${ROOM}"><x xmlns="http://jabber.org/protocol/muc#user"><invite from="${ROOM}/mod"/></x></message>`)), true);
    assert.equal(isInvitation(parse(`<message from="${ROOM}"><x xmlns="http://jabber.org/protocol/muc#user"><status code="104"/></x></message>`)), false);
  });

  it('sends end_conference and A/V moderation commands the way lib-jitsi-meet does', () => {
    const end = buildEndConference('endconference.meet.jitsi');
    assert.equal(end.attrs.to, 'endconference.meet.jitsi');
    assert.ok(end.getChild('end_conference'));
    const on = buildAvModerationSwitch('avmoderation.meet.jitsi', true, 'audio').getChild('av_moderation');
    assert.deepEqual(on?.attrs, { enable: 'true', mediaType: 'audio' });
    const approve = buildAvModerationApproval('avmoderation.meet.jitsi', `${ROOM}/ab12`, 'audio').getChild('av_moderation');
    assert.deepEqual(approve?.attrs, { mediaType: 'audio', jidToWhitelist: `${ROOM}/ab12` });
  });

  it('reads the A/V moderation component messages and ignores anything else', () => {
    const msg = (json: string) => parse(`<message from="avmoderation.meet.jitsi"><json-message xmlns="http://jitsi.org/jitmeet">${json}</json-message></message>`);
    assert.deepEqual(parseAvModerationMessage(msg('{"type":"av_moderation","enabled":true,"mediaType":"audio","actor":"r@muc/x","room":"r@muc"}')),
      { kind: 'enabled', mediaType: 'audio', enabled: true, actor: 'r@muc/x' });
    assert.deepEqual(parseAvModerationMessage(msg('{"type":"av_moderation","approved":true,"mediaType":"audio"}')), { kind: 'approved', mediaType: 'audio' });
    assert.deepEqual(parseAvModerationMessage(msg('{"type":"av_moderation","removed":true,"mediaType":"audio"}')), { kind: 'rejected', mediaType: 'audio' });
    assert.deepEqual(parseAvModerationMessage(msg('{"type":"av_moderation","mediaType":"audio","whitelists":{"audio":["r@muc/a",3]}}')),
      { kind: 'whitelist', mediaType: 'audio', jids: ['r@muc/a'] });
    for (const bad of ['{not json', '[]', 'null', '{"type":"speakerstats"}', '{"type":"av_moderation","mediaType":"desktop2","enabled":true}']) {
      assert.equal(parseAvModerationMessage(msg(bad)), undefined, bad);
    }
    assert.equal(parseAvModerationMessage(parse('<message><body>hi</body></message>')), undefined);
  });
});

/** A connection that records what the lobby room sends. */
function recordingConnection(): { connection: XmppConnection; sent: Element[]; iqs: Element[] } {
  const sent: Element[] = [];
  const iqs: Element[] = [];
  const connection = {
    send: (el: Element) => sent.push(el),
    iq: (el: Element) => { iqs.push(el); return Promise.resolve(new Element('iq', { type: 'result' })); },
  } as unknown as XmppConnection;
  return { connection, sent, iqs };
}

const occupant = (nick: string, name: string, jid: string, extra = '') => parse(`<presence from="${LOBBY}/${nick}">
  <nick xmlns="http://jabber.org/protocol/nick">${name}</nick>
  <x xmlns="http://jabber.org/protocol/muc#user"><item jid="${jid}" affiliation="none" role="participant"/>${extra}</x></presence>`);

describe('web client: lobby room', () => {
  it('as a moderator lists knockers (not people of the main room), admits with an invitation and refuses with a kick', () => {
    const { connection, sent, iqs } = recordingConnection();
    let knockers: readonly Knocker[] = [];
    const knocks: string[] = [];
    const lobby = new LobbyRoom(connection, LOBBY, 'moderator', 'mod1', (jid) => jid === 'other-mod@meet.jitsi/x', {
      knockers: (k) => { knockers = k; }, knock: (k) => knocks.push(k.displayName),
      denied: () => assert.fail('no denial'), admitted: () => assert.fail('no admission'), gone: () => assert.fail('not gone'),
    });
    lobby.join('Moderator');
    assert.equal(sent[0]?.attrs.to, `${LOBBY}/mod1`);
    assert.ok(sent[0]?.getChild('x', 'http://jabber.org/protocol/muc'));
    assert.equal(lobby.handle(occupant('mod1', 'Moderator', 'me@meet.jitsi/r', '<status code="110"/>')), true);
    lobby.handle(occupant('om', 'Other moderator', 'other-mod@meet.jitsi/x'));
    lobby.handle(occupant('k1', 'Kim', 'kim@guest.meet.jitsi/a'));
    lobby.handle(occupant('k2', 'Lou', 'lou@guest.meet.jitsi/b'));
    assert.deepEqual(knockers, [{ id: 'k1', displayName: 'Kim' }, { id: 'k2', displayName: 'Lou' }]);
    assert.deepEqual(knocks, ['Kim', 'Lou']);
    lobby.admit('k1', ROOM);
    const invite = sent.at(-1);
    assert.equal(invite?.attrs.to, ROOM);
    assert.equal(invite?.getChild('x')?.getChild('invite')?.attrs.to, 'kim@guest.meet.jitsi/a');
    lobby.deny('k2');
    assert.deepEqual(parseMucAdmin(iqs[0]?.getChild('query') ?? assert.fail('no kick')), [{ nick: 'k2', role: 'none' }]);
    lobby.handle(parse(`<presence from="${LOBBY}/k2" type="unavailable"><x xmlns="http://jabber.org/protocol/muc#user"><status code="307"/></x></presence>`));
    assert.deepEqual(knockers, [{ id: 'k1', displayName: 'Kim' }]);
    assert.equal(lobby.handle(parse(`<presence from="${ROOM}/x"/>`)), false, 'main room stanzas are not the lobby\'s');
    lobby.leave();
    assert.equal(sent.at(-1)?.attrs.type, 'unavailable');
    assert.deepEqual(knockers, []);
  });

  it('as a knocker reports a kick as a refusal and the lobby closing for the main room as an admission', () => {
    for (const [xml, expected] of [
      ['<status code="307"/><status code="110"/>', 'denied'],
      [`<destroy jid="${ROOM}"><reason>lobby off</reason></destroy><status code="110"/>`, 'admitted'],
      ['<destroy/><status code="110"/>', 'gone'],
    ] as const) {
      const { connection } = recordingConnection();
      const seen: string[] = [];
      const lobby = new LobbyRoom(connection, LOBBY, 'knocker', 'kn1', () => false, {
        knockers: () => seen.push('knockers'), knock: () => seen.push('knock'),
        denied: () => seen.push('denied'), admitted: () => seen.push('admitted'), gone: () => seen.push('gone'),
      });
      lobby.join('Kim');
      lobby.handle(occupant('mod', 'Moderator', 'mod@meet.jitsi/r'));
      lobby.handle(parse(`<presence from="${LOBBY}/kn1" type="unavailable"><x xmlns="http://jabber.org/protocol/muc#user">${xml}</x></presence>`));
      assert.deepEqual(seen, [expected], xml);
    }
  });
});

describe('web client: SCRAM-SHA-1', () => {
  it('computes RFC 5802 §5 example proof and checks the server signature', async () => {
    const client = new ScramSha1Client('user', 'pencil', 'fyko+d2lbbFgONRv9qkxdawL');
    assert.equal(client.first(), 'n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL');
    const final = await client.final(new TextEncoder().encode('r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096'));
    assert.equal(final, 'c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=');
    assert.equal(await client.verify(new TextEncoder().encode('v=rmF9pqV8S7suAoZWja4dJRkFsKQ=')), true);
    assert.equal(await client.verify(new TextEncoder().encode('v=AAAAAAAAAAAAAAAAAAAAAAAAAAA=')), false);
  });

  it('refuses a server nonce that does not extend ours, and absurd iteration counts', async () => {
    const client = new ScramSha1Client('user', 'pencil', 'abc');
    await assert.rejects(client.final(new TextEncoder().encode('r=xyz,s=QSXCR+Q6sek8bf92,i=4096')), /nonce/);
    await assert.rejects(client.final(new TextEncoder().encode('r=abcdef,s=QSXCR+Q6sek8bf92,i=999999999')), /challenge/);
    assert.equal(new ScramSha1Client('a,b=c', 'p', 'n').first(), 'n,,n=a=2Cb=3Dc,r=n');
    assert.equal(new TextDecoder().decode(fromBase64(toBase64('é\0x'))), 'é\0x');
  });
});

describe('web client: the host\'s token sign-in address', () => {
  const template = 'https://salon.example/auth/oidc/login?room={room}&jitsi_state={state}';

  it('fills jitsi-meet\'s {room} and {state} placeholders, or adds ?room=', async () => {
    const { tokenAuthUrlFor } = await import('../../../web/client/conference/conference-client.ts');
    const filled = new URL(tokenAuthUrlFor(template, { room: 'Réunion', tenant: undefined }, 'https://salon.example/Réunion'));
    assert.equal(filled.pathname, '/auth/oidc/login');
    assert.equal(filled.searchParams.get('room'), 'Réunion');
    assert.deepEqual(JSON.parse(filled.searchParams.get('jitsi_state') ?? ''), { room: 'Réunion' });
    const plain = new URL(tokenAuthUrlFor('/auth/oidc/login', { room: 'Team', tenant: undefined }, 'https://salon.example/Team'));
    assert.equal(plain.toString(), 'https://salon.example/auth/oidc/login?room=Team');
  });

  it('carries the room\'s tenant in {state}, or as ?tenant= when the address has no {state}', async () => {
    const { tokenAuthUrlFor } = await import('../../../web/client/conference/conference-client.ts');
    const filled = new URL(tokenAuthUrlFor(template, { room: 'Réunion', tenant: 'équipe' }, 'https://salon.example/%C3%A9quipe/R%C3%A9union'));
    assert.equal(filled.searchParams.get('room'), 'Réunion');
    assert.deepEqual(JSON.parse(filled.searchParams.get('jitsi_state') ?? ''), { room: 'Réunion', tenant: 'équipe' });
    assert.equal(filled.searchParams.has('tenant'), false, 'the state says it once');
    const plain = new URL(tokenAuthUrlFor('/auth/oidc/login', { room: 'Team', tenant: 'ops' }, 'https://salon.example/ops/Team'));
    assert.equal(plain.toString(), 'https://salon.example/auth/oidc/login?room=Team&tenant=ops');
  });
});

describe('web client: SCRAM-SHA-1 against Salon\'s server side', () => {
  it('logs in with the right password (and checks the server), is refused with a wrong one', async () => {
    const { mkdtemp, rm } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { AccountStore } = await import('../../../xmpp/accounts.ts');
    const { ScramMechanism } = await import('../../../xmpp/sasl/scram.ts');
    const dir = await mkdtemp(join(tmpdir(), 'salon-web-scram-'));
    try {
      const accounts = await AccountStore.open(join(dir, 'accounts.json'), { storage: 'scram' });
      await accounts.setPassword('alice@meet.jitsi', 'correct horse');
      const ctx = { domain: 'meet.jitsi', secure: true, remoteAddress: '127.0.0.1', query: new URLSearchParams() };
      const login = async (password: string): Promise<boolean> => {
        const client = new ScramSha1Client('alice', password);
        const server = new ScramMechanism('sha1', ctx, accounts);
        const challenge = await server.step(Buffer.from(client.first()));
        assert.equal(challenge.kind, 'challenge');
        const final = await client.final(new Uint8Array(challenge.data ?? Buffer.alloc(0)));
        try {
          const outcome = await server.step(Buffer.from(final));
          assert.equal(outcome.kind, 'success');
          return client.verify(new Uint8Array(outcome.data ?? Buffer.alloc(0)));
        } catch {
          return false;
        }
      };
      assert.equal(await login('correct horse'), true);
      assert.equal(await login('wrong horse'), false);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('web client: room moderation', () => {
  async function setup(moderator: boolean) {
    const { RoomModeration } = await import('../../../web/client/conference/room-moderation.ts');
    const { ConferenceStore } = await import('../../../web/client/conference/conference-store.ts');
    const { connection, sent, iqs } = recordingConnection();
    let current = connection;
    const store = new ConferenceStore('r');
    const calls: string[] = [];
    const moderation = new RoomModeration({
      roomJid: ROOM, domain: 'meet.jitsi', store, connection: () => current, nick: () => 'me01',
      displayName: () => 'Kim', setDisplayName: (n) => calls.push(`name ${n}`), isModerator: () => moderator,
      occupants: () => [], hasPassword: () => false, enterRoom: () => calls.push('enter'), denied: () => calls.push('denied'),
      fail: (kind) => calls.push(`fail ${kind}`), lowerHand: () => calls.push('lower hand'), ended: () => false,
    });
    /** Another connection becomes the conference's (as after a sign-in or a rejoin). */
    const use = (next: XmppConnection): void => { current = next; };
    return { moderation, store, sent, iqs, calls, use };
  }

  it('a refused join leads to the knock step; knocking joins the lobby; the room\'s invitation lets us in', async () => {
    const { moderation, store, sent, calls } = await setup(false);
    moderation.onMembersOnly(LOBBY);
    assert.deepEqual(store.state.phase, { name: 'lobby', step: 'knock' });
    moderation.knock('Kim L.');
    assert.deepEqual(store.state.phase, { name: 'lobby', step: 'waiting' });
    assert.equal(sent.at(-1)?.attrs.to, `${LOBBY}/me01`);
    assert.deepEqual(calls, ['name Kim L.']);
    moderation.onRoomMessage(parse(`<message from="${ROOM}"><x xmlns="http://jabber.org/protocol/muc#user"><invite from="${ROOM}/mod"/></x></message>`));
    assert.deepEqual(store.state.phase, { name: 'connecting' });
    assert.deepEqual(calls, ['name Kim L.', 'enter']);
  });

  it('a kick from the lobby is a refusal', async () => {
    const { moderation, calls } = await setup(false);
    moderation.onMembersOnly(LOBBY);
    moderation.knock('Kim');
    assert.equal(moderation.handle(parse(`<presence from="${LOBBY}/me01" type="unavailable"><x xmlns="http://jabber.org/protocol/muc#user"><status code="307"/><status code="110"/></x></presence>`)), true);
    assert.deepEqual(calls.slice(-1), ['denied']);
  });

  it('microphone moderation: a participant may not unmute until approved; a moderator always may', async () => {
    const { moderation, store, calls, use } = await setup(false);
    const av = (json: string) => parse(`<message from="avmoderation.meet.jitsi"><json-message xmlns="http://jitsi.org/jitmeet">${json}</json-message></message>`);
    // Component messages count only once the component is known.
    assert.equal(moderation.handle(av('{"type":"av_moderation","enabled":true,"mediaType":"audio"}')), false);
    const components = parse(`<iq type="result"><query xmlns="http://jabber.org/protocol/disco#info"><identity category="component" type="av_moderation" name="avmoderation.meet.jitsi"/></query></iq>`);
    const discovering = { iq: () => Promise.resolve(components), send: () => undefined } as unknown as XmppConnection;
    use(discovering);
    moderation.discoverComponents(discovering);
    await new Promise((r) => setImmediate(r));
    assert.equal(store.state.moderation.avModerationSupported, true);
    assert.equal(moderation.handle(av('{"type":"av_moderation","enabled":true,"mediaType":"audio","actor":"x"}')), true);
    assert.deepEqual([store.state.moderation.audioModerated, store.state.moderation.mayUnmute], [true, false]);
    assert.equal(store.state.notices.at(-1)?.kind, 'audio-moderation-on');
    moderation.handle(av('{"type":"av_moderation","approved":true,"mediaType":"audio"}'));
    assert.equal(store.state.moderation.mayUnmute, true);
    assert.deepEqual(calls, ['lower hand']);
    moderation.handle(av(`{"type":"av_moderation","mediaType":"audio","whitelists":{"audio":["${ROOM}/ab12","other@muc/x"]}}`));
    assert.deepEqual(store.state.moderation.allowedToSpeak, ['ab12']);
    moderation.handle(av('{"type":"av_moderation","enabled":false,"mediaType":"audio"}'));
    assert.deepEqual([store.state.moderation.audioModerated, store.state.moderation.mayUnmute], [false, true]);
    // Moderated and approved, then the session is replaced (rejoin): the approval was the old occupant's.
    moderation.handle(av('{"type":"av_moderation","enabled":true,"mediaType":"audio","actor":"x"}'));
    moderation.handle(av('{"type":"av_moderation","approved":true,"mediaType":"audio"}'));
    assert.equal(store.state.moderation.mayUnmute, true);
    moderation.reset();
    moderation.handle(av('{"type":"av_moderation","enabled":true,"mediaType":"audio","actor":"x"}')); // what the component tells the newcomer
    assert.deepEqual([store.state.moderation.audioModerated, store.state.moderation.mayUnmute], [true, false], 'approved again before unmuting');
  });
});
