/** Stage and list decisions: who is large, grid columns, initials, participant order, shortcuts. */
import assert from 'node:assert/strict';
import type { Participant } from '../../../web/client/conference/model.ts';
import { sortForList } from '../../../web/client/ui/participants/order.ts';
import { resolveShortcut } from '../../../web/client/ui/shortcuts/keys.ts';
import { chooseLarge, collectMedia, gridColumns, initials, type ParticipantMedia } from '../../../web/client/ui/stage/layout.ts';

function person(id: string, extra: Partial<Participant> = {}): Participant {
  return {
    id, displayName: id, role: 'participant', local: false, audioMuted: false, videoMuted: false,
    raisedHandAt: undefined, screenSharing: false, connectionQuality: 'good', ...extra,
  };
}

const stream = (id: string): MediaStream => ({ id }) as unknown as MediaStream;

describe('stage layout', () => {
  const me = person('me', { local: true });
  const a = person('a');
  const b = person('b');
  const none = new Map<string, ParticipantMedia>();

  it('speaker view: pinned, then a screen sharer, then the dominant speaker, then the first other', () => {
    const sharing = new Map<string, ParticipantMedia>([['b', { camera: undefined, screen: stream('s') }]]);
    assert.equal(chooseLarge([me, a, b], 'me', 'a', sharing)?.id, 'me');
    assert.equal(chooseLarge([me, a, b], undefined, 'a', sharing)?.id, 'b');
    assert.equal(chooseLarge([me, a, b], undefined, 'b', none)?.id, 'b');
    assert.equal(chooseLarge([me, a, b], undefined, 'me', none)?.id, 'a');
    assert.equal(chooseLarge([me, a, b], 'gone', undefined, none)?.id, 'a');
    assert.equal(chooseLarge([me], undefined, undefined, none)?.id, 'me');
    assert.equal(chooseLarge([], undefined, undefined, none), undefined);
  });

  it('collects camera and screen per participant, ours from the local tracks, audio left out', () => {
    const media = collectMedia([
      { participantId: 'a', kind: 'camera', stream: stream('ac') },
      { participantId: 'a', kind: 'screen', stream: stream('as') },
      { participantId: 'a', kind: 'audio', stream: stream('aa') },
      { participantId: 'me', kind: 'camera', stream: stream('echo') },
    ], 'me', { camera: stream('mine'), screen: undefined });
    assert.deepEqual(media.get('a'), { camera: stream('ac'), screen: stream('as') });
    assert.deepEqual(media.get('me'), { camera: stream('mine'), screen: undefined });
  });

  it('grid columns make the tiles largest', () => {
    assert.equal(gridColumns(1, 1280, 600), 1);
    assert.equal(gridColumns(2, 1280, 600), 2);
    assert.equal(gridColumns(3, 1280, 600), 2);
    assert.equal(gridColumns(4, 1280, 600), 2);
    assert.equal(gridColumns(9, 1280, 600), 3);
    assert.equal(gridColumns(3, 360, 500), 1);
    assert.equal(gridColumns(5, 0, 0), 1);
  });

  it('initials take the first letters of two words', () => {
    assert.equal(initials('Alice Martin'), 'AM');
    assert.equal(initials('  élodie  '), 'É');
    assert.equal(initials('Jean Pierre Marie'), 'JP');
    assert.equal(initials(''), '?');
  });
});

describe('participant list order', () => {
  it('raised hands first by time, then ourselves, then join order', () => {
    const list = [
      person('a'), person('me', { local: true }), person('b', { raisedHandAt: 20 }), person('c'), person('d', { raisedHandAt: 10 }),
    ];
    assert.deepEqual(sortForList(list).map((p) => p.id), ['d', 'b', 'me', 'a', 'c']);
  });
});

describe('keyboard shortcuts', () => {
  const press = (key: string, extra: Partial<Parameters<typeof resolveShortcut>[0]> = {}) =>
    resolveShortcut({ key, ctrlKey: false, altKey: false, metaKey: false, repeat: false, target: null, ...extra });

  it('maps jitsi-meet keys, either case, and digits to pins', () => {
    assert.deepEqual(press('m'), { kind: 'action', action: 'toggle-audio' });
    assert.deepEqual(press('M'), { kind: 'action', action: 'toggle-audio' });
    assert.deepEqual(press('v'), { kind: 'action', action: 'toggle-video' });
    assert.deepEqual(press('w'), { kind: 'action', action: 'toggle-tile-view' });
    assert.deepEqual(press('?'), { kind: 'action', action: 'show-help' });
    assert.deepEqual(press('3'), { kind: 'pin', index: 3 });
    assert.equal(press('x'), undefined);
  });

  it('ignores keys with modifiers and auto-repeat', () => {
    assert.equal(press('m', { ctrlKey: true }), undefined);
    assert.equal(press('m', { metaKey: true }), undefined);
    assert.equal(press('m', { altKey: true }), undefined);
    assert.equal(press('m', { repeat: true }), undefined);
  });
});
