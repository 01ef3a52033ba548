// Test-only: writes RTP Dependency Descriptors (AV1 RTP specification A.8.2) with a template
// structure, so that the reader and the bridge's AV1 forwarding are tested on descriptors built
// from the specification rather than from the code under test.

class BitWriter {
  readonly bits: number[] = [];
  f(n: number, value: number): void {
    for (let i = n - 1; i >= 0; i--) this.bits.push((value >> i) & 1);
  }
  /** A.8.2 ns(n) as a writer: w − 1 bits below m = 2^w − n, else w bits of value + m. */
  ns(n: number, value: number): void {
    let w = 0;
    for (let x = n; x !== 0; x >>= 1) w++;
    const m = (1 << w) - n;
    if (value < m) this.f(w - 1, value);
    else this.f(w, value + m);
  }
  bytes(): Buffer {
    const out = Buffer.alloc(Math.ceil(this.bits.length / 8));
    this.bits.forEach((bit, i) => { if (bit) out[i >> 3]! |= 0x80 >> (i & 7); });
    return out;
  }
}

export interface DdTemplate { spatialId: number; temporalId: number; fdiffs?: number[] }
export interface DdStructure {
  templateIdOffset: number;
  decodeTargets: number;
  /** Sorted by spatial then temporal id, the first S0 T0 (A.8.2 template_layers). */
  templates: DdTemplate[];
  chains?: number;
  /** Width and height per spatial layer. */
  resolutions?: Array<[number, number]>;
}

/** A descriptor: the mandatory fields, and the structure when given (then the extended fields follow). */
export function writeDependencyDescriptor(d: { start: boolean; end: boolean; templateId: number; frameNumber: number; structure?: DdStructure }): Buffer {
  const w = new BitWriter();
  w.f(1, d.start ? 1 : 0);
  w.f(1, d.end ? 1 : 0);
  w.f(6, d.templateId);
  w.f(16, d.frameNumber);
  const s = d.structure;
  if (!s) return w.bytes();
  w.f(1, 1); // template_dependency_structure_present_flag
  w.f(4, 0); // active decode targets, custom DTIs, fdiffs, chains: none
  w.f(6, s.templateIdOffset);
  w.f(5, s.decodeTargets - 1);
  s.templates.forEach((t, i) => {
    const next = s.templates[i + 1];
    if (!next) w.f(2, 3);
    else if (next.spatialId === t.spatialId && next.temporalId === t.temporalId) w.f(2, 0);
    else if (next.spatialId === t.spatialId && next.temporalId === t.temporalId + 1) w.f(2, 1);
    else if (next.spatialId === t.spatialId + 1 && next.temporalId === 0) w.f(2, 2);
    else throw new Error('templates out of order');
  });
  for (const t of s.templates) for (let dt = 0; dt < s.decodeTargets; dt++) w.f(2, t.spatialId * 3 + t.temporalId <= dt ? 2 : 0);
  for (const t of s.templates) {
    for (const fdiff of t.fdiffs ?? []) {
      w.f(1, 1);
      w.f(4, fdiff - 1);
    }
    w.f(1, 0);
  }
  const chains = s.chains ?? 0;
  w.ns(s.decodeTargets + 1, chains);
  if (chains > 0) {
    for (let dt = 0; dt < s.decodeTargets; dt++) w.ns(chains, dt % chains);
    for (let t = 0; t < s.templates.length; t++) for (let c = 0; c < chains; c++) w.f(4, (t + c) % 16);
  }
  w.f(1, s.resolutions ? 1 : 0);
  for (const [width, height] of s.resolutions ?? []) {
    w.f(16, width - 1);
    w.f(16, height - 1);
  }
  return w.bytes();
}

/** Chrome-like L3T3_KEY templates: per spatial layer a keyframe-ish S·T0, T0, T1, T2 (two T0 templates). */
export function l3t3Structure(templateIdOffset = 0): DdStructure {
  const templates: DdTemplate[] = [];
  for (let s = 0; s < 3; s++) {
    templates.push({ spatialId: s, temporalId: 0 }, { spatialId: s, temporalId: 0, fdiffs: [4] }, { spatialId: s, temporalId: 1, fdiffs: [2] }, { spatialId: s, temporalId: 2, fdiffs: [1] });
  }
  return { templateIdOffset, decodeTargets: 9, templates, chains: 3, resolutions: [[320, 180], [640, 360], [1280, 720]] };
}
