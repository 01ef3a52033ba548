import assert from 'node:assert/strict';
import { ReceiverBandwidth, REALLOCATION_GAP_MS, type BandwidthEstimator } from '../../../bridge/receiver-bandwidth.ts';
import { RtpHeader } from '../../../bridge/rtp/packet.ts';

/** A stand-in estimator (this is a unit test of the state around it): the estimate is set by hand. */
class FixedEstimator implements BandwidthEstimator {
  estimateBps = 1_000_000;
  readonly sent: Array<[number, number]> = [];
  packetSent(sequence: number, size: number): void {
    this.sent.push([sequence, size]);
  }
  transportCcFeedback(): boolean {
    return false;
  }
  remb(bitrate: number): boolean {
    this.estimateBps = bitrate;
    return true;
  }
}

/** A 1000-byte RTP packet with the transport-wide sequence number as one-byte extension 5. */
function packet(senderSequence: number): RtpHeader {
  const p = Buffer.alloc(1000);
  p[0] = 0x90;
  p[1] = 100;
  p.set([0xbe, 0xde, 0x00, 0x01, 0x51], 12);
  p.writeUInt16BE(senderSequence, 17);
  const header = new RtpHeader();
  assert.equal(header.parse(p), 'ok');
  return header;
}

describe('ReceiverBandwidth (the bridge → receiver side of an endpoint)', () => {
  it('numbers what is sent on its own transport, from 0, and notes it for the estimator', () => {
    const estimator = new FixedEstimator();
    const bandwidth = new ReceiverBandwidth(estimator);
    for (const senderSequence of [40_000, 7, 40_001]) bandwidth.stamp(packet(senderSequence), 5, 0, true);
    assert.deepEqual(estimator.sent, [[0, 1000], [1, 1000], [2, 1000]]);
    const other = packet(9);
    bandwidth.stamp(other, 5, 0, true);
    assert.equal(Buffer.from(other.buf).readUInt16BE(17), 3, 'written into the packet');
    bandwidth.stamp(packet(9), 6, 0, true);
    assert.equal(estimator.sent.length, 4, 'a packet without the extension is not numbered');
  });

  it('caps heights only once the receiver gave feedback, and re-allocates at most every REALLOCATION_GAP_MS', () => {
    const bandwidth = new ReceiverBandwidth(new FixedEstimator());
    bandwidth.allocated({ caps: new Map([['a-v0', 180]]), allocatedBps: 150_000, idealBps: 1_500_000 }, 0);
    assert.equal(bandwidth.cappedHeight('a-v0', 720), 720, 'no feedback yet: constraints alone');
    assert.equal(bandwidth.estimateBps, undefined);
    assert.equal(bandwidth.feedback({ kind: 'remb', bitrate: 300_000 }, REALLOCATION_GAP_MS - 1), false);
    assert.equal(bandwidth.feedback({ kind: 'remb', bitrate: 300_000 }, REALLOCATION_GAP_MS), true);
    assert.equal(bandwidth.cappedHeight('a-v0', 720), 180);
    assert.equal(bandwidth.cappedHeight('a-v0', 90), 90, 'never above what it wants');
    assert.equal(bandwidth.cappedHeight('b-v0', 720), 720, 'a source not allocated is not capped');
    assert.equal(bandwidth.estimateBps, 300_000);
  });

  it('owes probing bytes only while held below what it wants: up to min(estimate, ideal) minus the media sent', () => {
    const estimator = new FixedEstimator();
    const bandwidth = new ReceiverBandwidth(estimator);
    bandwidth.feedback({ kind: 'remb', bitrate: 800_000 }, 0);
    bandwidth.allocated({ caps: new Map([['a-v0', 180]]), allocatedBps: 150_000, idealBps: 1_500_000 }, 0);
    assert.equal(bandwidth.probeBytes(0), 0, 'the first call starts the measurement');
    bandwidth.stamp(packet(1), 5, 0, true); // 1000 bytes of media in 100 ms: 80 kbit/s
    bandwidth.stamp(packet(2), 5, 0, false); // a probing copy: not media
    assert.equal(bandwidth.probeBytes(100), ((800_000 - 80_000) * 100) / 8000);
    bandwidth.allocated({ caps: new Map([['a-v0', 720]]), allocatedBps: 1_500_000, idealBps: 1_500_000 }, 100);
    assert.equal(bandwidth.probeBytes(200), 0, 'nothing owed once it gets what it wants');
  });
});
