import assert from 'node:assert/strict';
import {
  DEFAULT_MAX_HEIGHT, MAX_LISTED_SOURCES, UNLIMITED_HEIGHT, compareForwarding, isSent, planForwarding, planReceiver, rankVideo, rankingIndex, sentTo, replanReceiver, selectVideo,
  toAudioSubscription, withLastN, withVideoConstraints, type ConferenceSource, type ReceiverRequest,
} from '../../../bridge/forwarding.ts';
import { parseBridgeChannelMessage, type BridgeChannelMessageOf } from '../../../xmpp/protocol/bridge-channel.ts';
import { seededRandom } from '../seeded-random.ts';

/** Endpoints a, b, c, d joined in that order; each has a camera and a microphone, c also shares its screen. */
const SOURCES: ConferenceSource[] = [
  ...['a', 'b', 'c', 'd'].flatMap((owner) => [
    { name: `${owner}-a0`, owner, media: 'audio' as const, desktop: false },
    { name: `${owner}-v0`, owner, media: 'video' as const, desktop: false },
  ]),
  { name: 'c-v1', owner: 'c', media: 'video', desktop: true },
];

function constraints(fields: Record<string, unknown>): BridgeChannelMessageOf<'ReceiverVideoConstraints'> {
  return parseBridgeChannelMessage(JSON.stringify({ colibriClass: 'ReceiverVideoConstraints', ...fields })) as BridgeChannelMessageOf<'ReceiverVideoConstraints'>;
}

function audio(fields: Record<string, unknown>) {
  return toAudioSubscription(parseBridgeChannelMessage(JSON.stringify({ colibriClass: 'ReceiverAudioSubscription', ...fields })) as BridgeChannelMessageOf<'ReceiverAudioSubscription'>);
}

const receiver = (id: string, fields?: Record<string, unknown>): ReceiverRequest => ({ id, ...(fields ? { video: withVideoConstraints(undefined, constraints(fields)) } : {}) });
const names = (map: Map<string, number>) => [...map.keys()];

/**
 * The ranking as first written, one receiver at a time with nothing shared (tiers filled in full,
 * then cut at last-N): the reference the shared index and early stop must agree with.
 */
function referenceSelect(receiver: ReceiverRequest, sources: readonly ConferenceSource[], speakers: readonly string[], cap: number): Map<string, number> {
  if (receiver.noVideo) return new Map();
  const video = sources.filter((s) => s.media === 'video' && s.owner !== receiver.id);
  const byName = new Map(video.map((s) => [s.name, s]));
  const tiers: ConferenceSource[][] = [[], [], [], []];
  const placed = new Set<string>();
  const place = (tier: number, source: ConferenceSource | undefined) => {
    if (source && !placed.has(source.name)) {
      placed.add(source.name);
      tiers[tier]!.push(source);
    }
  };
  const named = (name: string) => {
    const source = byName.get(name);
    return source ? [source] : video.filter((s) => s.owner === name);
  };
  for (const name of receiver.video?.onStageSources ?? []) for (const source of named(name)) place(0, source);
  for (const name of receiver.video?.selectedSources ?? []) for (const source of named(name)) place(1, source);
  for (const speaker of speakers) for (const source of video) if (source.owner === speaker) place(2, source);
  for (const source of video) place(3, source);
  const ranked = tiers.flatMap((tier) => [...tier.filter((s) => s.desktop), ...tier.filter((s) => !s.desktop)]);
  const capped = (source: ConferenceSource, height: number) => (source.desktop ? height : Math.min(height, cap));
  const settings = receiver.video;
  if (!settings) return new Map(ranked.filter((s) => !s.disabled).map((s) => [s.name, capped(s, UNLIMITED_HEIGHT)]));
  const chosen = new Map<string, number>();
  for (const source of ranked) {
    if (settings.lastN >= 0 && chosen.size >= settings.lastN) break;
    if (source.disabled) continue;
    const height = settings.maxHeights.get(source.name) ?? settings.maxHeights.get(source.owner) ?? settings.defaultMaxHeight;
    if (height !== 0) chosen.set(source.name, capped(source, height < 0 ? UNLIMITED_HEIGHT : height));
  }
  return chosen;
}

