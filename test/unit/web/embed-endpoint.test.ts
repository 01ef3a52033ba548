/**
 * The page's side of the iframe API: conference state changes become Jitsi's events
 * (web/client/embed/state-events.ts), and the embedder's commands and requests reach the
 * ConferenceController only with arguments of the right type and size
 * (web/client/embed/endpoint.ts).
 */
import assert from 'node:assert/strict';
import { ApiChannel } from '../../../web/client/embed/channel.ts';
import { ExternalApiEndpoint, MAX_TEXT_CHARS, MAX_WAITING_COMMANDS, NOT_IN_CONFERENCE } from '../../../web/client/embed/endpoint.ts';
import { baselineOf, conferenceEvents } from '../../../web/client/embed/state-events.ts';
import { scopeFor } from '../../../web/client/embed/wire.ts';
import {
  conferenceState, FakeController, FakeHost, FakeNet, joinedState, ManualTimers, message, participant,
} from './embed-fakes.ts';

const API_ORIGIN = 'https://app.example.org';
const MEET_ORIGIN = 'https://meet.example.org';

/** An endpoint in its iframe, and the integrator's end of the link (an ApiChannel, as /external_api.js uses). */
function embedded(apiId = 0) {
  const net = new FakeNet();
  const timers = new ManualTimers();
  const meet = new FakeHost(MEET_ORIGIN);
  const page = new FakeHost(API_ORIGIN);
  const errors: unknown[][] = [];
  const endpoint = new ExternalApiEndpoint({
    apiId, host: meet, parent: net.proxy(meet, page), browserSupported: true, timers,
    reportError: (...args) => errors.push(args),
  });
  const received: Array<Record<string, unknown>> = [];
  const api = new ApiChannel({
    scope: scopeFor(apiId), host: page, peer: () => net.proxy(page, meet), peerOrigin: MEET_ORIGIN, timers,
    onEvent: (data) => received.push(data as Record<string, unknown>), onRequest: (_d, respond) => respond(undefined, 'none'),
  });
  timers.tick();
  net.flush();
  const names = (): string[] => received.map((e) => e.name as string);
  const command = (name: string, ...data: unknown[]): void => {
    api.sendEvent({ name, data });
    net.flush();
  };
  const request = async (data: unknown): Promise<unknown> => {
    const answer = api.request(data);
    net.flush();
    return answer;
  };
  return { net, timers, meet, page, endpoint, api, received, names, command, request, errors };
}

