/**
 * The shared document end to end: a real server, real XMPP participants in real conferences, the
 * editor's sharedb client over a real WebSocket, and raw sockets for what a hostile client sends.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join as joinPath } from 'node:path';
import { NS_ETHERPAD } from '../../xmpp/protocol/salon-document.ts';
import { NS_MUC_ADMIN, NS_MUC_USER } from '../../xmpp/protocol/muc-user.ts';
import { PadCloseCode, PadErrorCode } from '../../web/client/doc/wire.ts';
import { joinConference, type ConferenceParticipant } from './conference-participant.ts';
import { connectClient, startTestServer, stopClient, waitForStanza, xml, type TestServer, type XmppClient } from './harness.ts';
import { etherpadName, etherpadNames, RawSocket, requestDocument, socketUrl, TestEditor, waitFor } from './pad-client.ts';

describe('shared document (integration)', function () {
  this.timeout(60_000);
  let server: TestServer;
  let clients: XmppClient[];
  let editors: TestEditor[];
  let sockets: RawSocket[];
  let roomCount = 0;

  before(async () => {
    server = await startTestServer();
  });
  after(async () => {
    await server?.close();
  });

  beforeEach(() => {
    clients = [];
    editors = [];
    sockets = [];
  });

  afterEach(async () => {
    for (const e of editors) e.close();
    for (const s of sockets) s.close();
    await Promise.all(clients.map(stopClient));
    // Every conference ends with its last participant, and its document with it.
    await waitFor(() => server.salon.focus.conferences.size === 0, 'the conferences to end');
    const pad = server.salon.pad!;
    await waitFor(() => pad.stats().agents === 0, 'the document connections to close');
    assert.deepEqual(pad.stats(), { documents: 0, connections: 0, agents: 0, stored: 0 });
  });

  const newRoom = (): string => `pad${++roomCount}-${Date.now().toString(36)}@muc.meet.jitsi`;

  async function join(room: string, nick: string): Promise<ConferenceParticipant> {
    const participant = await joinConference(server, room, nick);
    clients.push(participant.client);
    return participant;
  }
  /** Alice in one conference and Bob in another, each with the focus's grant for their room's document. */
  async function twoRooms() {
    const roomA = newRoom();
    const roomB = newRoom();
    const alice = await join(roomA, 'alice');
    const bob = await join(roomB, 'bob');
    const a = await requestDocument(alice.client, roomA);
    const b = await requestDocument(bob.client, roomB);
    return { roomA, roomB, alice, bob, a, b };
  }


  function editor(path: string, token?: string): TestEditor {
    const e = new TestEditor(socketUrl(server, path), token);
    editors.push(e);
    return e;
  }

  function raw(path: string, headers: Record<string, string> = {}): RawSocket {
    const s = new RawSocket(socketUrl(server, path), headers);
    sockets.push(s);
    return s;
  }

  const withToken = (path: string, token: string): string => `${path}?token=${encodeURIComponent(token)}`;

  it('gives a participant a token for the room\'s document and refuses a session that is not in the room', async () => {
    const room = newRoom();
    const alice = await join(room, 'alice');
    const grant = await requestDocument(alice.client, room);
    assert.equal(grant.room, room);
    assert.match(grant.path, /^\/pad\/[A-Za-z0-9_-]{16}$/);
    const lifetime = Date.parse(grant.expires) - Date.now();
    assert.ok(lifetime > 50_000 && lifetime <= 60_000, `a token lives about 60 s, not ${lifetime} ms`);

    const { client: outsider } = await connectClient({ service: server.wsUrl, domain: 'meet.jitsi' });
    clients.push(outsider);
    await assert.rejects(requestDocument(outsider, room), (err: { condition?: string }) => err.condition === 'forbidden');
    await assert.rejects(requestDocument(outsider, 'nosuchroom@muc.meet.jitsi'), (err: { condition?: string }) => err.condition === 'forbidden');

    const e = editor(grant.path, grant.token);
    await e.synced();
    assert.equal(e.text, '\n', 'a new document is empty (a lone newline, as Quill has it)');
  });

  it('refuses forged, expired, missing and other-room tokens, wrong capabilities and foreign origins at the WebSocket', async () => {
    const { roomA, roomB, alice, bob, a, b } = await twoRooms();
    const docA = a.path.slice('/pad/'.length);

    const [payload, mac] = a.token.split('.') as [string, string];
    const forged = `${payload}.${mac.startsWith('A') ? 'B' : 'A'}${mac.slice(1)}`;
    const expired = server.salon.pad!.tokens.mint({ doc: docA, room: roomA, occupant: `${roomA}/alice` }, -1).token;
    const refusals = {
      forged: raw(withToken(a.path, forged)),
      expired: raw(withToken(a.path, expired)),
      'other room': raw(withToken(a.path, b.token)),
      missing: raw(a.path),
    };
    for (const [what, socket] of Object.entries(refusals)) {
      const outcome = await socket.ended();
      assert.equal(outcome.closeCode, PadCloseCode.refused, `${what} token: ${JSON.stringify(outcome)}`);
      assert.deepEqual(socket.received, [], `${what} token: nothing of the document is sent`);
    }
    assert.equal(refusals.expired.outcome.closeReason, 'token expired');

    const name = etherpadName(alice.inbox, roomA);
    assert.ok(name);
    const wrongSecret = raw(`/pad/${docA}.${'A'.repeat(22)}`);
    const unknownDoc = raw(`/pad/${'Z'.repeat(16)}.${name.split('.')[1]}`);
    for (const socket of [wrongSecret, unknownDoc]) assert.equal((await socket.ended()).closeCode, PadCloseCode.gone);

    const crossSite = raw(withToken(a.path, a.token), { Origin: 'https://evil.example' });
    assert.equal((await crossSite.ended()).httpStatus, 403);

    // The genuine token still opens its own document.
    const e = editor(a.path, a.token);
    await e.synced();
  });

  it('converges three clients typing at once to the same text holding everyone\'s words', async () => {
    const room = newRoom();
    const nicks = ['alice', 'bob', 'carol'];
    const participants = [];
    for (const nick of nicks) participants.push(await join(room, nick));
    const grants = await Promise.all(participants.map((p) => requestDocument(p.client, room)));
    assert.equal(new Set(grants.map((g) => g.path)).size, 1, 'one document per conference');
    const three = grants.map((g) => editor(g.path, g.token));
    await Promise.all(three.map((e) => e.synced()));

    // Everyone types 20 words in the same turn of the event loop, at the start, the end and in between.
    for (let i = 0; i < 20; i++) {
      three.forEach((e, n) => {
        const text = e.text;
        // Between two words (a word split by another's insert could not be found again).
        const middle = text.lastIndexOf(' ', Math.floor(text.length / 2)) + 1;
        const at = i % 3 === 0 ? 0 : i % 3 === 1 ? text.length - 1 : middle;
        assert.equal(e.insert(at, `${nicks[n]}${i} `), true);
      });
    }
    const words = nicks.flatMap((nick) => Array.from({ length: 20 }, (_, i) => `${nick}${i} `));
    await waitFor(() => three.every((e) => !e.sync.hasPending && e.text === three[0]!.text), 'the three texts to converge');
    for (const word of words) assert.ok(three[0]!.text.includes(word), `"${word}" in ${JSON.stringify(three[0]!.text)}`);
    assert.equal(three[0]!.text.length, words.join('').length + 1);
    assert.deepEqual(three[1]!.sync.content?.ops, three[0]!.sync.content?.ops);
    assert.deepEqual(three[2]!.sync.content?.ops, three[0]!.sync.content?.ops);

    // A latecomer loads the same text from the server.
    const late = editor(grants[0]!.path, (await requestDocument(participants[0]!.client, room)).token);
    await late.synced();
    assert.equal(late.text, three[0]!.text);
  });

  it('announces the document name to occupants and serves it to the capability while the conference lasts', async () => {
    const room = newRoom();
    const alice = await join(room, 'alice');
    const name = etherpadName(alice.inbox, room);
    assert.ok(name, 'the focus presence carries <etherpad>');
    assert.match(name, /^[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]{22}$/);

    for (const path of ['/config.js', '/sometenant/config.js']) {
      const configJs = await (await fetch(`${server.httpOrigin}${path}`)).text();
      assert.ok(configJs.includes(`"etherpad_base": "${server.httpOrigin}/etherpad/p/"`), `${path}: ${configJs}`);
    }
    const page = await fetch(`${server.httpOrigin}/etherpad/p/${name}`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type') ?? '', /text\/html/);

    const grant = await requestDocument(alice.client, room);
    assert.ok(!grant.path.includes(name.split('.')[1]!), 'the token path does not carry the capability');
    const viaToken = editor(grant.path, grant.token);
    const viaName = editor(`/pad/${name}`);
    await Promise.all([viaToken.synced(), viaName.synced()]);
    viaName.insert(0, 'from jitsi-meet ');
    await waitFor(() => viaToken.text === 'from jitsi-meet \n', 'the capability client\'s text to reach the token client');
  });

  it('closes a leaving occupant\'s connections, and when the conference ends destroys the document for good', async () => {
    const room = newRoom();
    const alice = await join(room, 'alice');
    const bob = await join(room, 'bob');
    const name = etherpadName(alice.inbox, room)!;
    const aliceGrant = await requestDocument(alice.client, room);
    const bobGrant = await requestDocument(bob.client, room);
    const docId = aliceGrant.path.slice('/pad/'.length);
    const aliceEditor = editor(aliceGrant.path, aliceGrant.token);
    const bobEditor = editor(bobGrant.path, bobGrant.token);
    const guest = editor(`/pad/${name}`);
    await Promise.all([aliceEditor, bobEditor, guest].map((e) => e.synced()));
    aliceEditor.insert(0, 'confidential notes');
    await waitFor(() => guest.text.startsWith('confidential notes'), 'the notes to reach the guest');

    await bob.client.send(xml('presence', { to: `${room}/bob`, type: 'unavailable' }));
    await waitFor(() => bobEditor.status === 'refused', 'bob\'s connection to close when he leaves');
    assert.equal(aliceEditor.status, 'synced');
    const bobAgain = raw(withToken(bobGrant.path, bobGrant.token));
    assert.equal((await bobAgain.ended()).closeCode, PadCloseCode.refused, 'a token of an occupant who left no longer opens');

    const pad = server.salon.pad!;
    assert.equal(pad.holds(docId), true);
    await alice.client.send(xml('presence', { to: `${room}/alice`, type: 'unavailable' }));
    // Alice's own connection closes as she leaves; the guest's because the conference ended.
    await waitFor(() => aliceEditor.status === 'refused' && guest.status === 'ended', 'every connection to close as the conference ends');
    assert.equal(pad.holds(docId), false, 'the backend keeps nothing of the document');
    await waitFor(() => pad.stats().agents === 0, 'the sharedb agents to close');
    assert.deepEqual(pad.stats(), { documents: 0, connections: 0, agents: 0, stored: 0 });

    // A new conference in the same room: a new, empty document under a new name.
    const carol = await join(room, 'carol');
    const newName = etherpadName(carol.inbox, room);
    assert.ok(newName && newName !== name, 'a new document name');
    const carolGrant = await requestDocument(carol.client, room);
    assert.notEqual(carolGrant.path, aliceGrant.path);
    const fresh = editor(carolGrant.path, carolGrant.token);
    await fresh.synced();
    assert.equal(fresh.text, '\n');

    const oldToken = raw(withToken(aliceGrant.path, aliceGrant.token));
    const oldName = raw(`/pad/${name}`);
    const oldTokenNewDoc = raw(withToken(carolGrant.path, aliceGrant.token));
    assert.equal((await oldToken.ended()).closeCode, PadCloseCode.gone);
    assert.equal((await oldName.ended()).closeCode, PadCloseCode.gone);
    assert.equal((await oldTokenNewDoc.ended()).closeCode, PadCloseCode.refused);
  });

  it('renews the document name when a participant is kicked or banned: connections through the old name close, it opens nothing more, the room gets the new one', async () => {
    const room = newRoom();
    const alice = await join(room, 'alice');
    // The focus makes the first participant owner (Jicofo's auto-owner rule): she may kick and ban.
    await waitForStanza(alice.inbox, (s) => s.name === 'presence' && s.attrs.from === `${room}/alice`
      && s.getChild('x', NS_MUC_USER)?.getChild('item')?.attrs.affiliation === 'owner', 5000, 'alice to be made owner');
    const bob = await join(room, 'bob');
    const carol = await join(room, 'carol');
    const name = etherpadName(bob.inbox, room)!;
    const aliceGrant = await requestDocument(alice.client, room);
    const bobGrant = await requestDocument(bob.client, room);
    const aliceEditor = editor(aliceGrant.path, aliceGrant.token);
    const bobEditor = editor(bobGrant.path, bobGrant.token);
    const bobViaName = editor(`/pad/${name}`);
    const honestViaName = editor(`/pad/${name}`);
    await Promise.all([aliceEditor, bobEditor, bobViaName, honestViaName].map((e) => e.synced()));
    aliceEditor.insert(0, 'before the kick ');
    await waitFor(() => bobViaName.text === 'before the kick \n', 'the text to reach the capability clients');

    await alice.client.iqCaller.request(xml('iq', { type: 'set', to: room }, xml('query', { xmlns: NS_MUC_ADMIN }, xml('item', { nick: 'bob', role: 'none' }))));
    await waitFor(() => bobEditor.status === 'refused', 'the kicked participant\'s token connection to close');
    // Every connection through the old name closes: the kicked one's cannot be told from the others'.
    await waitFor(() => bobViaName.status === 'refused' && honestViaName.status === 'refused', 'the connections through the old name to close');
    assert.equal(aliceEditor.status, 'synced', 'token connections of those who stay are untouched');

    await waitFor(() => etherpadNames(alice.inbox, room).length === 2 && etherpadNames(carol.inbox, room).length === 2, 'the new name to reach the occupants left');
    const renamed = etherpadName(alice.inbox, room)!;
    assert.notEqual(renamed, name);
    assert.equal(renamed.split('.')[0], name.split('.')[0], 'the same document');
    assert.equal(etherpadName(carol.inbox, room), renamed);
    assert.ok(!bob.inbox.some((s) => s.getChild('etherpad', NS_ETHERPAD)?.getText().trim() === renamed), 'the kicked participant never sees the new name');

    const oldName = raw(`/pad/${name}`);
    const outcome = await oldName.ended();
    assert.equal(outcome.closeCode, PadCloseCode.refused, JSON.stringify(outcome));
    assert.deepEqual(oldName.received, [], 'nothing of the document through the old name');
    const reopened = editor(`/pad/${renamed}`);
    await reopened.synced();
    assert.equal(reopened.text, 'before the kick \n', 'the new name opens the same document');

    // A ban renews it again.
    const carolJid = carol.client.jid!.toString().split('/')[0]!;
    await alice.client.iqCaller.request(xml('iq', { type: 'set', to: room }, xml('query', { xmlns: NS_MUC_ADMIN }, xml('item', { affiliation: 'outcast', jid: carolJid }))));
    await waitFor(() => reopened.status === 'refused', 'the connection through the second name to close after the ban');
    await waitFor(() => etherpadNames(alice.inbox, room).length === 3, 'a third name');
    assert.equal((await raw(`/pad/${renamed}`).ended()).closeCode, PadCloseCode.refused);
    assert.equal(aliceEditor.status, 'synced');
  });

  it('caps the connections of one occupant and through the name, and cuts off a connection that keeps re-reading the document', async () => {
    const room = newRoom();
    const alice = await join(room, 'alice');
    const name = etherpadName(alice.inbox, room)!;
    const grant = await requestDocument(alice.client, room);
    const tabs = [1, 2, 3, 4].map(() => editor(grant.path, grant.token));
    await Promise.all(tabs.map((e) => e.synced()));
    const fifth = raw(withToken(grant.path, grant.token));
    const refusal = await fifth.ended();
    assert.equal(refusal.closeCode, PadCloseCode.refused, JSON.stringify(refusal));
    assert.match(refusal.closeReason ?? '', /too many connections/);
    tabs[0]!.close();
    await waitFor(() => server.salon.pad!.stats().connections === 3, 'the closed tab to be gone');
    const again = editor(grant.path, grant.token);
    await again.synced();

    const viaName: RawSocket[] = [];
    for (let i = 0; i < 50; i++) viaName.push(raw(`/pad/${name}`));
    assert.ok((await Promise.all(viaName.map((s) => s.opened))).every(Boolean));
    await waitFor(() => server.salon.pad!.stats().connections === 54, 'fifty connections through the name');
    const beyond = await raw(`/pad/${name}`).ended();
    assert.equal(beyond.closeCode, PadCloseCode.refused, JSON.stringify(beyond));
    for (const s of viaName) s.close();
    await waitFor(() => server.salon.pad!.stats().connections === 4, 'the connections through the name to be gone');

    const reader = raw(`/pad/${name}`);
    assert.equal(await reader.opened, true);
    reader.send({ a: 'hs', id: null, protocol: 1, protocolMinor: 2 });
    for (let i = 0; i < 30; i++) reader.send({ a: 'f', c: 'pad', d: grant.path.slice('/pad/'.length) });
    assert.equal((await reader.ended()).closeCode, 1008);
    const answered = reader.received.filter((m) => m.a === 'f' && m.data).length;
    assert.ok(answered >= 1 && answered <= 10, `${answered} reads answered: the burst at most`);
    assert.equal(again.status, 'synced');
  });

  it('lets a connection read and write its own document only', async () => {
    const { roomA, roomB, alice, bob, a, b } = await twoRooms();
    const docB = b.path.slice('/pad/'.length);
    const bobEditor = editor(b.path, b.token);
    await bobEditor.synced();
    bobEditor.insert(0, 'bob only');
    await waitFor(() => bobEditor.text === 'bob only\n' && !bobEditor.sync.hasPending, 'bob\'s text to be stored');

    const intruder = raw(withToken(a.path, a.token));
    assert.equal(await intruder.opened, true);
    intruder.send({ a: 'hs', id: null, protocol: 1, protocolMinor: 2 });
    intruder.send({ a: 'f', c: 'pad', d: docB });
    intruder.send({ a: 's', c: 'pad', d: docB });
    intruder.send({ a: 'op', c: 'pad', d: docB, v: 1, src: 'x', seq: 1, op: [{ insert: 'pwned ' }] });
    intruder.send({ a: 'qf', id: 1, c: 'pad', q: {} });
    intruder.send({ a: 'nf', id: 2, c: 'pad', d: docB, v: null });
    intruder.send({ a: 'bs', c: 'pad', b: [docB] });
    intruder.send({ a: 'op', c: 'pad', d: a.path.slice('/pad/'.length), v: 1, src: 'x', seq: 2, del: true });
    await waitFor(() => intruder.received.filter((m) => m.error).length === 7, 'seven refusals');
    for (const reply of intruder.received.filter((m) => m.error)) {
      assert.equal((reply.error as { code: string }).code, PadErrorCode.forbidden, JSON.stringify(reply));
      assert.equal(reply.data, undefined, 'no document data in a refusal');
    }
    assert.ok(!intruder.received.some((m) => JSON.stringify(m).includes('bob only')), 'nothing of the other document reached the intruder');
    const check = editor(b.path, (await requestDocument(bob.client, roomB)).token);
    await check.synced();
    assert.equal(check.text, 'bob only\n');
  });

  it('refuses an op under another participant\'s source, and a handshake taking it: nobody can censor another\'s edits', async () => {
    const room = newRoom();
    const alice = await join(room, 'alice');
    const bob = await join(room, 'bob');
    const mallory = await join(room, 'mallory');
    const aliceGrant = await requestDocument(alice.client, room);
    const aliceEditor = editor(aliceGrant.path, aliceGrant.token);
    const bobEditor = editor(aliceGrant.path, (await requestDocument(bob.client, room)).token);
    await Promise.all([aliceEditor.synced(), bobEditor.synced()]);
    const docId = aliceGrant.path.slice('/pad/'.length);
    const spy = raw(withToken(aliceGrant.path, (await requestDocument(mallory.client, room)).token));
    assert.equal(await spy.opened, true);
    spy.send({ a: 'hs', id: null, protocol: 1, protocolMinor: 2 });
    spy.send({ a: 's', c: 'pad', d: docId });
    await waitFor(() => spy.received.some((m) => m.a === 's'), 'subscribed');
    assert.equal(aliceEditor.insert(0, 'agenda '), true);
    await waitFor(() => spy.received.some((m) => m.a === 'op' && m.src), 'alice\'s op, and its source, seen');
    const seen = spy.received.filter((m) => m.a === 'op' && m.src).at(-1)!;
    spy.send({ a: 'op', c: 'pad', d: docId, v: (seen.v as number) + 1, src: seen.src, seq: (seen.seq as number) + 1, op: [{ retain: 7 }, { insert: 'REJECTED ' }] });
    await waitFor(() => spy.received.some((m) => m.a === 'op' && m.error), 'the forged op refused');
    assert.equal((spy.received.find((m) => m.a === 'op' && m.error)!.error as { code: string }).code, PadErrorCode.forbidden);
    // A second connection naming alice's source in its handshake is refused too.
    const thief = raw(withToken(aliceGrant.path, (await requestDocument(mallory.client, room)).token));
    assert.equal(await thief.opened, true);
    thief.send({ a: 'hs', id: seen.src, protocol: 1, protocolMinor: 2 });
    await waitFor(() => thief.received.some((m) => m.a === 'hs'), 'the handshake answered');
    assert.ok(thief.received.find((m) => m.a === 'hs')!.error, 'refused');
    // Alice's next edit is applied, and everyone has the same text.
    assert.equal(aliceEditor.insert(7, 'APPROVED '), true);
    await waitFor(() => bobEditor.text === 'agenda APPROVED \n', 'bob sees alice\'s edit');
    assert.equal(aliceEditor.text, bobEditor.text);
  });

  it('counts what one participant sends over all its connections: a new connection after a flood brings no fresh allowance', async () => {
    const room = newRoom();
    const alice = await join(room, 'alice');
    const bob = await join(room, 'bob');
    const aliceGrant = await requestDocument(alice.client, room);
    const aliceEditor = editor(aliceGrant.path, aliceGrant.token);
    await aliceEditor.synced();
    const first = raw(withToken(aliceGrant.path, (await requestDocument(bob.client, room)).token));
    assert.equal(await first.opened, true);
    for (let i = 0; i < 1000; i++) first.send({ a: 'pp' });
    assert.equal((await first.ended()).closeCode, 1008);
    // At once, a new token and connection: 100 messages, half the burst a fresh allowance would take.
    const second = raw(withToken(aliceGrant.path, (await requestDocument(bob.client, room)).token));
    assert.equal(await second.opened, true);
    for (let i = 0; i < 100; i++) second.send({ a: 'pp' });
    assert.equal((await second.ended()).closeCode, 1008, 'its allowance was spent by the first');
    // Another participant's is its own.
    assert.equal(aliceEditor.insert(0, 'still mine '), true);
  });

  it('cuts off a client that floods or sends an oversized message, refuses an op that makes the document too large, and others keep editing', async () => {
    const room = newRoom();
    const alice = await join(room, 'alice');
    const bob = await join(room, 'bob');
    const aliceGrant = await requestDocument(alice.client, room);
    const aliceEditor = editor(aliceGrant.path, aliceGrant.token);
    const watcher = editor(aliceGrant.path, (await requestDocument(bob.client, room)).token);
    await Promise.all([aliceEditor.synced(), watcher.synced()]);

    const flooder = raw(withToken(aliceGrant.path, (await requestDocument(bob.client, room)).token));
    assert.equal(await flooder.opened, true);
    for (let i = 0; i < 1000; i++) flooder.send({ a: 'pp' });
    assert.equal((await flooder.ended()).closeCode, 1008);

    const giant = raw(withToken(aliceGrant.path, (await requestDocument(bob.client, room)).token));
    assert.equal(await giant.opened, true);
    giant.send(JSON.stringify({ a: 'op', c: 'pad', d: aliceGrant.path.slice(5), v: 1, op: [{ insert: 'x'.repeat(3 * 1024 * 1024) }] }));
    assert.equal((await giant.ended()).closeCode, 1009);

    // An op over the document limit (1 Mi characters) is refused with its own code; the content is reloaded.
    assert.equal(aliceEditor.insert(0, 'y'.repeat(1024 * 1024 + 1)), true);
    await waitFor(() => aliceEditor.refusals.includes(PadErrorCode.tooLarge), 'the too-large refusal');
    await waitFor(() => aliceEditor.text === '\n' && aliceEditor.status === 'synced', 'the refused op to be rolled back');

    aliceEditor.insert(0, 'still editing');
    await waitFor(() => watcher.text === 'still editing\n', 'the next edit to reach the other client');
    assert.equal(aliceEditor.status, 'synced');
  });
});

