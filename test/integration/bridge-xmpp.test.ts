/**
 * The bridge role over XMPP, as Jicofo sees a jitsi-videobridge: brewery presence with stats and
 * Colibri2 conference-modify answered with the endpoint's transport. The media endpoints are
 * stand-ins here (the transport has its own tests); what is proven is the signalling.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parse } from 'ltx';
import { pino } from 'pino';
import { inProcessLink, startBridge, type Bridge } from '../../bridge/index.ts';
import type { ColibriEndpoint } from '../../bridge/colibri.ts';
import { parseColibriStats, parseConferenceModified } from '../../xmpp/protocol/colibri2.ts';
import { parseIceUdpTransport } from '../../xmpp/protocol/jingle-ice.ts';
import { connectClient, startTestServer, stopClient, waitForStanza, xml, type TestServer } from './harness.ts';
import { openChannel, until } from './channel-client.ts';

function standInEndpoint(id: string): ColibriEndpoint {
  return {
    id,
    events: { on: () => () => undefined },
    localTransport: () => ({
      ufrag: `uf${id}`, pwd: 'secretpassword0123456789',
      fingerprint: { hash: 'sha-256', value: 'AB:CD', setup: 'actpass' },
      candidates: [{ component: 1, foundation: '1', generation: 0, id: 'c1', ip: '127.0.0.1', port: 10000, priority: 2130706431, protocol: 'udp', type: 'host' }],
    }),
    setRemoteTransport: () => undefined,
    sendRtp: () => undefined,
    sendRtcp: () => undefined,
    close: () => undefined,
  };
}

describe('the bridge over XMPP (brewery and Colibri2)', function () {
  this.timeout(20_000);
  let server: TestServer;
  let bridge: Bridge;

  before(async () => {
    server = await startTestServer();
    bridge = startBridge(inProcessLink(server.salon.xmpp), pino({ level: 'silent' }), {
      id: 'jvb-test-1', user: 'jvb@auth.meet.jitsi', brewery: 'jvbbrewery@internal-muc.meet.jitsi', version: '0.1.0',
      region: 'eu-west', publicWebSocketOrigin: 'wss://meet.example', createEndpoint: standInEndpoint,
    });
  });
  after(async () => {
    bridge.close();
    await server.close();
  });

  it('registers in the brewery with its stats, and answers Colibri2 and health checks from the focus account only, at its own JID or its brewery occupant JID (as Jicofo asks)', async () => {
    const focus = await connectClient({ service: server.wsUrl, domain: 'auth.meet.jitsi', username: 'focus', password: server.salon.secrets.focusPassword, resource: 'test' });
    const guest = await connectClient({ service: server.wsUrl, domain: 'meet.jitsi' });
    try {
      await focus.client.send(xml('presence', { to: 'jvbbrewery@internal-muc.meet.jitsi/focus-test' }, xml('x', { xmlns: 'http://jabber.org/protocol/muc' })));
      const seen = await waitForStanza(focus.inbox, (s) => s.name === 'presence' && s.attrs.from === 'jvbbrewery@internal-muc.meet.jitsi/jvb-test-1', 5000, 'bridge in the brewery');
      const stats = parseColibriStats(seen.getChild('stats', 'http://jitsi.org/protocol/colibri')!);
      assert.equal(stats.drain, 'false');
      assert.equal(stats.region, 'eu-west');
      assert.ok(Number(stats.stress_level) >= 0);
      assert.equal(seen.getChild('x', 'http://jabber.org/protocol/muc#user')?.getChild('item')?.attrs.jid, bridge.jid);

      const request = parse(readFileSync(new URL('../fixtures/xmpp/colibri2/modify-jicofo-allocate.xml', import.meta.url), 'utf8'));
      const modifyElement = request.name === 'iq' ? request.getChild('conference-modify')! : request;
      const answer = await focus.client.iqCaller.request(xml('iq', { type: 'set', to: bridge.jid }, modifyElement));
      const modified = parseConferenceModified(answer.getChild('conference-modified', 'jitsi:colibri2')!);
      const transport = parseIceUdpTransport(modified.endpoints[0]!.transport!.iceUdp!);
      assert.equal(transport.ufrag, 'ufabcd1234');
      assert.match(transport.webSockets[0]!.url, /^wss:\/\/meet\.example\/colibri-ws\/jvb-test-1\/[0-9a-f-]+\/abcd1234\?pwd=secretpassword/);

      await assert.rejects(
        guest.client.iqCaller.request(xml('iq', { type: 'set', to: bridge.jid }, modifyElement)),
        (err: Error & { condition?: string }) => err.condition === 'forbidden',
      );
      // Jicofo's health check (JvbDoctor): an empty result for the focus, forbidden for anyone else
      const healthy = await focus.client.iqCaller.request(xml('iq', { type: 'get', to: bridge.jid }, xml('healthcheck', { xmlns: 'http://jitsi.org/protocol/healthcheck' })));
      assert.deepEqual([healthy.attrs.type, healthy.children.length], ['result', 0]);
      await assert.rejects(
        guest.client.iqCaller.request(xml('iq', { type: 'get', to: bridge.jid }, xml('healthcheck', { xmlns: 'http://jitsi.org/protocol/healthcheck' }))),
        (err: Error & { condition?: string }) => err.condition === 'forbidden',
      );
      // As Jicofo addresses a bridge: at its occupant JID in the brewery, which the MUC routes to it
      // from the asker's own occupant JID. The focus's occupant is the focus; another bridge's is not.
      const occupant = 'jvbbrewery@internal-muc.meet.jitsi/jvb-test-1';
      const viaBrewery = await focus.client.iqCaller.request(xml('iq', { type: 'get', to: occupant }, xml('healthcheck', { xmlns: 'http://jitsi.org/protocol/healthcheck' })));
      assert.deepEqual([viaBrewery.attrs.type, viaBrewery.attrs.from, viaBrewery.children.length], ['result', occupant, 0]);
      const anotherConference = parse(modifyElement.toString());
      anotherConference.attrs['meeting-id'] = '0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d';
      const modifiedViaBrewery = await focus.client.iqCaller.request(xml('iq', { type: 'set', to: occupant }, anotherConference));
      assert.ok(modifiedViaBrewery.getChild('conference-modified', 'jitsi:colibri2'), 'Colibri2 through the brewery');
      const otherBridge = await connectClient({ service: server.wsUrl, domain: 'auth.meet.jitsi', username: 'jvb', password: server.salon.secrets.jvbPassword, resource: 'other' });
      try {
        await otherBridge.client.send(xml('presence', { to: 'jvbbrewery@internal-muc.meet.jitsi/jvb-other' }, xml('x', { xmlns: 'http://jabber.org/protocol/muc' })));
        await waitForStanza(otherBridge.inbox, (s) => s.name === 'presence' && s.attrs.from === 'jvbbrewery@internal-muc.meet.jitsi/jvb-other', 5000, 'the other bridge in the brewery');
        for (const request of [xml('iq', { type: 'get', to: occupant }, xml('healthcheck', { xmlns: 'http://jitsi.org/protocol/healthcheck' })), xml('iq', { type: 'set', to: occupant }, anotherConference)]) {
          await assert.rejects(otherBridge.client.iqCaller.request(request), (err: Error & { condition?: string }) => err.condition === 'forbidden');
        }
      } finally {
        await stopClient(otherBridge.client);
      }
      // the brewery itself is closed to accounts outside the auth domain
      await guest.client.send(xml('presence', { to: 'jvbbrewery@internal-muc.meet.jitsi/intruder' }, xml('x', { xmlns: 'http://jabber.org/protocol/muc' })));
      const refused = await waitForStanza(guest.inbox, (s) => s.name === 'presence' && s.attrs.type === 'error', 5000, 'brewery refusal');
      assert.ok(refused.getChild('error'));
    } finally {
      await stopClient(focus.client);
      await stopClient(guest.client);
    }
  });
  it('says once, not every interval, that the brewery refused it (its id taken by another bridge)', async () => {
    const lines: string[] = [];
    // Another account of the auth domain (the same account and id would be the same full JID, refused at binding).
    const twin = startBridge(inProcessLink(server.salon.xmpp), pino({ level: 'error' }, { write: (line: string) => lines.push(line) }), {
      id: 'jvb-test-1', user: 'focus@auth.meet.jitsi', brewery: 'jvbbrewery@internal-muc.meet.jitsi', version: '0.1.0',
      publicWebSocketOrigin: 'wss://meet.example', createEndpoint: standInEndpoint, statsIntervalMs: 100,
    });
    try {
      await until(() => lines.length > 0, 'the refusal said');
      await new Promise((resolve) => setTimeout(resolve, 800));
      const refusals = lines.filter((line) => line.includes('the brewery refused the bridge'));
      assert.equal(refusals.length, 1, `said once while refused every 100 ms: ${lines.length} lines`);
      assert.match(refusals[0]!, /conflict/);
    } finally {
      twin.close();
    }
  });

  it('sends its brewery presence every stats interval even when nothing changed, as jitsi-videobridge (a Jicofo may judge bridges by it)', async () => {
    const quiet = startBridge(inProcessLink(server.salon.xmpp), pino({ level: 'silent' }), {
      id: 'jvb-test-quiet', user: 'jvb@auth.meet.jitsi', brewery: 'jvbbrewery@internal-muc.meet.jitsi', version: '0.1.0',
      publicWebSocketOrigin: 'wss://meet.example', createEndpoint: standInEndpoint, statsIntervalMs: 150,
    });
    const focus = await connectClient({ service: server.wsUrl, domain: 'auth.meet.jitsi', username: 'focus', password: server.salon.secrets.focusPassword, resource: 'quiet' });
    try {
      await focus.client.send(xml('presence', { to: 'jvbbrewery@internal-muc.meet.jitsi/focus-quiet' }, xml('x', { xmlns: 'http://jabber.org/protocol/muc' })));
      const fromQuiet = (s: { name: string; attrs: Record<string, unknown> }) => s.name === 'presence' && s.attrs.from === 'jvbbrewery@internal-muc.meet.jitsi/jvb-test-quiet' && s.attrs.type === undefined;
      await waitForStanza(focus.inbox, fromQuiet, 5000, 'the bridge in the brewery');
      const seen = focus.inbox.filter(fromQuiet).length;
      await new Promise((resolve) => setTimeout(resolve, 1000));
      const again = focus.inbox.filter(fromQuiet).slice(seen);
      assert.ok(again.length >= 4, `presence repeated every 150 ms with nothing changed: ${again.length} in 1 s`);
      const stats = again.map((p) => parseColibriStats(p.getChild('stats', 'http://jitsi.org/protocol/colibri')!));
      assert.ok(stats.every((s) => s.conferences === '0' && s.participants === '0' && s.drain === 'false'), 'the same stats each time');
    } finally {
      quiet.close();
      await stopClient(focus.client);
    }
  });
});

describe('the bridge channel (colibri-ws)', function () {
  this.timeout(30_000);
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(async () => server.close());

  async function allocate(focus: Awaited<ReturnType<typeof connectClient>>, meetingId: string, id: string, create: boolean): Promise<string> {
    const modify = xml('conference-modify', { xmlns: 'jitsi:colibri2', 'meeting-id': meetingId, ...(create ? { create: 'true', name: 'room@muc.meet.jitsi' } : {}) },
      xml('endpoint', { id, create: 'true' }, xml('transport', { 'ice-controlling': 'true' })));
    const answer = await focus.client.iqCaller.request(xml('iq', { type: 'set', to: server.salon.bridge!.jid }, modify));
    const modified = parseConferenceModified(answer.getChild('conference-modified', 'jitsi:colibri2')!);
    const url = new URL(parseIceUdpTransport(modified.endpoints[0]!.transport!.iceUdp!).webSockets[0]!.url);
    return `${server.httpOrigin.replace('http', 'ws')}${url.pathname}${url.search}`;
  }



  it('greets with ServerHello, relays endpoint messages with the sender stamped by the bridge, and refuses bad passwords alike', async () => {
    const focus = await connectClient({ service: server.wsUrl, domain: 'auth.meet.jitsi', username: 'focus', password: server.salon.secrets.focusPassword, resource: 'channel-test' });
    try {
      const urlA = await allocate(focus, 'meeting-1', 'aaaa1111', true);
      const urlB = await allocate(focus, 'meeting-1', 'bbbb2222', false);
      const a = await openChannel(urlA);
      const b = await openChannel(urlB);
      await until(() => a.messages.length > 0 && b.messages.length > 0, 'ServerHello');
      assert.equal(a.messages[0]!.colibriClass, 'ServerHello');

      // After ServerHello each channel is told its state (ForwardedSources: nothing to forward yet).
      const relayed = (m: Record<string, unknown>) => m.colibriClass === 'EndpointMessage';
      a.ws.send('this is not JSON');
      a.ws.send(JSON.stringify({ colibriClass: 'NoSuchClass' }));
      a.ws.send(JSON.stringify({ colibriClass: 'EndpointMessage', to: 'bbbb2222', from: 'forged', msgPayload: { type: 'hello', text: 'salut' } }));
      await until(() => b.messages.some(relayed), 'relayed message');
      assert.deepEqual(b.messages.filter(relayed), [{ colibriClass: 'EndpointMessage', to: 'bbbb2222', from: 'aaaa1111', msgPayload: { type: 'hello', text: 'salut' } }]);
      assert.equal(a.messages.filter(relayed).length, 0, 'nothing comes back to the sender');

      const wrong = new URL(urlB);
      wrong.searchParams.set('pwd', 'guess');
      await assert.rejects(openChannel(wrong.toString()), /HTTP 403/);
      await assert.rejects(openChannel(urlB.replace('bbbb2222', 'cccc3333')), /HTTP 403/);
      await assert.rejects(openChannel(urlB.replace('meeting-1', 'meeting-2')), /HTTP 403/);

      // expiring the endpoint closes its channel
      const closed = new Promise((resolve) => b.ws.once('close', resolve));
      await focus.client.iqCaller.request(xml('iq', { type: 'set', to: server.salon.bridge!.jid },
        xml('conference-modify', { xmlns: 'jitsi:colibri2', 'meeting-id': 'meeting-1' }, xml('endpoint', { id: 'bbbb2222', expire: 'true' }))));
      await closed;
      a.ws.close();
    } finally {
      await stopClient(focus.client);
    }
  });
});