describe('web/client/embed/state-events', () => {
  const bob = participant('bob', { displayName: 'Bob' });

  it('announces the join, with who is already there, then the chat so far', () => {
    const state = joinedState([bob], { messages: [message('m1')] }, { role: 'moderator' });
    assert.deepEqual(conferenceEvents(baselineOf(state), state), [
      { name: 'video-conference-joined', roomName: 'myroom', id: 'me', displayName: 'Ada', formattedDisplayName: 'Ada', breakoutRoom: false, visitor: false },
      { name: 'participant-role-changed', id: 'me', role: 'moderator' },
      { name: 'participant-joined', id: 'bob', displayName: 'Bob', formattedDisplayName: 'Bob' },
      { name: 'incoming-message', from: 'bob', nick: 'Bob', message: 'text m1', privateMessage: false, stamp: 1000 },
    ]);
  });

  it('says nothing of the settings a conference starts with', () => {
    const state = conferenceState({ localId: 'me', participants: new Map([['me', participant('me', { local: true, audioMuted: true })]]), dominantSpeakerId: 'x' });
    assert.deepEqual(conferenceEvents(baselineOf(state), state), []);
  });

  it('reports participants coming and going, and their changes', () => {
    const before = joinedState([bob, participant('carol')]);
    const after = joinedState([participant('bob', { displayName: 'Robert', role: 'moderator', raisedHandAt: 5 }), participant('dan')]);
    assert.deepEqual(conferenceEvents(before, after), [
      { name: 'display-name-change', id: 'bob', displayname: 'Robert', formattedDisplayName: 'Robert' },
      { name: 'participant-role-changed', id: 'bob', role: 'moderator' },
      { name: 'raise-hand-updated', id: 'bob', handRaised: 5 },
      { name: 'participant-joined', id: 'dan', displayName: 'dan', formattedDisplayName: 'dan' },
      { name: 'participant-left', id: 'carol' },
    ]);
    assert.deepEqual(conferenceEvents(after, joinedState([participant('bob', { raisedHandAt: undefined, displayName: 'Robert', role: 'moderator' }), participant('dan')])),
      [{ name: 'raise-hand-updated', id: 'bob', handRaised: 0 }]);
  });

  it('reports the local mute, screen sharing and speaker changes', () => {
    const before = joinedState([bob]);
    const after = joinedState([bob], { dominantSpeakerId: 'bob' }, { audioMuted: true, videoMuted: true, screenSharing: true });
    assert.deepEqual(conferenceEvents(before, after), [
      { name: 'audio-mute-status-changed', muted: true },
      { name: 'video-mute-status-changed', muted: true },
      { name: 'screen-sharing-status-changed', on: true, details: {} },
      { name: 'dominant-speaker-changed', id: 'bob' },
    ]);
  });

  it('tells our own messages from others\' and private from public, each once', () => {
    const m1 = message('m1');
    const before = joinedState([bob], { messages: [m1] });
    const after = joinedState([bob], {
      messages: [m1, message('m2', { local: true, from: 'me', text: 'hi' }), message('m3', { privateWith: 'me', timestamp: 7 })],
    });
    assert.deepEqual(conferenceEvents(before, after), [
      { name: 'outgoing-message', message: 'hi', privateMessage: false },
      { name: 'incoming-message', from: 'bob', nick: 'Bob', message: 'text m3', privateMessage: true, stamp: 7 },
    ]);
  });

  it('asks the embedder for the password each time a join is refused for want of it, and only then', () => {
    const connecting = conferenceState();
    const locked = conferenceState({ phase: { name: 'failed', error: 'password-required' } });
    assert.deepEqual(conferenceEvents(connecting, locked), [{ name: 'password-required' }]);
    assert.deepEqual(conferenceEvents(baselineOf(locked), locked), [{ name: 'password-required' }], 'attached after the refusal');
    assert.deepEqual(conferenceEvents(locked, { ...locked }), [], 'the same refusal once');
    assert.deepEqual(conferenceEvents(connecting, conferenceState({ phase: { name: 'failed', error: 'room-full' } })), []);
  });

  it('a reconnection is not a leave; leaving is', () => {
    const joined = joinedState([bob]);
    const reconnecting = { ...joined, phase: { name: 'reconnecting' } } as const;
    assert.deepEqual(conferenceEvents(joined, reconnecting), []);
    assert.deepEqual(conferenceEvents(reconnecting, joined), []);
    const left = { ...joined, phase: { name: 'left', reason: 'hangup' } } as const;
    assert.deepEqual(conferenceEvents(joined, left), [{ name: 'video-conference-left', roomName: 'myroom' }]);
  });
});

