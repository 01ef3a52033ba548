// With authentication, a conference whose agents have all left admits no new guest (security.md
// §6: nothing is kept once the agents are gone; the conference then ends after a grace, tested in
// test/unit/focus/conference.test.ts).
import assert from 'node:assert/strict';
import type { Element } from 'ltx';
import { connectClient, startTestServer, stopClient, waitForStanza, xml, type TestServer, type XmppClient } from './harness.ts';

const NS_FOCUS = 'http://jitsi.org/protocol/focus';
const NS_MUC = 'http://jabber.org/protocol/muc';
const conferenceIq = (room: string) => xml('iq', { type: 'set', to: 'focus.meet.jitsi' }, xml('conference', { xmlns: NS_FOCUS, room, 'machine-uid': 'm' }));

describe('a conference whose agents all left', function () {
  this.timeout(60_000);
  let server: TestServer;
  const clients: XmppClient[] = [];
  before(async () => {
    server = await startTestServer({ ENABLE_AUTH: 'true', ENABLE_GUESTS: 'true', AUTH_TYPE: 'internal' });
    await server.salon.xmpp.accounts.setPassword('alice@meet.jitsi', 'alice password 123');
  });
  after(async () => {
    await Promise.all(clients.map(stopClient));
    await server.close();
  });

  /** A guest's conference request: its `ready`, or the error condition it was refused with. */
  async function guestAsks(room: string): Promise<string> {
    const guest = await connectClient({ service: server.wsUrl, domain: 'guest.meet.jitsi' });
    clients.push(guest.client);
    try {
      const result = await guest.client.iqCaller.request(conferenceIq(room));
      return `ready=${String(result.getChild('conference', NS_FOCUS)?.attrs.ready)}`;
    } catch (err) {
      return `refused: ${String((err as { condition?: string }).condition)}`;
    }
  }

  it('lets a guest in while an agent is there, and no new guest once the agents are gone', async () => {
    const room = 'board@muc.meet.jitsi';
    const alice = await connectClient({ service: server.wsUrl, domain: 'meet.jitsi', username: 'alice', password: 'alice password 123' });
    await alice.client.iqCaller.request(conferenceIq(room));
    await alice.client.send(xml('presence', { to: `${room}/alice` }, xml('x', { xmlns: NS_MUC })));
    await waitForStanza(alice.inbox, (s: Element) => s.name === 'presence' && s.attrs.from === `${room}/alice`, 5000, 'alice in');
    assert.equal(await guestAsks(room), 'ready=true', 'with the agent in the room');
    // A guest who stays in the room keeps the conference going after the agent leaves.
    const staying = await connectClient({ service: server.wsUrl, domain: 'guest.meet.jitsi' });
    clients.push(staying.client);
    await staying.client.iqCaller.request(conferenceIq(room));
    await staying.client.send(xml('presence', { to: `${room}/guest1` }, xml('x', { xmlns: NS_MUC })));
    await waitForStanza(staying.inbox, (s: Element) => s.name === 'presence' && s.attrs.from === `${room}/guest1`, 5000, 'the guest in');
    await stopClient(alice.client); // the only agent leaves
    await waitForStanza(staying.inbox, (s: Element) => s.name === 'presence' && s.attrs.from === `${room}/alice` && s.attrs.type === 'unavailable', 5000, 'alice gone');
    assert.ok(server.salon.focus.conferences.has(room), 'the conference goes on with its guest (for the grace)');
    const deadline = Date.now() + 5000;
    let answer = await guestAsks(room);
    while (answer !== 'refused: not-authorized' && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      answer = await guestAsks(room);
    }
    assert.equal(answer, 'refused: not-authorized', 'a new guest waits for the host');
  });
});
