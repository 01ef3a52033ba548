import assert from 'node:assert/strict';
import { DependencyDescriptor } from '../../../../bridge/rtp/dependency-descriptor.ts';
import { l3t3Structure, writeDependencyDescriptor } from './dd-writer.ts';

describe('bridge/rtp/dependency-descriptor (AV1 RTP specification, Appendix A)', () => {
  const dd = new DependencyDescriptor();

  it('reads the mandatory fields of a 3-byte descriptor', () => {
    const b = writeDependencyDescriptor({ start: true, end: false, templateId: 37, frameNumber: 0xbeef });
    assert.equal(b.length, 3);
    assert.ok(dd.parse(b, 0, 3));
    assert.deepEqual([dd.startOfFrame, dd.endOfFrame, dd.templateId, dd.frameNumber, dd.hasStructure], [true, false, 37, 0xbeef, false]);
  });

  it('reads an L3T3 structure: templates to layers (with the template id offset), decode targets, resolutions', () => {
    const structure = l3t3Structure(60);
    const b = writeDependencyDescriptor({ start: true, end: true, templateId: 60, frameNumber: 7, structure });
    assert.ok(dd.parse(b, 0, b.length));
    assert.ok(dd.hasStructure);
    const s = dd.structure;
    assert.equal(s.templateIdOffset, 60);
    assert.equal(s.decodeTargetCount, 9);
    assert.equal(s.templateCount, 12);
    assert.equal(s.maxSpatialId, 2);
    assert.equal(s.maxTemporalId, 2);
    assert.deepEqual([...s.heights.subarray(0, 3)], [180, 360, 720]);
    for (const [i, t] of structure.templates.entries()) {
      const index = s.templateIndex((60 + i) % 64);
      assert.equal(index, i, `template id ${(60 + i) % 64} wraps to index ${i}`);
      assert.equal(s.templateSpatialIds[index], t.spatialId);
      assert.equal(s.templateTemporalIds[index], t.temporalId);
    }
    assert.equal(s.templateIndex(60 + 12 - 64), -1, 'an id past the templates names none');
  });

  it('reads structures without chains or resolutions, and with one chain (ns of 1 takes no bits)', () => {
    for (const chains of [0, 1, 2, 9]) {
      const structure = { ...l3t3Structure(), chains, resolutions: undefined };
      const b = writeDependencyDescriptor({ start: true, end: false, templateId: 0, frameNumber: 1, structure });
      assert.ok(dd.parse(b, 0, b.length), `${chains} chains`);
      assert.equal(dd.structure.templateCount, 12);
      assert.deepEqual([...dd.structure.heights.subarray(0, 3)], [0, 0, 0]);
    }
  });

  it('refuses every cut of a structure, and extended fields without one are read as such', () => {
    const b = writeDependencyDescriptor({ start: true, end: false, templateId: 0, frameNumber: 1, structure: l3t3Structure() });
    for (let cut = 0; cut < b.length; cut++) {
      if (cut === 3) continue; // 3 bytes: the mandatory fields alone, valid
      assert.equal(dd.parse(b, 0, cut), false, `cut at ${cut}`);
    }
    assert.ok(dd.parse(b, 0, 3));
    assert.equal(dd.hasStructure, false);
    // Extended fields with no structure (flags 0), zero padded.
    const plain = Buffer.from([0x40 | 5, 0, 9, 0x00]);
    assert.ok(dd.parse(plain, 0, plain.length));
    assert.deepEqual([dd.endOfFrame, dd.templateId, dd.frameNumber, dd.hasStructure], [true, 5, 9, false]);
    assert.equal(dd.parse(b, 0, b.length + 1), false, 'beyond the buffer');
  });

  it('refuses a structure of more than 64 templates', () => {
    // 65 S0T0 templates: next_layer_idc 0 sixty-four times.
    const templates = Array.from({ length: 65 }, () => ({ spatialId: 0, temporalId: 0 }));
    const b = writeDependencyDescriptor({ start: true, end: false, templateId: 0, frameNumber: 1, structure: { templateIdOffset: 0, decodeTargets: 1, templates } });
    assert.equal(dd.parse(b, 0, b.length), false);
  });
});