describe('web/client/embed/endpoint', () => {
  it('tells the embedder at once that the browser is supported and the page ready', () => {
    const { received, endpoint } = embedded();
    assert.deepEqual(received, [{ name: 'browser-support', supported: true }, { name: 'ready' }]);
    endpoint.close();
  });

  it('reports an attached conference as events, from joining to hanging up (then readyToClose, once)', () => {
    const { endpoint, names, received, net } = embedded();
    const controller = new FakeController(conferenceState());
    endpoint.attach(controller);
    controller.setState(joinedState([participant('bob')]));
    controller.setState(joinedState([participant('bob')], {}, { audioMuted: true }));
    controller.setState(joinedState([], {}, { audioMuted: true }));
    controller.setState({ ...joinedState([], {}, { audioMuted: true }), phase: { name: 'left', reason: 'hangup' } });
    endpoint.readyToClose();
    net.flush();
    assert.deepEqual(names().slice(2), [
      'video-conference-joined', 'participant-joined', 'audio-mute-status-changed', 'participant-left', 'video-conference-left', 'video-ready-to-close',
    ]);
    assert.equal(received[2]?.id, 'me');
    endpoint.close();
  });

  it('runs commands on the controller', async () => {
    const { endpoint, command } = embedded();
    const controller = new FakeController(joinedState([participant('bob')], {}, { audioMuted: true }));
    endpoint.attach(controller);
    command('toggle-audio');
    command('toggle-video');
    command('toggle-share-screen', { enable: true });
    command('display-name', '  Grace  ');
    command('send-chat-message', 'hello');
    command('send-chat-message', 'psst', 'bob');
    command('password', 's3cret');
    command('toggle-raise-hand');
    command('mute-everyone');
    command('kick-participant', 'bob');
    command('grant-moderator', 'bob');
    assert.deepEqual(controller.calls, [
      ['setAudioMuted', false], ['setVideoMuted', true], ['setScreenSharing', true], ['setDisplayName', 'Grace'],
      ['sendChatMessage', 'hello', undefined], ['sendChatMessage', 'psst', 'bob'], ['setRoomPassword', 's3cret'],
      ['setRaisedHand', true], ['muteParticipant', 'bob'], ['kickParticipant', 'bob'], ['grantModerator', 'bob'],
    ]);
    endpoint.close();
  });

  it('reads executeCommands\' wire shape (the arguments as one array) like executeCommand\'s', () => {
    const { endpoint, command } = embedded();
    const controller = new FakeController(joinedState());
    endpoint.attach(controller);
    command('display-name', ['Grace']);
    assert.deepEqual(controller.calls, [['setDisplayName', 'Grace']]);
    endpoint.close();
  });

  for (const reason of ['kicked', 'ended'] as const) {
    it(`says readyToClose once after the conference ends without a hang-up (${reason}), as jitsi-meet does`, () => {
      const { endpoint, names, net } = embedded();
      const controller = new FakeController(joinedState());
      endpoint.attach(controller);
      const left = { ...joinedState(), phase: { name: 'left', reason } } as const;
      controller.setState(left);
      controller.setState({ ...left, notices: [] });
      net.flush();
      assert.deepEqual(names().slice(2), ['video-conference-joined', 'video-conference-left', 'video-ready-to-close']);
      endpoint.close();
    });
  }

  it('a refused join says passwordRequired and not readyToClose; the next conference may say it again', () => {
    const { endpoint, names, net } = embedded();
    const first = new FakeController(conferenceState());
    endpoint.attach(first);
    first.setState(conferenceState({ phase: { name: 'failed', error: 'password-required' } }));
    const second = new FakeController(conferenceState());
    endpoint.attach(second);
    second.setState(joinedState());
    second.setState({ ...joinedState(), phase: { name: 'left', reason: 'kicked' } });
    net.flush();
    assert.deepEqual(names().slice(2), ['password-required', 'video-conference-joined', 'video-conference-left', 'video-ready-to-close']);
    endpoint.close();
  });

  it('the password command joins with the password while a join waits for one, and locks the room otherwise', () => {
    const { endpoint, command, errors } = embedded();
    const given: string[] = [];
    const locked = new FakeController(conferenceState({ phase: { name: 'failed', error: 'password-required' } }));
    endpoint.attach(locked, { joinWithPassword: (password) => given.push(password) });
    command('password', 's3cret');
    command('password', 42);
    assert.deepEqual(given, ['s3cret']);
    assert.deepEqual(locked.calls, [], 'a failed conference is not asked to lock its room');
    const joined = new FakeController(joinedState([], {}, { role: 'moderator' }));
    endpoint.attach(joined, { joinWithPassword: (password) => given.push(password) });
    command('password', 'lock it');
    assert.deepEqual(joined.calls, [['setRoomPassword', 'lock it']]);
    assert.deepEqual(given, ['s3cret']);
    // Without a way to join again (the app gave none), the command is reported, not misused.
    endpoint.attach(locked);
    command('password', 'lost');
    assert.deepEqual(locked.calls, []);
    assert.deepEqual(errors.map((e) => e[1]), ['password']);
    endpoint.close();
  });

  it('hangs up, then says it may be closed, even when leaving fails', async () => {
    const { endpoint, command, names, net, errors } = embedded();
    const controller = new FakeController(joinedState());
    controller.leaveResult = Promise.reject(new Error('gone'));
    endpoint.attach(controller);
    command('video-hangup');
    await new Promise((resolve) => setImmediate(resolve));
    net.flush();
    assert.deepEqual(controller.calls, [['leave']]);
    assert.equal(names().at(-1), 'video-ready-to-close');
    assert.equal(errors.length, 1);
    endpoint.close();
  });

  it('ignores commands whose arguments have the wrong type or size, and unknown ones', () => {
    const { endpoint, command, errors } = embedded();
    const controller = new FakeController(joinedState([participant('bob')]));
    endpoint.attach(controller);
    command('display-name', { toString: 'x' });
    command('display-name', '   ');
    command('send-chat-message', 'x'.repeat(MAX_TEXT_CHARS + 1));
    command('send-chat-message', 'hi', 42);
    command('send-chat-message', { text: 'hi' });
    command('password', 12345);
    command('kick-participant', { id: 'bob' });
    command('grant-moderator');
    command('mute-everyone', 'video');
    command('overwrite-config', { hosts: { domain: 'evil.example' } });
    command('__proto__');
    assert.deepEqual(controller.calls, []);
    assert.deepEqual(errors.map((e) => e[1]), ['overwrite-config', '__proto__']);
    endpoint.close();
  });

  it('keeps commands sent before a conference is attached, and runs them on attach', () => {
    const { endpoint, command } = embedded();
    for (let i = 0; i < MAX_WAITING_COMMANDS + 3; i++) command('display-name', `name ${i}`);
    const controller = new FakeController(joinedState());
    endpoint.attach(controller);
    assert.equal(controller.calls.length, MAX_WAITING_COMMANDS);
    assert.deepEqual(controller.calls.at(-1), ['setDisplayName', `name ${MAX_WAITING_COMMANDS + 2}`]);
    endpoint.close();
  });

  it('answers requests from the attached conference, and refuses them without one', async () => {
    const { endpoint, request } = embedded();
    await assert.rejects(request({ name: 'is-audio-muted' }), (err) => err === NOT_IN_CONFERENCE);
    endpoint.attach(new FakeController(joinedState([participant('bob', { displayName: 'Bob' })], {}, { audioMuted: true, screenSharing: true })));
    assert.equal(await request({ name: 'is-audio-muted' }), true);
    assert.equal(await request({ name: 'is-video-muted' }), false);
    assert.equal(await request({ name: 'is-sharing-screen' }), true);
    assert.equal(await request({ name: 'is-audio-available' }), false);
    assert.deepEqual(await request({ name: 'rooms-info' }), {
      rooms: [{ isMainRoom: true, id: 'myroom', participants: [
        { id: 'me', displayName: 'Ada', role: 'participant' }, { id: 'bob', displayName: 'Bob', role: 'participant' }] }],
    });
    await assert.rejects(request({ name: 'capture-largevideo-screenshot' }), (err) => err === 'UnknownRequestError');
    await assert.rejects(request('not an object'), (err) => err === 'UnknownRequestError');
    endpoint.close();
  });

  it('asks the embedder for desktop sources, which a plain page refuses', async () => {
    const { endpoint, net } = embedded();
    const answer = endpoint.requestDesktopSources({ types: ['screen', 'window'] });
    net.flush();
    await assert.rejects(answer, (err) => err === 'none');
    endpoint.close();
  });

  it('detach stops the reports and unsubscribes; close removes its listener', () => {
    const { endpoint, names, meet, net } = embedded();
    const controller = new FakeController(conferenceState());
    const detach = endpoint.attach(controller);
    assert.equal(controller.listeners.size, 1);
    detach();
    detach();
    assert.equal(controller.listeners.size, 0);
    controller.setState(joinedState());
    net.flush();
    assert.deepEqual(names(), ['browser-support', 'ready']);
    endpoint.close();
    assert.equal(meet.listeners.size, 0);
  });

  it('a second attach replaces the first controller', () => {
    const { endpoint } = embedded();
    const first = new FakeController(conferenceState());
    const second = new FakeController(conferenceState());
    const detachFirst = endpoint.attach(first);
    endpoint.attach(second);
    assert.equal(first.listeners.size, 0);
    detachFirst();
    assert.equal(second.listeners.size, 1, 'an old detach leaves the new controller attached');
    endpoint.close();
    assert.equal(second.listeners.size, 0);
  });
});
