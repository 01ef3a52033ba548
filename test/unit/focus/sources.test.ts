import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, type Element } from 'ltx';
import {
  buildSourceChange, ConferenceSources, DEFAULT_SOURCE_LIMITS, EMPTY_SOURCES, forReceiver, SourceError, sourcesFromContents,
  sourceUpdates, stripSimulcast, toColibri2Sources, toJingleContents, toJsonSources,
  type OwnedSources, type Source, type SourceGroup, type SourceRefusal, type SourceSet,
} from '../../../focus/sources.ts';
import { parseConferenceModify } from '../../../xmpp/protocol/colibri2.ts';
import { buildJingle, NS_JINGLE, parseJingle } from '../../../xmpp/protocol/jingle.ts';
import { canonicalXml, FIXTURES } from '../xmpp/protocol/fixtures.ts';

const A = 'abcd1234';
const B = 'efgh5678';

const audio = (endpoint: string, ssrc: number, index = 0): Source =>
  ({ ssrc, media: 'audio', name: `${endpoint}-a${index}`, msid: `${endpoint}-audio-${index}-1 track-a${index}` });
const video = (endpoint: string, ssrc: number, index = 0, videoType: 'camera' | 'desktop' = index === 0 ? 'camera' : 'desktop'): Source =>
  ({ ssrc, media: 'video', name: `${endpoint}-v${index}`, videoType, msid: `${endpoint}-video-${index}-1 track-v${index}` });
const fid = (primary: number, rtx: number): SourceGroup => ({ semantics: 'FID', media: 'video', ssrcs: [primary, rtx] });
const sim = (...ssrcs: number[]): SourceGroup => ({ semantics: 'SIM', media: 'video', ssrcs });

/** What lib-jitsi-meet signals for a simulcast camera: 3 layers, 3 RTX, SIM + 3 FID, plus one audio source. */
function simulcastCamera(endpoint: string, base: number, index = 0): SourceSet {
  const layers = [base + 1, base + 2, base + 3];
  const rtx = [base + 11, base + 12, base + 13];
  return {
    sources: [audio(endpoint, base), ...layers.map((s) => video(endpoint, s, index)), ...rtx.map((s) => video(endpoint, s, index))],
    groups: [sim(...layers), ...layers.map((s, i) => fid(s, rtx[i]!))],
  };
}

/** Fails unless `fn` throws a SourceError with this refusal and stanza condition. */
function assertRefused(fn: () => unknown, refusal: SourceRefusal, condition: 'bad-request' | 'not-acceptable' = 'bad-request'): SourceError {
  let caught: SourceError | undefined;
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof SourceError, `not a SourceError: ${String(err)}`);
    assert.deepEqual(err.refusal, refusal);
    assert.equal(err.condition, condition);
    assert.equal(err.type, 'modify');
    caught = err;
    return true;
  });
  return caught!;
}

function jingleOf(file: string): Element {
  const jingle = parse(readFileSync(join(FIXTURES, 'jingle', file), 'utf8')).getChild('jingle', NS_JINGLE);
  assert.ok(jingle, `no <jingle/> in ${file}`);
  return jingle;
}

