/**
 * Which receivers get a sender's EndpointStats (BridgeConference.wantsStatsFrom, as JVB's): all in
 * a small room; above STATS_FILTER_THRESHOLD endpoints only those that see or hear of the sender.
 */
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { BridgeConference, STATS_FILTER_THRESHOLD } from '../../../bridge/conference.ts';
import type { NamedSource } from '../../../bridge/forwarding.ts';
import type { Clock } from '../../../bridge/transport/clock.ts';
import { FakeEndpoint } from './fake-endpoint.ts';

const clock: Clock = { now: () => 0, setTimeout: () => () => undefined };

function room(size: number): BridgeConference {
  const conference = new BridgeConference('m', undefined, pino({ level: 'silent' }), () => undefined, () => undefined, { feedbackSsrcs: { audio: 1, video: 2 }, clock });
  conference.useBridgeChannel({ send: () => undefined, now: () => 0 });
  for (let i = 0; i < size; i++) {
    const id = `ep${i}`;
    conference.addEndpoint(new FakeEndpoint(id));
    const base = 10_000 + 10 * i;
    const camera: NamedSource = { name: `${id}-v0`, media: 'video', desktop: false, primarySsrc: base + 1, layers: { layers: [base + 1], rtx: new Map() } };
    const microphone: NamedSource = { name: `${id}-a0`, media: 'audio', desktop: false, primarySsrc: base };
    conference.setSources(id, {
      forwarded: new Set([base, base + 1]), all: new Set([base, base + 1]), named: [microphone, camera],
      sourceOf: new Map([[base, microphone], [base + 1, camera]]),
    });
  }
  return conference;
}

describe('bridge conference: who gets whose EndpointStats', () => {
  it(`sends everyone's stats to everyone in a room of ${STATS_FILTER_THRESHOLD}`, () => {
    const conference = room(STATS_FILTER_THRESHOLD);
    conference.onChannelMessage('ep0', { colibriClass: 'ReceiverVideoConstraints', lastN: 1 });
    assert.equal(conference.wantsStatsFrom('ep0', `ep${STATS_FILTER_THRESHOLD - 1}`), true);
    conference.close('done');
  });

  it('above it, sends a receiver the stats of the senders it is forwarded, put on stage or selected, and no others', () => {
    const conference = room(40);
    conference.onChannelMessage('ep0', { colibriClass: 'ReceiverVideoConstraints', lastN: 3, defaultConstraints: { maxHeight: 180 } });
    // Join order: ep1, ep2, ep3 are its last-N.
    assert.deepEqual(['ep1', 'ep2', 'ep3', 'ep4', 'ep39'].map((id) => conference.wantsStatsFrom('ep0', id)), [true, true, true, false, false]);
    conference.onChannelMessage('ep0', { colibriClass: 'ReceiverVideoConstraints', onStageSources: ['ep39-v0'], selectedSources: ['ep20-v0'] });
    assert.equal(conference.wantsStatsFrom('ep0', 'ep39'), true, 'on stage');
    assert.equal(conference.wantsStatsFrom('ep0', 'ep20'), true, 'selected');
    assert.equal(conference.wantsStatsFrom('ep0', 'ep30'), false);
    assert.equal(conference.wantsStatsFrom('ep0', 'nobody'), false);
    conference.close('done');
  });
});
