import assert from 'node:assert/strict';
import { MAX_GAP, MAX_REQUESTS, MAX_RETRY_INTERVAL_MS, MIN_RETRY_INTERVAL_MS, RETRY_INTERVAL_MS, RetransmissionRequester } from '../../../../bridge/rtp/retransmission-requester.ts';

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
});