describe('shared document without jitsi-meet\'s page (integration)', function () {
  this.timeout(60_000);

  it('announces no name, serves no page, refuses every capability and still opens with a token', async () => {
    const dir = await mkdtemp(joinPath(tmpdir(), 'salon-pad-config-'));
    const file = joinPath(dir, 'config.json');
    await writeFile(file, JSON.stringify({ pad: { jitsiMeetPage: false } }));
    const server = await startTestServer({}, ['--config', file]);
    const clients: XmppClient[] = [];
    let tokenEditor: TestEditor | undefined;
    let capability: RawSocket | undefined;
    try {
      const room = `tokenonly-${Date.now().toString(36)}@muc.meet.jitsi`;
      const alice = await joinConference(server, room, 'alice');
      clients.push(alice.client);
      await waitForStanza(alice.inbox, (s) => s.name === 'presence' && s.attrs.from === `${room}/focus`, 5000, 'the focus\'s presence');
      assert.ok(alice.inbox.every((s) => !s.getChild('etherpad', NS_ETHERPAD)), 'no <etherpad> in any presence');

      const configJs = await (await fetch(`${server.httpOrigin}/config.js`)).text();
      assert.ok(configJs.includes('"bosh"'), configJs);
      assert.ok(!configJs.includes('etherpad_base'), configJs);

      const grant = await requestDocument(alice.client, room);
      const docId = grant.path.slice('/pad/'.length);
      const page = await fetch(`${server.httpOrigin}/etherpad/p/${docId}.${'A'.repeat(22)}`);
      assert.equal(page.status, 404);
      assert.doesNotMatch(page.headers.get('content-type') ?? '', /text\/html/);

      capability = new RawSocket(socketUrl(server, `/pad/${docId}.${'A'.repeat(22)}`));
      const outcome = await capability.ended();
      assert.equal(outcome.closeCode, PadCloseCode.refused, JSON.stringify(outcome));

      tokenEditor = new TestEditor(socketUrl(server, grant.path), grant.token);
      await tokenEditor.synced();
      assert.equal(tokenEditor.text, '\n');
    } finally {
      tokenEditor?.close();
      capability?.close();
      await Promise.all(clients.map(stopClient));
      await server.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
