import assert from 'node:assert/strict';
import { RetransmissionRequests } from '../../../../bridge/rtp/retransmission-requests.ts';

const LIFETIME = 1000;
const RETRY = 100;

describe('RetransmissionRequests (who asked a sender for which packet)', () => {
  it('notes who asked, says how long ago a packet was asked already, and hands the askers over once', () => {
    const requests = new RetransmissionRequests(16, LIFETIME);
    assert.equal(requests.expect(1001, 7, 'alice', 0, RETRY), Number.POSITIVE_INFINITY, 'first asked');
    assert.equal(requests.expect(1001, 7, 'bob', 30, RETRY), 30, 'asked 30 ms ago');
    assert.equal(requests.expect(1001, 7, undefined, 50, RETRY), 50);
    const request = requests.take(1001, 7, 60)!;
    assert.deepEqual([...request.receivers], ['alice', 'bob']);
    assert.equal(request.bridge, true);
    assert.equal(requests.take(1001, 7, 60), undefined, 'taken once');
    assert.equal(requests.size, 0);
  });

  it('forgets a request after its lifetime, and counts one asked again after the retry interval as asked then', () => {
    const requests = new RetransmissionRequests(16, LIFETIME);
    requests.expect(1001, 7, 'alice', 0, RETRY);
    assert.equal(requests.expect(1001, 7, 'alice', 150, RETRY), 150, 'older than the retry interval: asked again now');
    assert.equal(requests.expect(1001, 7, 'alice', 200, RETRY), 50, 'measured from the second asking');
    assert.ok(requests.get(1001, 7, 1149), 'alive for a lifetime from its last asking');
    assert.equal(requests.get(1001, 7, 1150), undefined);
    assert.equal(requests.take(1001, 7, 1150), undefined, 'an expired request has no askers');
    requests.expect(1001, 8, 'alice', 0, RETRY);
    assert.equal(requests.expect(1001, 8, 'bob', 1000, RETRY), Number.POSITIVE_INFINITY, 'expired: a new request');
    assert.deepEqual([...requests.get(1001, 8, 1000)!.receivers], ['bob'], 'without the expired request\'s askers');
  });

  it('when full, lets the request asked longest ago give way, live or not, and always notes the new one', () => {
    const requests = new RetransmissionRequests(4, LIFETIME);
    for (let sequence = 0; sequence < 4; sequence++) requests.expect(1001, sequence, 'alice', sequence, RETRY);
    // Sequence 0 asked again after the retry interval: now the most recent.
    requests.expect(1001, 0, 'bob', 200, RETRY);
    requests.expect(2002, 9, 'carol', 201, RETRY);
    assert.equal(requests.size, 4);
    assert.equal(requests.get(1001, 1, 201), undefined, 'the one asked longest ago gave way (live as it was)');
    for (const sequence of [0, 2, 3]) assert.ok(requests.get(1001, sequence, 201), `${sequence} kept`);
    assert.deepEqual([...requests.get(2002, 9, 201)!.receivers], ['carol'], 'the new request is noted');
    // A flood of new requests, all live, never leaves the table without the newest.
    for (let sequence = 100; sequence < 10_100; sequence++) requests.expect(3003, sequence & 0xffff, undefined, 300, RETRY);
    assert.equal(requests.size, 4);
    assert.ok(requests.get(3003, 10_099 & 0xffff, 300));
    assert.equal(requests.get(2002, 9, 300), undefined);
  });

  it('refuses a capacity that is not a positive integer', () => {
    assert.throws(() => new RetransmissionRequests(0, LIFETIME), RangeError);
    assert.throws(() => new RetransmissionRequests(1.5, LIFETIME), RangeError);
  });
});