describe('forwarding policy', () => {
  it('ranks and selects as the reference, one receiver at a time, over random rooms (the index shared by all receivers, last-N stopping early)', () => {
    const random = seededRandom(20261130);
    const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
    for (let round = 0; round < 2000; round++) {
      const owners = Array.from({ length: 1 + Math.floor(random() * 8) }, (_, i) => `e${i}`);
      const sources: ConferenceSource[] = owners.flatMap((owner) => {
        const own: ConferenceSource[] = [{ name: `${owner}-a0`, owner, media: 'audio', desktop: false }];
        for (let v = 0; v < Math.floor(random() * 3); v++) {
          own.push({ name: `${owner}-v${v}`, owner, media: 'video', desktop: random() < 0.3, ...(random() < 0.2 ? { disabled: true } : {}) });
        }
        return own;
      });
      const names = [...sources.map((s) => s.name), ...owners, 'nobody'];
      const speakers = Array.from({ length: Math.floor(random() * 4) }, () => pick(owners));
      const cap = pick([UNLIMITED_HEIGHT, 360, 180]);
      for (const id of owners) {
        const fields: Record<string, unknown> = {};
        if (random() < 0.7) fields.lastN = pick([-1, 0, 1, 2, 3, 20]);
        if (random() < 0.5) fields.onStageSources = Array.from({ length: Math.floor(random() * 3) }, () => pick(names));
        if (random() < 0.3) fields.onStageEndpoints = [pick(owners)];
        if (random() < 0.5) fields.selectedSources = Array.from({ length: Math.floor(random() * 3) }, () => pick(names));
        if (random() < 0.6) fields.defaultConstraints = { maxHeight: pick([-1, 0, 180, 720]) };
        if (random() < 0.6) fields.constraints = Object.fromEntries(Array.from({ length: Math.floor(random() * 4) }, () => [pick(names), { maxHeight: pick([0, 180, 360, -1]) }]));
        const request: ReceiverRequest = random() < 0.15 ? { id } : { id, video: withVideoConstraints(undefined, constraints(fields)), ...(random() < 0.05 ? { noVideo: true } : {}) };
        const expected = referenceSelect(request, sources, speakers, cap);
        const got = selectVideo(request, sources, speakers, cap);
        assert.deepEqual([...got], [...expected], `round ${round}, receiver ${id}: ${JSON.stringify({ fields, speakers, sources })}`);
        const plan = planReceiver(request, rankingIndex(sources, speakers), cap);
        assert.deepEqual([...plan.video], [...expected], `round ${round}, receiver ${id}: planReceiver`);
      }
    }
  });

  it('replans one receiver exactly as the whole conference would be planned with its request changed, and says what changed', () => {
    const random = seededRandom(0x5a1b);
    const pick = <T,>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
    const heights = [-1, 0, 180, 360, 720];
    const names = SOURCES.filter((s) => s.media === 'video').map((s) => s.name);
    const requestOf = (id: string): ReceiverRequest => {
      const fields: Record<string, unknown> = { lastN: pick([-1, 0, 1, 2, 3]), defaultConstraints: { maxHeight: pick(heights), ...(random() < 0.3 ? { maxFrameRate: pick([7.5, 15, 30]) } : {}) } };
      if (random() < 0.5) fields.onStageSources = [pick(names)];
      if (random() < 0.3) fields.selectedSources = [pick(names), pick(names)];
      if (random() < 0.6) fields.constraints = Object.fromEntries([pick(names), pick(names)].map((n) => [n, { maxHeight: pick(heights) }]));
      const request: ReceiverRequest = random() < 0.15 ? { id } : { id, video: withVideoConstraints(undefined, constraints(fields)) };
      if (random() < 0.3) request.audio = audio({ all: random() < 0.5, include: [pick(['a-a0', 'b', 'c-a0'])], exclude: random() < 0.3 ? ['d'] : [] });
      return request;
    };
    const ids = ['a', 'b', 'c', 'd'];
    for (let round = 0; round < 300; round++) {
      const speakers = [pick(ids), pick(ids)];
      const cap = pick([UNLIMITED_HEIGHT, 360, 180]);
      const requests = ids.map(requestOf);
      const plan = planForwarding(requests, SOURCES, speakers, cap);
      const id = pick(ids);
      const changed = requests.map((r) => (r.id === id ? requestOf(id) : r));
      const expected = planForwarding(changed, SOURCES, speakers, cap);
      const before = structuredClone(plan);
      const changes = replanReceiver(plan, id, planReceiver(changed.find((r) => r.id === id)!, rankingIndex(SOURCES, speakers), cap));
      assert.deepEqual(plan, expected, `round ${round}: the same plan`);
      const full = compareForwarding(before, expected);
      assert.deepEqual(changes.senderHeights, full.senderHeights, `round ${round}: the same sender heights to tell, in the same order`);
      assert.deepEqual(new Set(changes.started), new Set([...full.keyframes].filter((name) => !before.video.get(id)?.has(name) && expected.video.get(id)!.has(name))));
      const receivingBefore = new Set(sentTo(before, id));
      const receivingAfter = new Set(sentTo(expected, id));
      assert.deepEqual(new Set(changes.receivingChanged), new Set([...new Set([...receivingBefore, ...receivingAfter])].filter((n) => receivingBefore.has(n) !== receivingAfter.has(n))));
    }
  });

  describe('video selection', () => {
    it('caps camera sources at the bridge\'s overload cap, whatever receivers ask, but never a screen share', () => {
      const receivers = [receiver('a'), receiver('b', { defaultConstraints: { maxHeight: 180 } }), receiver('d', { defaultConstraints: { maxHeight: 720 } })];
      const plan = planForwarding(receivers, SOURCES, [], 360);
      assert.deepEqual([...plan.video.get('a')!], [['c-v1', UNLIMITED_HEIGHT], ['b-v0', 360], ['c-v0', 360], ['d-v0', 360]]);
      assert.deepEqual([...plan.video.get('b')!], [['c-v1', 180], ['a-v0', 180], ['c-v0', 180], ['d-v0', 180]], 'under the cap, the receiver\'s own height');
      assert.equal(plan.video.get('d')!.get('c-v1'), 720);
      assert.deepEqual([...plan.senderHeights], [['a-v0', 360], ['b-v0', 360], ['c-v0', 360], ['d-v0', 360], ['c-v1', UNLIMITED_HEIGHT]], 'senders asked for 360 at most');
      assert.deepEqual([...planForwarding(receivers, SOURCES, []).senderHeights.values()], [720, UNLIMITED_HEIGHT, UNLIMITED_HEIGHT, UNLIMITED_HEIGHT, UNLIMITED_HEIGHT], 'without the cap');
    });

    it('forwards every other video source at full height before the receiver says anything', () => {
      assert.deepEqual([...selectVideo(receiver('a'), SOURCES, [])], [['c-v1', UNLIMITED_HEIGHT], ['b-v0', UNLIMITED_HEIGHT], ['c-v0', UNLIMITED_HEIGHT], ['d-v0', UNLIMITED_HEIGHT]]);
    });

    it('ranks on-stage, then selected, then speakers, then join order; screen shares first within a tier', () => {
      const r = receiver('a', { onStageSources: ['d-v0', 'nobody-v0', 'a-v0'], selectedSources: ['b-v0'] });
      assert.deepEqual(rankVideo(r, SOURCES, ['c', 'a']).map((s) => s.name), ['d-v0', 'b-v0', 'c-v1', 'c-v0'],
        'unknown and own sources are ignored; the speaker c\'s screen share before its camera');
      assert.deepEqual(rankVideo(receiver('a'), SOURCES, ['d', 'b']).map((s) => s.name), ['d-v0', 'b-v0', 'c-v1', 'c-v0']);
    });

    it('keeps the first lastN: 0 forwards no video, 1 the top source, -1 all of them', () => {
      const sees = (lastN: number) => names(selectVideo(receiver('a', { lastN, onStageSources: ['c-v0'] }), SOURCES, ['d']));
      assert.deepEqual(sees(0), []);
      assert.deepEqual(sees(1), ['c-v0']);
      assert.deepEqual(sees(2), ['c-v0', 'd-v0']);
      assert.deepEqual(sees(-1), ['c-v0', 'd-v0', 'c-v1', 'b-v0']);
      assert.deepEqual(sees(1_000_000_000), sees(-1), 'an absurd lastN is just "all"');
    });

    it('gives last-N slots only to sources wanted (maxHeight > 0), as JVB, and gives them their height', () => {
      const r = receiver('a', { lastN: 2, defaultConstraints: { maxHeight: 360 }, constraints: { 'b-v0': { maxHeight: 0 }, 'c-v0': { maxHeight: -1 } } });
      assert.deepEqual([...selectVideo(r, SOURCES, ['b', 'c'])], [['c-v1', 360], ['c-v0', UNLIMITED_HEIGHT]], 'b-v0 (0), the top speaker\'s, takes no slot; d-v0 falls beyond lastN 2');
      // jitsi-meet's tile view scrolled down: height 0 by default, the tiles on screen named; the first ranked are off screen.
      const tiles = receiver('a', { lastN: 2, defaultConstraints: { maxHeight: 0 }, constraints: { 'd-v0': { maxHeight: 360 } } });
      assert.deepEqual([...selectVideo(tiles, SOURCES, ['b', 'c'])], [['d-v0', 360]], 'the tile on screen is sent, though ranked last');
      const only = receiver('a', { defaultConstraints: { maxHeight: 0 }, constraints: { 'c-v0': { maxHeight: 720 } } });
      assert.deepEqual([...selectVideo(only, SOURCES, [])], [['c-v0', 720]], 'a default of 0 forwards only the sources named');
      assert.deepEqual([...selectVideo(receiver('a', { constraints: { 'c-v0': { maxHeight: -1 } } }), SOURCES, [])],
        [['c-v1', DEFAULT_MAX_HEIGHT], ['b-v0', DEFAULT_MAX_HEIGHT], ['c-v0', UNLIMITED_HEIGHT], ['d-v0', DEFAULT_MAX_HEIGHT]],
        'unnamed sources get JVB\'s default of 180; -1 is unlimited');
    });

    it('understands the older endpoint-keyed form (onStageEndpoints, selectedEndpoints, constraints by endpoint id)', () => {
      // lib-jitsi-meet before source names: {"onStageEndpoints":["c"],"defaultConstraints":{"maxHeight":180},"constraints":{"c":{"maxHeight":720}}}
      const r = receiver('a', { lastN: 3, onStageEndpoints: ['c'], selectedEndpoints: ['d'], defaultConstraints: { maxHeight: 180 }, constraints: { c: { maxHeight: 720 } } });
      assert.deepEqual([...selectVideo(r, SOURCES, [])], [['c-v1', 720], ['c-v0', 720], ['d-v0', 180]], 'c\'s sources on stage at 720, d selected, b beyond lastN');
      const hidden = receiver('a', { constraints: { b: { maxHeight: 0 } } });
      assert.ok(!names(selectVideo(hidden, SOURCES, [])).includes('b-v0'), 'maxHeight 0 for an endpoint stops its video');
    });

    it('merges constraints messages field by field and bounds what it keeps', () => {
      let settings = withVideoConstraints(undefined, constraints({ lastN: 3, onStageSources: ['b-v0'], defaultConstraints: { maxHeight: 360 } }));
      settings = withVideoConstraints(settings, constraints({ constraints: { 'b-v0': { maxHeight: 720 } } }));
      assert.deepEqual({ ...settings, maxHeights: [...settings.maxHeights], maxFrameRates: [...settings.maxFrameRates] },
        { lastN: 3, onStageSources: ['b-v0'], selectedSources: [], defaultMaxHeight: 360, maxHeights: [['b-v0', 720]], defaultMaxFrameRate: -1, maxFrameRates: [] });
      settings = withLastN(settings, 0);
      assert.equal(settings.lastN, 0);
      assert.equal(withLastN(undefined, 2).defaultMaxHeight, DEFAULT_MAX_HEIGHT, 'LastNChangedEvent alone starts from the defaults');
      const many = Array.from({ length: 1000 }, (_, i) => `x${i}-v0`);
      const huge = withVideoConstraints(undefined, constraints({ selectedSources: many, constraints: Object.fromEntries(many.map((n) => [n, { maxHeight: 1 }])) }));
      assert.equal(huge.selectedSources.length, MAX_LISTED_SOURCES);
      assert.equal(huge.maxHeights.size, MAX_LISTED_SOURCES);
    });
  });

  describe('audio', () => {
    const heard = (subscription: ReturnType<typeof audio> | undefined) =>
      sentTo(planForwarding([{ id: 'a', ...(subscription ? { audio: subscription } : {}) }], SOURCES, []), 'a').filter((n) => n.includes('-a'));

    it('forwards all other audio by default, and whatever the video constraints say', () => {
      assert.deepEqual(heard(undefined), ['b-a0', 'c-a0', 'd-a0']);
      const plan = planForwarding([receiver('a', { lastN: 0 })], SOURCES, []);
      assert.deepEqual(sentTo(plan, 'a'), ['b-a0', 'c-a0', 'd-a0'], 'lastN 0 leaves audio alone');
      assert.deepEqual(['b-a0', 'a-a0', 'b-v0', 'nothing'].map((name) => isSent(plan, 'a', name)), [true, false, false, false]);
      assert.equal(isSent(plan, 'stranger', 'b-a0'), undefined);
    });

    it('follows ReceiverAudioSubscription: include by source or endpoint, exclude wins, legacy modes', () => {
      assert.deepEqual(heard(audio({ all: false, include: ['c-a0', 'd'] })), ['c-a0', 'd-a0']);
      assert.deepEqual(heard(audio({ all: true, exclude: ['b-a0'] })), ['c-a0', 'd-a0']);
      assert.deepEqual(heard(audio({ include: ['b'], exclude: ['b-a0'] })), []);
      assert.deepEqual(heard(audio({ mode: 'None' })), []);
      assert.deepEqual(heard(audio({ mode: 'Exclude', list: ['d-a0'] })), ['b-a0', 'c-a0']);
      assert.deepEqual(heard(audio({ mode: 'All' })), ['b-a0', 'c-a0', 'd-a0']);
    });
  });

  describe('sender source constraints', () => {
    it('asks each sender for the greatest height a receiver it is forwarded to wants', () => {
      const plan = planForwarding([
        receiver('a', { lastN: 1, onStageSources: ['b-v0'], constraints: { 'b-v0': { maxHeight: 720 } } }),
        receiver('b', { defaultConstraints: { maxHeight: 360 }, constraints: { 'c-v1': { maxHeight: 0 } } }),
        receiver('c', { defaultConstraints: { maxHeight: 0 } }),
        receiver('d', {}),
      ], SOURCES, []);
      assert.deepEqual([...plan.senderHeights], [['a-v0', 360], ['b-v0', 720], ['c-v0', 360], ['d-v0', 360], ['c-v1', DEFAULT_MAX_HEIGHT]],
        'd\'s empty constraints mean the default 180, below b\'s 360; of c-v1, b wants nothing and a has no room');
    });

    it('gives each receiver its own height per source, the sender the tallest', () => {
      const plan = planForwarding([
        receiver('a', { onStageSources: ['b-v0'], constraints: { 'b-v0': { maxHeight: 720 } } }),
        receiver('c', { constraints: { 'b-v0': { maxHeight: 180 } } }),
      ], SOURCES.filter((s) => s.owner !== 'd'), []);
      assert.equal(plan.video.get('a')!.get('b-v0'), 720);
      assert.equal(plan.video.get('c')!.get('b-v0'), 180);
      assert.equal(plan.senderHeights.get('b-v0'), 720);
    });

    it('asks for 2160 when a receiver has not constrained anything yet, and 0 when no receiver gets the source', () => {
      const plan = planForwarding([receiver('a', { lastN: 0 }), receiver('b')], SOURCES.filter((s) => s.owner !== 'c'), []);
      assert.deepEqual([...plan.senderHeights], [['a-v0', UNLIMITED_HEIGHT], ['b-v0', 0], ['d-v0', UNLIMITED_HEIGHT]]);
    });
  });

  describe('frame rates', () => {
    it('keeps maxFrameRate per receiver and source (own constraints, else the default; -1 or absent: no limit)', () => {
      const plan = planForwarding([
        receiver('a', { defaultConstraints: { maxHeight: 360, maxFrameRate: 15 }, constraints: { 'b-v0': { maxHeight: 720, maxFrameRate: 30 }, c: { maxHeight: 180 } } }),
        receiver('b', { defaultConstraints: { maxHeight: 360, maxFrameRate: -1 } }),
        receiver('c'),
      ], SOURCES, []);
      assert.deepEqual([...plan.frameRates.get('a')!], [['c-v1', 15], ['b-v0', 30], ['c-v0', 15], ['d-v0', 15]],
        'c\'s sources are named by endpoint without a rate: the default applies');
      assert.equal(plan.frameRates.get('b'), undefined);
      assert.equal(plan.frameRates.get('c'), undefined);
    });
  });

  describe('plan changes', () => {
    it('announces forwarded sets and sender heights only when they change, and asks keyframes for what starts', () => {
      const first = planForwarding([receiver('a'), receiver('b')], SOURCES.filter((s) => s.owner === 'a' || s.owner === 'b'), []);
      const initial = compareForwarding(undefined, first);
      assert.deepEqual([...initial.forwardedSources], [['a', ['b-v0']], ['b', ['a-v0']]]);
      assert.deepEqual([...initial.senderHeights], [['a-v0', UNLIMITED_HEIGHT], ['b-v0', UNLIMITED_HEIGHT]]);
      assert.deepEqual([...initial.keyframes], ['b-v0', 'a-v0']);

      const same = compareForwarding(first, planForwarding([receiver('a'), receiver('b')], SOURCES.filter((s) => s.owner === 'a' || s.owner === 'b'), []));
      assert.deepEqual([same.forwardedSources.size, same.senderHeights.size, same.keyframes.size], [0, 0, 0]);

      const lastN0 = planForwarding([receiver('a', { lastN: 0 }), receiver('b')], SOURCES.filter((s) => s.owner === 'a' || s.owner === 'b'), []);
      const stopped = compareForwarding(first, lastN0);
      assert.deepEqual([...stopped.forwardedSources], [['a', []]]);
      assert.deepEqual([...stopped.senderHeights], [['b-v0', 0]]);
      assert.deepEqual([...stopped.keyframes], []);

      const back = compareForwarding(lastN0, first);
      assert.deepEqual([...back.forwardedSources], [['a', ['b-v0']]]);
      assert.deepEqual([...back.keyframes], ['b-v0'], 'forwarded again: its receiver needs a keyframe');
    });

    it('tells a lone receiver nothing until there is something to forward', () => {
      const alone = planForwarding([receiver('a')], SOURCES.filter((s) => s.owner === 'a'), []);
      const changes = compareForwarding(undefined, alone);
      assert.equal(changes.forwardedSources.size, 0);
      assert.deepEqual([...changes.senderHeights], [['a-v0', 0]], 'its own camera is wanted by nobody');
    });
  });
});
