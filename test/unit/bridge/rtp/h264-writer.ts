// Builds H.264 parameter sets for tests, bit by bit: an independent check of the bridge's reader
// (bridge/rtp/h264.ts), and pictures of any size for the projection's tests.

/** Writes RBSP bits and escapes them as a NAL unit (H.264 §7.4.1): an independent check of the reader's decoding. */
export class SpsWriter {
  private readonly bits: number[] = [];
  u(count: number, value: number): this {
    for (let i = count - 1; i >= 0; i--) this.bits.push(Math.floor(value / 2 ** i) % 2);
    return this;
  }
  ue(value: number): this {
    const code = value + 1;
    const length = Math.floor(Math.log2(code));
    return this.u(length, 0).u(length + 1, code);
  }
  se(value: number): this {
    return this.ue(value > 0 ? 2 * value - 1 : -2 * value);
  }
  nal(header: number): Buffer {
    const bits = [...this.bits, 1]; // rbsp_stop_one_bit, then alignment zeros
    while (bits.length % 8 !== 0) bits.push(0);
    const rbsp: number[] = [];
    for (let i = 0; i < bits.length; i += 8) rbsp.push(bits.slice(i, i + 8).reduce((v, b) => v * 2 + b, 0));
    const out = [header];
    let zeros = 0;
    for (const byte of rbsp) {
      if (zeros >= 2 && byte <= 3) {
        out.push(3);
        zeros = 0;
      }
      out.push(byte);
      zeros = byte === 0 ? zeros + 1 : 0;
    }
    return Buffer.from(out);
  }
}

/** A Constrained Baseline SPS NAL unit for a `width` × `height` picture (coded in macroblocks, the rest cropped). */
export function baselineSps(width: number, height: number): Buffer {
  const mbsWide = Math.ceil(width / 16);
  const mbsHigh = Math.ceil(height / 16);
  const w = new SpsWriter().u(8, 66).u(8, 0xc0).u(8, 31).ue(0);
  w.ue(0).ue(2); // log2_max_frame_num_minus4, POC type 2
  w.ue(1).u(1, 0).ue(mbsWide - 1).ue(mbsHigh - 1).u(1, 1).u(1, 1);
  const cropRight = (mbsWide * 16 - width) / 2;
  const cropBottom = (mbsHigh * 16 - height) / 2;
  if (cropRight > 0 || cropBottom > 0) w.u(1, 1).ue(0).ue(cropRight).ue(0).ue(cropBottom);
  else w.u(1, 0);
  w.u(1, 0); // no VUI
  return w.nal(0x67);
}