describe('focus/sources', () => {
  let conference: ConferenceSources;
  beforeEach(() => {
    conference = new ConferenceSources();
  });

  describe('limits', () => {
    it("defaults to Jicofo's max-ssrcs-per-user and max-ssrc-groups-per-user (20 each) and Salon's 2 video sources, 3 layers", () => {
      assert.deepEqual({ ...DEFAULT_SOURCE_LIMITS }, {
        maxSsrcs: 20, maxGroups: 20, maxVideoSources: 2, maxSimulcastLayers: 3, requireNamePrefix: true,
      });
    });
  });

  describe('add', () => {
    it("accepts lib-jitsi-meet's simulcast camera and audio and records their owner", () => {
      const set = simulcastCamera(A, 1000);
      const accepted = conference.add(A, set);
      assert.deepEqual(accepted, set);
      assert.deepEqual(conference.get(A), set);
      assert.equal(conference.ownerOf(1001), A);
      assert.equal(conference.ownerOf(1000), A);
      assert.equal(conference.ownerOf(999), undefined);
      assert.deepEqual(conference.endpoints(), [A]);
    });

    it('accepts the lowest and highest SSRC (1 and 2^32-1)', () => {
      conference.add(A, { sources: [audio(A, 1), video(A, 0xffffffff)], groups: [] });
      assert.equal(conference.ownerOf(0xffffffff), A);
    });

    for (const ssrc of [0, -1, 0x100000000, 1.5, Number.NaN]) {
      it(`refuses SSRC ${ssrc} as invalid (bad-request)`, () => {
        assertRefused(() => conference.add(A, { sources: [audio(A, ssrc)], groups: [] }), { reason: 'invalid-ssrc', ssrc });
      });
    }

    it('refuses an SSRC another endpoint owns, naming the SSRC and its owner', () => {
      conference.add(B, { sources: [audio(B, 42)], groups: [] });
      const err = assertRefused(() => conference.add(A, { sources: [audio(A, 42)], groups: [] }), { reason: 'ssrc-in-use', ssrc: 42, owner: B });
      assert.match(err.text ?? '', /SSRC 42 .*efgh5678/);
    });

    it("refuses the bridge's own SSRCs (jvb-a0, jvb-v0) while reserved, and only those", () => {
      conference.reserve([777, 778]);
      assertRefused(() => conference.add(A, { sources: [audio(A, 777)], groups: [] }), { reason: 'ssrc-in-use', ssrc: 777, owner: 'jvb' });
      assertRefused(() => conference.add(A, { sources: [audio(A, 778)], groups: [] }), { reason: 'ssrc-in-use', ssrc: 778, owner: 'jvb' });
      conference.add(A, { sources: [audio(A, 779)], groups: [] });
      conference.reserve([]);
      conference.add(B, { sources: [audio(B, 777)], groups: [] });
    });

    it('refuses an SSRC the same endpoint already added', () => {
      conference.add(A, { sources: [audio(A, 42)], groups: [] });
      assertRefused(() => conference.add(A, { sources: [audio(A, 42)], groups: [] }), { reason: 'ssrc-in-use', ssrc: 42, owner: A });
    });

    it('counts a source signalled twice identically in one request once', () => {
      const accepted = conference.add(A, { sources: [audio(A, 42), audio(A, 42)], groups: [] });
      assert.deepEqual(accepted.sources, [audio(A, 42)]);
    });

    it('refuses one SSRC signalled twice with different attributes in one request', () => {
      assertRefused(
        () => conference.add(A, { sources: [audio(A, 42), { ...audio(A, 42), msid: 'other track' }], groups: [] }),
        { reason: 'ssrc-in-use', ssrc: 42, owner: A },
      );
    });

    it('refuses an MSID another endpoint uses', () => {
      conference.add(B, { sources: [{ ...audio(B, 7), msid: 'shared track' }], groups: [] });
      assertRefused(
        () => conference.add(A, { sources: [{ ...audio(A, 8), msid: 'shared track' }], groups: [] }),
        { reason: 'msid-in-use', msid: 'shared track', owner: B },
      );
    });

    it('refuses two separate streams of one media with the same MSID, but lets audio and video share one', () => {
      assertRefused(
        () => conference.add(A, { sources: [video(A, 1), { ...video(A, 2), name: `${A}-v1` }], groups: [] }),
        { reason: 'msid-in-use', msid: `${A}-video-0-1 track-v0`, owner: A },
      );
      conference.add(A, { sources: [{ ...audio(A, 3), msid: 'one stream' }, { ...video(A, 4), msid: 'one stream' }], groups: [] });
    });

    it('drops the videoType of an audio source', () => {
      const accepted = conference.add(A, { sources: [{ ...audio(A, 5), videoType: 'camera' }], groups: [] });
      assert.deepEqual(accepted.sources, [audio(A, 5)]);
    });

    describe('SSRC and group limits', () => {
      const audioSources = (n: number, from = 1) => Array.from({ length: n }, (_, i) => ({ ...audio(A, from + i, i), msid: `s${from + i} t` }));

      it('accepts 20 SSRCs and refuses a 21st, also across requests (not-acceptable)', () => {
        conference.add(A, { sources: audioSources(15), groups: [] });
        conference.add(A, { sources: audioSources(5, 100), groups: [] });
        assertRefused(() => conference.add(A, { sources: audioSources(1, 200), groups: [] }), { reason: 'too-many-ssrcs', limit: 20 }, 'not-acceptable');
        assert.equal(conference.get(A).sources.length, 20);
      });

      it('refuses 21 SSRCs in one request', () => {
        assertRefused(() => conference.add(A, { sources: audioSources(21), groups: [] }), { reason: 'too-many-ssrcs', limit: 20 }, 'not-acceptable');
      });

      it('refuses more groups than the limit, counting the ones already stored', () => {
        const limited = new ConferenceSources({ maxGroups: 2, maxVideoSources: 5 });
        const pair = (i: number) => ({ sources: [video(A, 10 * i, i), video(A, 10 * i + 1, i)], groups: [fid(10 * i, 10 * i + 1)] });
        limited.add(A, pair(1));
        limited.add(A, pair(2));
        assertRefused(() => limited.add(A, pair(3)), { reason: 'too-many-groups', limit: 2 }, 'not-acceptable');
        assert.equal(limited.ownerOf(30), undefined);
      });

      it('refuses a third video source but accepts camera and screen share', () => {
        conference.add(A, simulcastCamera(A, 1000));
        conference.add(A, { sources: [video(A, 4001, 1), video(A, 4002, 1)], groups: [fid(4001, 4002)] });
        assertRefused(
          () => conference.add(A, { sources: [video(A, 5001, 2)], groups: [] }),
          { reason: 'too-many-video-sources', limit: 2 },
          'not-acceptable',
        );
      });

      it('counts unnamed video streams by their groups', () => {
        const limited = new ConferenceSources({ maxVideoSources: 1 });
        const unnamed = (ssrc: number, msid: string): Source => ({ ssrc, media: 'video', msid });
        limited.add(A, { sources: [unnamed(1, 'm1 t'), unnamed(2, 'm1 t')], groups: [fid(1, 2)] });
        assertRefused(() => limited.add(A, { sources: [unnamed(3, 'm2 t')], groups: [] }), { reason: 'too-many-video-sources', limit: 1 }, 'not-acceptable');
      });
    });

    describe('groups', () => {
      it('refuses a group naming an SSRC the endpoint has not signalled', () => {
        const group = fid(1, 2);
        assertRefused(() => conference.add(A, { sources: [video(A, 1)], groups: [group] }), { reason: 'group-unknown-ssrc', group, ssrc: 2 });
      });

      it("refuses a group naming another endpoint's SSRC", () => {
        conference.add(B, { sources: [video(B, 2)], groups: [] });
        const group = fid(1, 2);
        assertRefused(() => conference.add(A, { sources: [video(A, 1)], groups: [group] }), { reason: 'group-unknown-ssrc', group, ssrc: 2 });
      });

      it("refuses a video group naming the endpoint's audio SSRC", () => {
        const group = fid(1, 2);
        assertRefused(
          () => conference.add(A, { sources: [video(A, 1), { ...audio(A, 2), msid: video(A, 1).msid! }], groups: [group] }),
          { reason: 'group-unknown-ssrc', group, ssrc: 2 },
        );
      });

      for (const ssrcs of [[1], [1, 2, 3], [1, 1]]) {
        it(`refuses the FID group (${ssrcs.join(',')}): exactly 2 distinct SSRCs`, () => {
          const group: SourceGroup = { semantics: 'FID', media: 'video', ssrcs };
          assertRefused(() => conference.add(A, { sources: [video(A, 1), video(A, 2), video(A, 3)], groups: [group] }), { reason: 'bad-fid-group', group });
        });
      }

      it('refuses a SIM group of 4 layers (not-acceptable) and one repeating an SSRC', () => {
        const sources = [1, 2, 3, 4].map((s) => video(A, s));
        const four = sim(1, 2, 3, 4);
        assertRefused(() => conference.add(A, { sources, groups: [four] }), { reason: 'bad-sim-group', group: four, limit: 3 }, 'not-acceptable');
        const twice = sim(1, 1, 2);
        assertRefused(() => conference.add(A, { sources, groups: [twice] }), { reason: 'bad-sim-group', group: twice, limit: 3 }, 'not-acceptable');
      });

      it('accepts a SIM group of 2 layers (a lower resolution camera)', () => {
        conference.add(A, { sources: [video(A, 1), video(A, 2)], groups: [sim(1, 2)] });
        assert.deepEqual(conference.get(A).groups, [sim(1, 2)]);
      });

      it('ignores empty groups and groups signalled again', () => {
        const accepted = conference.add(A, {
          sources: [video(A, 1), video(A, 2)],
          groups: [fid(1, 2), { semantics: 'SIM', media: 'video', ssrcs: [] }, fid(1, 2)],
        });
        assert.deepEqual(accepted.groups, [fid(1, 2)]);
        const again = conference.add(A, { sources: [], groups: [fid(1, 2)] });
        assert.deepEqual(again, EMPTY_SOURCES);
        assert.deepEqual(conference.get(A).groups, [fid(1, 2)]);
      });

      it('refuses a grouped source without msid', () => {
        const bare: Source = { ssrc: 2, media: 'video', name: `${A}-v0` };
        assertRefused(() => conference.add(A, { sources: [video(A, 1), bare], groups: [fid(1, 2)] }), { reason: 'missing-msid', ssrc: 2 });
      });

      it('refuses a group whose sources have different MSIDs', () => {
        const group = fid(1, 2);
        assertRefused(
          () => conference.add(A, { sources: [video(A, 1), { ...video(A, 2), msid: 'other t' }], groups: [group] }),
          { reason: 'group-msid-mismatch', group },
        );
      });

    });

    describe('source names', () => {
      it("refuses a name that does not start with the endpoint ID and a dash (not-acceptable)", () => {
        assertRefused(
          () => conference.add(A, { sources: [{ ...audio(A, 1), name: `${B}-a0` }], groups: [] }),
          { reason: 'bad-source-name', ssrc: 1, name: `${B}-a0` },
          'not-acceptable',
        );
        assertRefused(
          () => conference.add(A, { sources: [{ ...audio(A, 1), name: `${A}a0` }], groups: [] }),
          { reason: 'bad-source-name', ssrc: 1, name: `${A}a0` },
          'not-acceptable',
        );
        // endpoint A may not claim a name of endpoint `A-cd` (its prefix followed by more of an id)
        assertRefused(
          () => conference.add(A, { sources: [{ ...audio(A, 1), name: `${A}-cd-a0` }], groups: [] }),
          { reason: 'bad-source-name', ssrc: 1, name: `${A}-cd-a0` },
          'not-acceptable',
        );
      });

      it('refuses a name given to sources of both media, even with the rule off (the bridge would forward that video as audio)', () => {
        // A camera's layers named as the microphone: one audio media-source to the bridge.
        assertRefused(
          () => conference.add(A, { sources: [audio(A, 1), { ...video(A, 2), name: `${A}-a0` }], groups: [] }),
          { reason: 'bad-source-name', ssrc: 2, name: `${A}-a0` },
          'not-acceptable',
        );
        // In two requests, and where an unnamed source takes the default name.
        conference.add(A, { sources: [{ ssrc: 1, media: 'audio' }], groups: [] });
        assertRefused(
          () => conference.add(A, { sources: [{ ...video(A, 3), name: `${A}-a0` }], groups: [] }),
          { reason: 'bad-source-name', ssrc: 3, name: `${A}-a0` },
          'not-acceptable',
        );
        const lenient = new ConferenceSources({ requireNamePrefix: false });
        assertRefused(
          () => lenient.add(A, { sources: [{ ...audio(A, 1), name: 'mixed' }, { ...video(A, 2), name: 'mixed' }], groups: [] }),
          { reason: 'bad-source-name', ssrc: 2, name: 'mixed' },
          'not-acceptable',
        );
      });

      it('accepts unnamed sources, and any name when the rule is off', () => {
        conference.add(A, { sources: [{ ssrc: 1, media: 'audio' }], groups: [] });
        const lenient = new ConferenceSources({ requireNamePrefix: false });
        lenient.add(A, { sources: [{ ...audio(A, 1), name: 'jigasi-audio' }], groups: [] });
        assert.equal(lenient.get(A).sources[0]?.name, 'jigasi-audio');
      });
    });

    it('leaves the state untouched when it refuses', () => {
      conference.add(A, { sources: [audio(A, 1)], groups: [] });
      const before = conference.get(A);
      assertRefused(() => conference.add(A, { sources: [video(A, 2), video(A, 3)], groups: [fid(2, 4)] }), { reason: 'group-unknown-ssrc', group: fid(2, 4), ssrc: 4 });
      assert.deepEqual(conference.get(A), before);
      assert.equal(conference.ownerOf(2), undefined);
      conference.add(B, { sources: [video(B, 2)], groups: [] });
    });
  });

  describe('remove', () => {
    beforeEach(() => {
      conference.add(A, simulcastCamera(A, 1000));
      conference.add(B, { sources: [audio(B, 7)], groups: [] });
    });

    it('matches sources by SSRC alone, returns them as stored, and removes the groups that name them', () => {
      const ssrcs = [1001, 1002, 1003, 1011, 1012, 1013];
      const removed = conference.remove(A, { sources: ssrcs.map((ssrc) => ({ ssrc, media: 'video' as const })), groups: [] });
      assert.deepEqual(removed.sources, ssrcs.map((s) => video(A, s)));
      assert.deepEqual(removed.groups, [sim(1001, 1002, 1003), fid(1001, 1011), fid(1002, 1012), fid(1003, 1013)]);
      assert.deepEqual(conference.get(A), { sources: [audio(A, 1000)], groups: [] });
      assert.equal(conference.ownerOf(1002), undefined);
    });

    it('lists a group removed explicitly and by its sources once', () => {
      const sources = [1001, 1002, 1003, 1011, 1012, 1013].map((ssrc) => ({ ssrc, media: 'video' as const }));
      const removed = conference.remove(A, { sources, groups: [fid(1002, 1012), sim(1001, 1002, 1003)] });
      assert.deepEqual(removed.groups, [sim(1001, 1002, 1003), fid(1001, 1011), fid(1002, 1012), fid(1003, 1013)]);
    });

    it('refuses a removal that leaves separate streams sharing an MSID, and keeps the state (Jicofo validates the result)', () => {
      const before = conference.get(A);
      assertRefused(
        () => conference.remove(A, { sources: [], groups: [sim(1001, 1002, 1003)] }),
        { reason: 'msid-in-use', msid: video(A, 1001).msid!, owner: A },
      );
      assert.deepEqual(conference.get(A), before);
      assert.equal(conference.ownerOf(1002), A);
    });

    it('refuses an SSRC the endpoint does not own, naming the owner when there is one', () => {
      assertRefused(() => conference.remove(A, { sources: [{ ssrc: 9, media: 'audio' }], groups: [] }), { reason: 'unknown-source', ssrc: 9 });
      assertRefused(() => conference.remove(A, { sources: [{ ssrc: 7, media: 'audio' }], groups: [] }), { reason: 'unknown-source', ssrc: 7, owner: B });
      assert.equal(conference.ownerOf(7), B);
    });

    it('refuses a group the endpoint does not have', () => {
      assertRefused(() => conference.remove(A, { sources: [], groups: [fid(1001, 1012)] }), { reason: 'unknown-group', group: fid(1001, 1012) });
    });

    it('does nothing for an empty request, even from an endpoint without sources', () => {
      assert.deepEqual(conference.remove('nobody', EMPTY_SOURCES), EMPTY_SOURCES);
    });

    it('forgets an endpoint whose last source goes, and frees its SSRCs and MSIDs for others', () => {
      const all = conference.get(A);
      conference.remove(A, { sources: all.sources, groups: [] });
      assert.deepEqual(conference.endpoints(), [B]);
      conference.add(B, { sources: [{ ...video(B, 1001), msid: video(A, 1001).msid! }], groups: [] });
      assert.equal(conference.ownerOf(1001), B);
    });
  });

  describe('removeEndpoint, others, all', () => {
    it('returns what the endpoint had and frees it', () => {
      const set = simulcastCamera(A, 1000);
      conference.add(A, set);
      assert.deepEqual(conference.removeEndpoint(A), set);
      assert.deepEqual(conference.endpoints(), []);
      assert.equal(conference.ownerOf(1001), undefined);
      assert.deepEqual(conference.removeEndpoint(A), EMPTY_SOURCES);
    });

    it("gives everyone else's sources, in join order", () => {
      conference.add(A, { sources: [audio(A, 1)], groups: [] });
      conference.add(B, { sources: [audio(B, 2)], groups: [] });
      conference.add('ijkl9012', { sources: [audio('ijkl9012', 3)], groups: [] });
      assert.deepEqual(conference.others(B).map((o) => o.owner), [A, 'ijkl9012']);
      assert.deepEqual(conference.others(B)[0], { owner: A, sources: [audio(A, 1)], groups: [] });
      assert.deepEqual(conference.all().map((o) => o.owner), [A, B, 'ijkl9012']);
      assert.deepEqual(conference.others('stranger').length, 3);
    });
  });

  describe('what receivers see', () => {
    it('strips simulcast to the first layer and its RTX', () => {
      const stripped = stripSimulcast(simulcastCamera(A, 1000));
      assert.deepEqual(stripped, { sources: [audio(A, 1000), video(A, 1001), video(A, 1011)], groups: [fid(1001, 1011)] });
    });

    it('leaves a set without SIM groups as it is', () => {
      const set = { sources: [video(A, 1), video(A, 2)], groups: [fid(1, 2)] };
      assert.deepEqual(stripSimulcast(set), set);
    });

    it('filters by the media a receiver takes and drops owners left empty', () => {
      const sources: OwnedSources[] = [{ owner: A, ...simulcastCamera(A, 1000) }, { owner: B, sources: [video(B, 5)], groups: [] }];
      const audioOnly = forReceiver(sources, { jsonSources: true, video: false });
      assert.deepEqual(audioOnly, [{ owner: A, sources: [audio(A, 1000)], groups: [] }]);
      const unstripped = forReceiver(sources, { jsonSources: true, stripSimulcast: false });
      assert.deepEqual(unstripped, sources);
    });

    it('tells a receiver only the stripped difference, removals first', () => {
      const receiver = { jsonSources: true };
      const camera = simulcastCamera(A, 1000);
      assert.deepEqual(sourceUpdates(A, EMPTY_SOURCES, camera, receiver), [
        { action: 'source-add', sources: { owner: A, sources: [audio(A, 1000), video(A, 1001), video(A, 1011)], groups: [fid(1001, 1011)] } },
      ]);
      // A layer the receiver never saw goes away: nothing to tell.
      const withoutLayer3 = { sources: camera.sources.filter((s) => s.ssrc !== 1003 && s.ssrc !== 1013), groups: [sim(1001, 1002), fid(1001, 1011), fid(1002, 1012)] };
      assert.deepEqual(sourceUpdates(A, camera, withoutLayer3, receiver), []);
      // The camera is replaced by new SSRCs (a codec change): remove the old, then add the new.
      const replaced = simulcastCamera(A, 2000);
      const updates = sourceUpdates(A, camera, replaced, receiver);
      assert.deepEqual(updates.map((u) => u.action), ['source-remove', 'source-add']);
      assert.deepEqual(updates[0]?.sources.sources.map((s) => s.ssrc), [1000, 1001, 1011]);
      assert.deepEqual(updates[1]?.sources.sources.map((s) => s.ssrc), [2000, 2001, 2011]);
    });
  });

  describe('Jingle forms', () => {
    it("builds Jicofo's JSON source-add for the participant's session-accept sources (fixture jingle-source-add-jicofo)", () => {
      const accept = parseJingle(jingleOf('jingle-session-accept-ljm.xml'));
      const set = sourcesFromContents(accept.contents);
      conference.add(A, set);
      const [update, ...rest] = sourceUpdates(A, EMPTY_SOURCES, conference.get(A), { jsonSources: true });
      assert.ok(update);
      assert.deepEqual(rest, []);
      const built = buildJingle(buildSourceChange(update.action, '2h8k1c0mfo3ps', [update.sources], { jsonSources: true }));
      assert.equal(canonicalXml(built), canonicalXml(jingleOf('jingle-source-add-jicofo.xml')));
    });

    it("builds Jicofo's JSON source-remove when screen share stops (fixtures jingle-source-add-ljm, -remove-ljm, -remove-jicofo)", () => {
      conference.add(A, sourcesFromContents(parseJingle(jingleOf('jingle-session-accept-ljm.xml')).contents));
      conference.add(A, sourcesFromContents(parseJingle(jingleOf('jingle-source-add-ljm.xml')).contents));
      const before = conference.get(A);
      const removed = conference.remove(A, sourcesFromContents(parseJingle(jingleOf('jingle-source-remove-ljm.xml')).contents));
      assert.deepEqual(removed.sources.map((s) => s.ssrc), [4127093385, 2289610457]);
      const [update] = sourceUpdates(A, before, conference.get(A), { jsonSources: true });
      assert.equal(update?.action, 'source-remove');
      const built = buildJingle(buildSourceChange('source-remove', '2h8k1c0mfo3ps', [update.sources], { jsonSources: true }));
      assert.equal(canonicalXml(built), canonicalXml(jingleOf('jingle-source-remove-jicofo.xml')));
    });

    it('builds the XML form, per media with the owner on each source, and reads it back', () => {
      const sources: OwnedSources[] = [
        { owner: A, sources: [audio(A, 1), video(A, 2), video(A, 3)], groups: [fid(2, 3)] },
        { owner: B, sources: [video(B, 9, 1, 'desktop')], groups: [] },
      ];
      const jingle = buildSourceChange('source-add', 'sid1', sources, { jsonSources: false });
      assert.equal(jingle.sources, undefined);
      const xml = buildJingle(jingle);
      const contents = xml.getChildren('content', NS_JINGLE);
      assert.deepEqual(contents.map((c) => [c.attrs.name, c.attrs.creator]), [['audio', undefined], ['video', undefined]]);
      const videoSources = contents[1]!.getChild('description')!.getChildren('source');
      assert.deepEqual(videoSources.map((s) => [s.attrs.ssrc, s.attrs.name, s.attrs.videoType, s.getChild('ssrc-info')?.attrs.owner]), [
        ['2', `${A}-v0`, 'camera', A], ['3', `${A}-v0`, 'camera', A], ['9', `${B}-v1`, 'desktop', B],
      ]);
      assert.equal(videoSources[0]!.getChild('parameter')?.attrs.value, video(A, 2).msid);
      const parsed = parseJingle(parse(xml.toString()));
      assert.deepEqual(parsed.contents.map((c) => c.description!.sources.map((s) => s.owner)), [[A], [A, A, B]]);
      assert.deepEqual(sourcesFromContents(parsed.contents), {
        sources: [audio(A, 1), video(A, 2), video(A, 3), video(B, 9, 1, 'desktop')],
        groups: [fid(2, 3)],
      });
    });

    it('builds the JSON form with desktop marked and camera implied', () => {
      const json = toJsonSources([{ owner: A, sources: [audio(A, 1), video(A, 2), video(A, 3, 1, 'desktop')], groups: [fid(2, 3)] }]);
      assert.deepEqual(json, [{
        owner: A,
        video: [{ ssrc: 2, name: `${A}-v0`, msid: video(A, 2).msid }, { ssrc: 3, name: `${A}-v1`, msid: video(A, 3, 1).msid, videoType: 'desktop' }],
        videoGroups: [{ semantics: 'FID', ssrcs: [2, 3] }],
        audio: [{ ssrc: 1, name: `${A}-a0`, msid: audio(A, 1).msid }],
        audioGroups: [],
      }]);
      const roundTrip = parseJingle(parse(buildJingle(buildSourceChange('source-add', 's', [{ owner: A, sources: [video(A, 2)], groups: [] }], { jsonSources: true })).toString()));
      assert.deepEqual(roundTrip.sources, toJsonSources([{ owner: A, sources: [video(A, 2)], groups: [] }]));
      assert.deepEqual(roundTrip.contents, []);
    });

    it('leaves out the media without sources', () => {
      assert.deepEqual(toJingleContents([{ owner: A, sources: [audio(A, 1)], groups: [] }]).map((c) => c.name), ['audio']);
      assert.deepEqual(toJingleContents([]), []);
    });

    it('reads sources only from audio and video descriptions, ignoring owners and audio videoTypes', () => {
      const jingle = parseJingle(parse(`<jingle xmlns="${NS_JINGLE}" action="source-add" sid="s">
        <content name="audio"><description xmlns="urn:xmpp:jingle:apps:rtp:1" media="audio">
          <source xmlns="urn:xmpp:jingle:apps:rtp:ssma:0" ssrc="5" name="${A}-a0" videoType="camera"><ssrc-info xmlns="http://jitsi.org/jitmeet" owner="${B}"/></source>
        </description></content>
        <content name="data"><description xmlns="urn:xmpp:jingle:apps:rtp:1" media="application"/></content>
      </jingle>`));
      assert.deepEqual(sourcesFromContents(jingle.contents), { sources: [{ ssrc: 5, media: 'audio', name: `${A}-a0` }], groups: [] });
    });
  });

  describe('Colibri2 form', () => {
    it("matches Jicofo's endpoint update (fixture modify-jicofo-update): one media-source per name, no msid", () => {
      const fixture = parse(readFileSync(join(FIXTURES, 'colibri2', 'modify-jicofo-update.xml'), 'utf8'));
      const expected = parseConferenceModify(fixture).endpoints[0]!.sources!;
      const set: SourceSet = {
        sources: [
          { ssrc: 3190521134, media: 'audio', name: `${A}-a0`, msid: 'm-a t' },
          ...[1001, 1002, 2001, 2002].map((ssrc): Source => ({ ssrc, media: 'video', name: `${A}-v0`, videoType: 'camera', msid: 'm-v t' })),
        ],
        groups: [sim(1001, 1002), fid(1001, 2001), fid(1002, 2002)],
      };
      const actual = toColibri2Sources(A, set);
      const comparable = (list: typeof actual) => list.map((ms) => ({ ...ms, sources: ms.sources.map((e) => canonicalXml(e)), ssrcGroups: ms.ssrcGroups.map((e) => canonicalXml(e)) }));
      assert.deepEqual(comparable(actual), comparable(expected));
    });

    it('names unnamed sources <endpoint>-a0 / -v0, as Jicofo does', () => {
      const actual = toColibri2Sources(A, { sources: [{ ssrc: 1, media: 'audio' }, { ssrc: 2, media: 'video', msid: 'm t' }, { ssrc: 3, media: 'video', msid: 'm t' }], groups: [fid(2, 3)] });
      assert.deepEqual(actual.map((ms) => [ms.type, ms.id, ms.sources.length, ms.ssrcGroups.length]), [['audio', `${A}-a0`, 1, 0], ['video', `${A}-v0`, 2, 1]]);
    });
  });
});
