import assert from 'node:assert/strict';
import { MAX_GAP, MAX_REQUESTS, MAX_RETRY_INTERVAL_MS, MIN_RETRY_INTERVAL_MS, RETRY_INTERVAL_MS, RetransmissionRequester, TAIL_LOSS_MS } from '../../../../bridge/rtp/retransmission-requester.ts';

const S = 0x1234;

describe('RetransmissionRequester (the bridge\'s own NACKs towards senders)', () => {
  it('asks for a gap at once, again after the retry interval, and stops after MAX_REQUESTS', () => {
    const r = new RetransmissionRequester();
    assert.equal(r.received(S, 100, 0), 'ok');
    assert.equal(r.received(S, 101, 1), 'ok');
    assert.equal(r.received(S, 104, 2), 'gap');
    assert.deepEqual([...r.due(2)], [[S, [102, 103]]]);
    assert.deepEqual([...r.due(2 + RETRY_INTERVAL_MS - 1)], [], 'not before the retry interval');
    for (let i = 1; i < MAX_REQUESTS; i++) assert.deepEqual([...r.due(2 + i * RETRY_INTERVAL_MS)], [[S, [102, 103]]]);
    assert.deepEqual([...r.due(2 + MAX_REQUESTS * RETRY_INTERVAL_MS)], [], 'given up');
    assert.equal(r.waiting, false);
  });

  it('asks again after twice the sender\'s smoothed response time, within bounds, learnt only from packets asked once', () => {
    const r = new RetransmissionRequester();
    let seq = 0;
    let now = 0;
    /** One packet lost and asked at `now`; its retransmission comes `after` ms later (or never). */
    const lose = (after?: number, retransmitted = true) => {
      r.received(S, seq, now);
      seq += 2;
      r.received(S, seq, now);
      assert.deepEqual([...r.due(now)], [[S, [seq - 1]]]);
      if (after !== undefined) assert.equal(r.received(S, seq - 1, now + after, retransmitted), 'filled');
      now += 1000;
    };
    assert.equal(r.retryInterval(S + 1), RETRY_INTERVAL_MS, 'a stream not seen yet');
    lose(undefined);
    assert.equal(r.retryInterval(S), RETRY_INTERVAL_MS, 'no answer yet: the default');
    assert.equal(r.size.pending, 1);
    for (let i = 1; i < MAX_REQUESTS; i++) r.due(now + i * RETRY_INTERVAL_MS);
    now += MAX_REQUESTS * RETRY_INTERVAL_MS;
    assert.equal(r.size.pending, 0, 'given up unanswered');
    assert.equal(r.retryInterval(S), 2 * RETRY_INTERVAL_MS, 'unanswered: backed off');
    lose(4);
    assert.equal(r.retryInterval(S), MIN_RETRY_INTERVAL_MS, 'a 4 ms answer: asked again after the floor, not after 8 ms');
    lose(30, false);
    assert.equal(r.retryInterval(S), MIN_RETRY_INTERVAL_MS, 'a late original is no answer to the NACK');
    for (let i = 0; i < 40; i++) lose(60);
    assert.ok(Math.abs(r.retryInterval(S) - 120) < 1, `60 ms answers: every 120 ms (${r.retryInterval(S)})`);
    // A packet asked twice: its retransmission could answer either NACK, so it is no sample
    // (Karn's rule), but it shows the interval too short for the sender now: it doubles.
    const before = r.retryInterval(S);
    r.received(S, seq, now);
    seq += 2;
    r.received(S, seq, now);
    r.due(now);
    r.due(now + before);
    assert.equal(r.received(S, seq - 1, now + before + 1, true), 'filled');
    assert.ok(Math.abs(r.retryInterval(S) - 2 * before) < 1e-9, `${r.retryInterval(S)}`);
    now += 1000;
    lose(60);
    assert.ok(Math.abs(r.retryInterval(S) - 120) < 1, 'the next clean answer sets it from the smoothed time again');
    for (let i = 0; i < 60; i++) lose(900);
    assert.equal(r.retryInterval(S), MAX_RETRY_INTERVAL_MS, 'a far sender: the ceiling');
    r.received(S, seq, now);
    seq += 2;
    r.received(S, seq, now);
    for (let i = 0; i < MAX_REQUESTS; i++) r.due(now + i * MAX_RETRY_INTERVAL_MS);
    assert.equal(r.retryInterval(S), MAX_RETRY_INTERVAL_MS, 'backing off stops at the ceiling');
  });

  it('forgets a packet that arrives late or retransmitted', () => {
    const r = new RetransmissionRequester();
    r.received(S, 10, 0);
    r.received(S, 13, 1);
    assert.equal(r.received(S, 12, 2), 'filled');
    assert.equal(r.received(S, 12, 3), 'ok', 'a duplicate fills nothing');
    assert.deepEqual([...r.due(3)], [[S, [11]]]);
    assert.equal(r.received(S, 11, 4), 'filled');
    assert.equal(r.waiting, false);
    assert.deepEqual([...r.due(500)], []);
  });

  it('handles the sequence wrap, ignores jumps larger than MAX_GAP, and keeps streams apart', () => {
    const r = new RetransmissionRequester();
    r.received(S, 65534, 0);
    assert.equal(r.received(S, 1, 1), 'gap');
    r.received(7, 500, 1);
    r.received(7, 502, 1);
    assert.deepEqual([...r.due(1)], [[S, [65535, 0]], [7, [501]]]);
    assert.equal(r.received(S, 1 + MAX_GAP + 1, 2), 'ok', 'a jump: a restart, not loss');
    assert.equal(r.size.pending, 1, 'the jump asks nothing new and drops S\'s old gaps; 7\'s stays');
    r.remove(S);
    r.remove(7);
    assert.deepEqual(r.size, { streams: 0, pending: 0 });
  });

  it('follows a sender that numbers anew from lower down (two packets in a row there), not a stray old packet', () => {
    const r = new RetransmissionRequester();
    for (let seq = 20_000; seq < 20_010; seq++) r.received(S, seq, 0);
    assert.equal(r.received(S, 12_000, 1), 'ok', 'one stray old packet');
    assert.equal(r.received(S, 20_011, 1), 'gap', 'the stream goes on: 20010 is missing');
    assert.deepEqual([...r.due(1)], [[S, [20_010]]]);
    r.received(S, 20_010, 2, true);
    // The sender restarts at 15000.
    assert.equal(r.received(S, 15_000, 3), 'ok');
    assert.equal(r.received(S, 15_001, 3), 'ok', 'the second in a row: a restart');
    assert.equal(r.received(S, 15_003, 4), 'gap', 'gaps in the new numbering are asked');
    assert.deepEqual([...r.due(4)], [[S, [15_002]]]);
  });

  it('takes packets it asked for as late ones, however far behind and however many in a row', () => {
    const r = new RetransmissionRequester();
    r.received(S, 1000, 0);
    assert.equal(r.received(S, 1003, 0), 'gap');
    for (let seq = 1004; seq <= 1200; seq++) r.received(S, seq, 1);
    assert.equal(r.received(S, 1001, 2), 'filled');
    assert.equal(r.received(S, 1002, 2), 'filled');
    assert.equal(r.received(S, 1203, 3), 'gap', 'the stream goes on from 1200');
    assert.deepEqual([...r.due(3)], [[S, [1201, 1202]]]);
  });

  it('takes a contiguous report (packets forwarded by the media socket\'s read, reported by picture ends) as no gap, and settles what it had pending there', () => {
    const r = new RetransmissionRequester();
    r.received(S, 100, 0, false, true);
    assert.equal(r.awaits(S), false);
    assert.equal(r.received(S, 105, 10, false, true, true), 'ok', '101–104 came too');
    assert.equal(r.waiting, false);
    assert.deepEqual([...r.due(10)], []);
    // The same jump not contiguous is a gap.
    assert.equal(r.received(S, 110, 20, false, true), 'gap');
    assert.deepEqual([...r.due(20)], [[S, [106, 107, 108, 109]]]);
    assert.equal(r.awaits(S), true);
    assert.equal(r.awaits(S + 1), false);
    // A tail probe armed while the read's packets waited to be reported: they came, nothing is asked again.
    const t = new RetransmissionRequester();
    t.received(S, 10, 0, false, false);
    assert.deepEqual([...t.due(TAIL_LOSS_MS + 1)], [[S, [11]]]);
    assert.equal(t.awaits(S), true);
    assert.equal(t.received(S, 14, TAIL_LOSS_MS + 2, false, true, true), 'ok');
    assert.equal(t.waiting, false);
    assert.equal(t.awaits(S), false);
    assert.deepEqual([...t.due(TAIL_LOSS_MS + 2 + MAX_RETRY_INTERVAL_MS)], []);
  });

  it('stays bounded whatever the input', () => {
    const r = new RetransmissionRequester();
    for (let ssrc = 0; ssrc < 1000; ssrc++) {
      r.received(ssrc, 0, ssrc);
      for (let seq = 2; seq < 2000; seq += 2) r.received(ssrc, seq, ssrc);
    }
    const { streams, pending } = r.size;
    assert.ok(streams <= 256, `streams ${streams}`);
    assert.ok(pending <= 256 * 256, `pending ${pending}`);
  });

  describe('tail loss (the packets that end a frame)', () => {
    it('asks for the next packet of a stream silent TAIL_LOSS_MS after a packet that did not end a frame, once per open frame', () => {
      const r = new RetransmissionRequester();
      r.received(S, 10, 0, false, false);
      r.received(S, 11, 1, false, false);
      assert.equal(r.nextTailCheck(), 1 + TAIL_LOSS_MS);
      assert.deepEqual([...r.due(TAIL_LOSS_MS)], [], 'not silent long enough');
      assert.deepEqual([...r.due(1 + TAIL_LOSS_MS)], [[S, [12]]]);
      assert.equal(r.tailProbes, 1);
      assert.equal(r.nextTailCheck(), undefined, 'probed: the frame is no longer watched');
      assert.deepEqual([...r.due(2 + TAIL_LOSS_MS)], [], 'not asked again before the retry interval');
      // The sender's retransmission of 12, which did not end the frame either: 13 is probed next.
      assert.equal(r.received(S, 12, 20, true, false), 'filled');
      assert.equal(r.waiting, false);
      assert.deepEqual([...r.due(20 + TAIL_LOSS_MS)], [[S, [13]]]);
      // 13 ends the frame: nothing more to probe.
      assert.equal(r.received(S, 13, 40, true, true), 'filled');
      assert.equal(r.nextTailCheck(), undefined);
      assert.deepEqual([...r.due(100)], []);
    });

    it('asks for the next packet of a stream its frame interval plus the larger of TAIL_LOSS_MS and a quarter of it after its last frame end', () => {
      const r = new RetransmissionRequester();
      // Frames of one packet every 50 ms (a small simulcast layer); the one due at 200 ms is lost.
      for (let i = 0; i < 4; i++) r.received(S, 10 + i, 50 * i, false, true);
      assert.equal(r.nextTailCheck(), 150 + 50 + TAIL_LOSS_MS);
      assert.deepEqual([...r.due(150 + 50 + TAIL_LOSS_MS - 1)], []);
      assert.deepEqual([...r.due(150 + 50 + TAIL_LOSS_MS)], [[S, [14]]], 'before the next frame (250 ms) shows the gap');
      assert.equal(r.received(S, 14, 218, true, true), 'filled', 'the retransmission');
      // At 30 fps the margin is TAIL_LOSS_MS; at 5 fps a quarter of the interval.
      const slow = new RetransmissionRequester();
      for (let i = 0; i < 4; i++) slow.received(S, i, 200 * i, false, true);
      assert.equal(slow.nextTailCheck(), 600 + 200 + 50);
    });

    it('asks nothing for a stream whose markers are not known, nor from frame intervals over 500 ms (a static screen)', () => {
      const r = new RetransmissionRequester();
      r.received(S + 1, 10, 0);
      r.received(S + 1, 11, 1);
      for (let i = 0; i < 4; i++) r.received(S, 10 + i, 1000 * i, false, true);
      assert.equal(r.nextTailCheck(), undefined);
      assert.deepEqual([...r.due(10_000)], []);
    });

    it('settles a probe by the packet itself when the sender had only paused, and never backs off for an unanswered one', () => {
      const r = new RetransmissionRequester();
      r.received(S, 10, 0, false, false);
      assert.deepEqual([...r.due(TAIL_LOSS_MS)], [[S, [11]]]);
      assert.equal(r.received(S, 11, 30, false, true), 'filled', 'sent after the probe: not lost');
      assert.equal(r.waiting, false);
      // A stream that stops within a frame: its probe is asked MAX_REQUESTS times, the interval kept.
      r.received(S, 12, 100, false, false);
      let asked = 0;
      for (let t = 100; t < 2000; t += 10) asked += r.due(t).get(S)?.length ?? 0;
      assert.equal(asked, MAX_REQUESTS);
      assert.equal(r.retryInterval(S), RETRY_INTERVAL_MS);
    });

    it('asks a probed packet again at once when a newer packet shows it lost (the probe may have come before it was sent)', () => {
      const r = new RetransmissionRequester();
      r.received(S, 10, 0, false, false);
      assert.deepEqual([...r.due(TAIL_LOSS_MS)], [[S, [11]]]);
      assert.equal(r.received(S, 12, 30, false, false), 'gap');
      assert.equal(r.size.pending, 1, 'one request for 11, not two');
      assert.deepEqual([...r.due(30)], [[S, [11]]], 'asked at the gap like any loss');
      // Answered after that one request: a clean sample (5 ms, so the floor of 20 ms), no backoff.
      assert.equal(r.received(S, 11, 35, true, true), 'filled');
      assert.equal(r.size.pending, 0);
      assert.equal(r.retryInterval(S), MIN_RETRY_INTERVAL_MS);
    });

    it('forgets the frame interval of a stream that paused, so a static screen is not probed at its old rate', () => {
      const r = new RetransmissionRequester();
      for (let i = 0; i < 4; i++) r.received(S, 10 + i, 33 * i, false, true);
      assert.equal(r.nextTailCheck(), 99 + 33 + TAIL_LOSS_MS);
      r.received(S, 14, 2000, false, true);
      assert.equal(r.nextTailCheck(), undefined);
    });
  });
});
