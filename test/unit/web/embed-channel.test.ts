/**
 * The iframe API's postMessage link (web/client/embed/channel.ts): Jitsi's postis readiness
 * handshake and envelopes byte for byte, buffering until ready, requests and responses, and the
 * checks on who a message comes from.
 */
import assert from 'node:assert/strict';
import { ApiChannel, type ChannelOptions } from '../../../web/client/embed/channel.ts';
import { FakeHost, FakeNet, ManualTimers } from './embed-fakes.ts';

const SCOPE = 'jitsi_meet_external_api_0';
const API_ORIGIN = 'https://app.example.org';
const MEET_ORIGIN = 'https://meet.example.org';

interface Side {
  host: FakeHost;
  channel: ApiChannel;
  events: unknown[];
  requests: unknown[];
}

/** The integrator page (API side, knowing its iframe's origin) and the page in the iframe. */
function link(options: { answer?: ChannelOptions['onRequest']; apiOrigin?: string } = {}) {
  const net = new FakeNet();
  const timers = new ManualTimers();
  const apiHost = new FakeHost(options.apiOrigin ?? API_ORIGIN);
  const meetHost = new FakeHost(MEET_ORIGIN);
  const make = (host: FakeHost, peerHost: FakeHost, extra: Partial<ChannelOptions>): Side => {
    const events: unknown[] = [];
    const requests: unknown[] = [];
    const channel = new ApiChannel({
      scope: SCOPE,
      host,
      peer: () => net.proxy(host, peerHost),
      timers,
      readyId: `id-${host.origin}`,
      onEvent: (data) => events.push(data),
      onRequest: (data, respond) => {
        requests.push(data);
        (options.answer ?? ((_d, r) => r(true)))(data, respond);
      },
      ...extra,
    });
    return { host, channel, events, requests };
  };
  const api = make(apiHost, meetHost, { peerOrigin: MEET_ORIGIN });
  const meet = make(meetHost, apiHost, {});
  const handshake = (): void => {
    timers.tick();
    net.flush();
  };
  return { net, timers, api, meet, handshake };
}

