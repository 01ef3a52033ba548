/** The browser client's room stanzas, built from the shared protocol modules. */
import assert from 'node:assert/strict';
import { parseDataForm } from '../../../xmpp/protocol/dataform.ts';
import { parseDiscoInfo } from '../../../xmpp/protocol/disco.ts';
import { buildJingle, parseJingle } from '../../../xmpp/protocol/jingle.ts';
import { parseMucAdmin } from '../../../xmpp/protocol/muc-user.ts';
import {
  buildChatMessage, buildClientDiscoInfo, buildMucAdminRequest, buildP2pDecline, buildRemoteMuteRequest, buildRoomPasswordRequest, sessionRestartRequest,
} from '../../../web/client/conference/room-stanzas.ts';

const ROOM = 'r@muc.meet.jitsi';

describe('web client: room stanzas', () => {
  it('announces Jingle RTP audio and video over ICE-UDP with DTLS, BUNDLE, RTX, transport-cc and named sources, but not SCTP', () => {
    const info = parseDiscoInfo(buildClientDiscoInfo());
    for (const f of ['urn:xmpp:jingle:apps:rtp:audio', 'urn:xmpp:jingle:apps:rtp:video', 'urn:xmpp:jingle:apps:dtls:0', 'urn:ietf:rfc:5888', 'urn:ietf:rfc:4588', 'http://jitsi.org/tcc', 'http://jitsi.org/source-name']) {
      assert.ok(info.features.includes(f), f);
    }
    assert.ok(!info.features.some((f) => f.includes('sctp')));
  });

  it('sends public messages to the room and private ones to an occupant, text as text', () => {
    const pub = buildChatMessage(ROOM, 'id1', '<b>hi</b>', 'Zoé');
    assert.deepEqual([pub.attrs.to, pub.attrs.type, pub.getChildText('body')], [ROOM, 'groupchat', '<b>hi</b>']);
    assert.equal(pub.getChild('body')?.getChildElements().length, 0);
    const priv = buildChatMessage(ROOM, 'id2', 'psst', 'Zoé', 'ab12');
    assert.deepEqual([priv.attrs.to, priv.attrs.type], [`${ROOM}/ab12`, 'chat']);
    assert.equal(priv.getChildText('nick', 'http://jabber.org/protocol/nick'), 'Zoé');
  });

  it('asks the focus occupant to mute, and the room to kick or grant ownership', () => {
    const mute = buildRemoteMuteRequest(ROOM, 'ab12');
    assert.equal(mute.attrs.to, `${ROOM}/focus`);
    assert.equal(mute.getChild('mute', 'http://jitsi.org/jitmeet/audio')?.attrs.jid, `${ROOM}/ab12`);
    const kick = buildMucAdminRequest(ROOM, { nick: 'ab12', role: 'none' });
    assert.deepEqual(parseMucAdmin(kick.getChild('query')!).map((i) => [i.nick, i.role]), [['ab12', 'none']]);
    const grant = buildMucAdminRequest(ROOM, { jid: 'u@meet.jitsi', affiliation: 'owner' });
    assert.deepEqual(parseMucAdmin(grant.getChild('query')!).map((i) => [i.jid, i.affiliation]), [['u@meet.jitsi', 'owner']]);
  });

  it('submits the room configuration with the password, and opens the room with an empty one', () => {
    const form = (password: string) => parseDataForm(buildRoomPasswordRequest(ROOM, password).getChild('query')!.getChild('x')!);
    const locked = form('s3cret');
    assert.equal(locked.type, 'submit');
    assert.deepEqual(locked.fields.find((f) => f.var === 'muc#roomconfig_roomsecret')?.values, ['s3cret']);
    assert.deepEqual(locked.fields.find((f) => f.var === 'muc#roomconfig_passwordprotectedroom')?.values, ['1']);
    assert.deepEqual(form('').fields.find((f) => f.var === 'muc#roomconfig_passwordprotectedroom')?.values, ['0']);
  });

  it('asks for a session restart naming the offer\'s bridge session, as lib-jitsi-meet', () => {
    const sent = parseJingle(buildJingle(sessionRestartRequest('sid3', 'b-77')));
    assert.deepEqual([sent.action, sent.sid, sent.reason?.condition], ['session-terminate', 'sid3', 'connectivity-error']);
    assert.deepEqual(sent.bridgeSession, { id: 'b-77', restart: true });
    const element = buildJingle(sessionRestartRequest('sid3', 'b-77')).getChild('bridge-session', 'http://jitsi.org/protocol/focus');
    assert.deepEqual([element?.attrs.id, element?.attrs.restart], ['b-77', 'true']);
    assert.deepEqual(parseJingle(buildJingle(sessionRestartRequest('sid3', undefined))).bridgeSession, { restart: true }, 'an offer without one: none named');
  });

  it('declines a peer-to-peer offer with session-terminate and <decline/>', () => {
    const iq = buildP2pDecline(`${ROOM}/ef56`, 'sid9');
    const jingle = parseJingle(iq.getChild('jingle')!);
    assert.deepEqual([iq.attrs.to, jingle.action, jingle.sid, jingle.reason?.condition], [`${ROOM}/ef56`, 'session-terminate', 'sid9', 'decline']);
  });
});