describe('web/client/embed/channel', () => {
  it('becomes ready on both sides through the postis handshake, then stops pinging', () => {
    const { api, meet, timers, handshake } = link();
    assert.equal(api.channel.ready, false);
    assert.equal(timers.active, 2);
    handshake();
    assert.equal(api.channel.ready, true);
    assert.equal(meet.channel.ready, true);
    assert.equal(timers.active, 0);
  });

  it('keeps what is sent before ready and delivers it in order once ready', () => {
    const { api, meet, handshake } = link();
    meet.channel.sendEvent({ name: 'browser-support', supported: true });
    meet.channel.sendEvent({ name: 'ready' });
    api.channel.sendEvent({ name: 'toggle-audio', data: [] });
    assert.deepEqual(api.events, []);
    handshake();
    assert.deepEqual(api.events, [{ name: 'browser-support', supported: true }, { name: 'ready' }]);
    assert.deepEqual(meet.events, [{ name: 'toggle-audio', data: [] }]);
  });

  it('answers requests: a result resolves, an error alone rejects, neither rejects', async () => {
    const answers: Array<[unknown, unknown]> = [[false, undefined], [undefined, 'NotInConferenceError'], [undefined, undefined]];
    const { api, meet, net, handshake } = link({ answer: (_data, respond) => respond(...answers.shift()!) });
    handshake();
    const first = api.channel.request({ name: 'is-audio-muted' });
    const second = api.channel.request({ name: 'is-audio-muted' });
    const third = api.channel.request({ name: 'is-video-muted' });
    net.flush();
    assert.equal(await first, false, 'false is a result');
    await assert.rejects(second, (err) => err === 'NotInConferenceError');
    await assert.rejects(third, /Unexpected response format/);
    assert.deepEqual(meet.requests, [{ name: 'is-audio-muted' }, { name: 'is-audio-muted' }, { name: 'is-video-muted' }]);
  });

  it('speaks Jitsi\'s wire format exactly: JSON strings, postis envelopes, echoes of the peer\'s ready id', () => {
    const net = new FakeNet();
    const timers = new ManualTimers();
    const meetHost = new FakeHost(MEET_ORIGIN);
    const apiHost = new FakeHost(API_ORIGIN);
    const events: unknown[] = [];
    const channel = new ApiChannel({
      scope: SCOPE, host: meetHost, peer: () => net.proxy(meetHost, apiHost), timers, readyId: 'mine',
      onEvent: (data) => events.push(data), onRequest: (_data, respond) => respond(true),
    });
    channel.sendEvent({ name: 'video-conference-joined', roomName: 'r' });
    const source = net.proxy(meetHost, apiHost);
    const deliver = (data: string): void => {
      net.inject(meetHost, { data, origin: API_ORIGIN, source });
      net.flush();
    };
    // What Jitsi's external_api.js posts (postis.ts `send`): its own readiness id first.
    deliver('{"postis":true,"scope":"jitsi_meet_external_api_0","method":"__ready__","params":"1722945600000-0.42"}');
    const toApi = () => net.posted.filter((p) => p.to === apiHost).map((p) => [p.targetOrigin, p.data]);
    assert.deepEqual(toApi(), [[API_ORIGIN, '{"postis":true,"scope":"jitsi_meet_external_api_0","method":"__ready__","params":"1722945600000-0.42"}']]);
    deliver('{"postis":true,"scope":"jitsi_meet_external_api_0","method":"__ready__","params":"mine"}');
    assert.deepEqual(toApi()[1], [API_ORIGIN, '{"postis":true,"scope":"jitsi_meet_external_api_0","method":"message","params":{"type":"event","data":{"name":"video-conference-joined","roomName":"r"}}}']);
    deliver('{"postis":true,"scope":"jitsi_meet_external_api_0","method":"message","params":{"type":"event","data":{"data":["Ada"],"name":"display-name"}}}');
    assert.deepEqual(events, [{ data: ['Ada'], name: 'display-name' }]);
    deliver('{"postis":true,"scope":"jitsi_meet_external_api_0","method":"message","params":{"type":"request","data":{"name":"is-audio-muted"},"id":7}}');
    assert.equal(toApi()[2]?.[1], '{"postis":true,"scope":"jitsi_meet_external_api_0","method":"message","params":{"type":"response","id":7,"result":true}}');
    channel.close();
  });

  it('ignores other scopes, other windows, non-postis data and oversized strings', () => {
    const { api, meet, net, handshake } = link();
    handshake();
    const source = net.proxy(meet.host, api.host);
    const event = (name: string) => JSON.stringify({ postis: true, scope: SCOPE, method: 'message', params: { type: 'event', data: { name } } });
    net.inject(meet.host, { data: event('from-another-window'), origin: API_ORIGIN, source: {} });
    net.inject(meet.host, { data: event('other-scope').replace(SCOPE, 'jitsi_meet_external_api_1'), origin: API_ORIGIN, source });
    net.inject(meet.host, { data: JSON.parse(event('an-object')), origin: API_ORIGIN, source });
    net.inject(meet.host, { data: 'not json', origin: API_ORIGIN, source });
    net.inject(meet.host, { data: event('huge').replace('"huge"', JSON.stringify('x'.repeat(2 * 1024 * 1024))), origin: API_ORIGIN, source });
    net.inject(meet.host, { data: JSON.stringify({ postis: 'true', scope: SCOPE, method: 'message', params: { type: 'event', data: {} } }), origin: API_ORIGIN, source });
    net.inject(meet.host, { data: JSON.stringify({ postis: true, scope: SCOPE, method: 'message', params: { type: 'request', id: 'x', data: {} } }), origin: API_ORIGIN, source });
    net.inject(meet.host, { data: event('ok'), origin: API_ORIGIN, source });
    net.flush();
    assert.deepEqual(meet.events, [{ name: 'ok' }]);
    assert.deepEqual(meet.requests, []);
  });

  it('the page in the iframe keeps to the origin of its embedder\'s first message', () => {
    const { api, meet, net, handshake } = link();
    handshake();
    assert.equal(meet.channel.peerOrigin, API_ORIGIN);
    const source = net.proxy(meet.host, api.host);
    const event = JSON.stringify({ postis: true, scope: SCOPE, method: 'message', params: { type: 'event', data: { name: 'x' } } });
    net.inject(meet.host, { data: event, origin: 'https://evil.example', source });
    net.flush();
    assert.deepEqual(meet.events, []);
    meet.channel.sendEvent({ name: 'e' });
    assert.deepEqual(net.posted.at(-1)?.targetOrigin, API_ORIGIN, 'sent to that origin, not to "*"');
  });

  it('the API side takes nothing from an iframe of another origin', () => {
    const { api, meet, net, handshake } = link();
    handshake();
    const source = net.proxy(api.host, meet.host);
    const event = JSON.stringify({ postis: true, scope: SCOPE, method: 'message', params: { type: 'event', data: { name: 'x' } } });
    net.inject(api.host, { data: event, origin: 'https://evil.example', source });
    net.inject(api.host, { data: event, origin: MEET_ORIGIN, source });
    net.flush();
    assert.deepEqual(api.events, [{ name: 'x' }]);
  });

  it('posts to "*" when the embedder\'s origin is opaque (the desktop app\'s file: page)', () => {
    const { meet, net, handshake } = link({ apiOrigin: 'file://' });
    handshake();
    assert.equal(meet.channel.ready, true);
    meet.channel.sendEvent({ name: 'e' });
    assert.equal(net.posted.at(-1)?.targetOrigin, '*');
  });

  it('close stops listening and pinging and rejects what waits', async () => {
    const { api, timers } = link();
    const waiting = api.channel.request({ name: 'is-audio-muted' });
    api.channel.close();
    api.channel.close();
    await assert.rejects(waiting, /closed/);
    await assert.rejects(api.channel.request({ name: 'x' }), /closed/);
    assert.equal(api.host.listeners.size, 0);
    assert.equal(timers.active, 1, 'only the other side still pings');
  });

  it('keeps at most maxBuffered messages while the peer is not ready', () => {
    const net = new FakeNet();
    const timers = new ManualTimers();
    const a = new FakeHost(API_ORIGIN);
    const b = new FakeHost(MEET_ORIGIN);
    const received: unknown[] = [];
    const sender = new ApiChannel({ scope: SCOPE, host: a, peer: () => net.proxy(a, b), peerOrigin: MEET_ORIGIN, timers, maxBuffered: 2, onEvent: () => undefined, onRequest: () => undefined });
    const receiver = new ApiChannel({ scope: SCOPE, host: b, peer: () => net.proxy(b, a), timers, onEvent: (d) => received.push(d), onRequest: () => undefined });
    for (const n of [1, 2, 3]) sender.sendEvent(n);
    timers.tick();
    net.flush();
    assert.deepEqual(received, [2, 3]);
    sender.close();
    receiver.close();
  });
});
