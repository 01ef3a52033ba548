/** Device handling: error classification, device grouping, problem messages, the test tone file. */
import assert from 'node:assert/strict';
import { groupDevices } from '../../../web/client/devices/enumerate.ts';
import { classifyMediaError } from '../../../web/client/devices/media-errors.ts';
import { makeToneWav } from '../../../web/client/devices/speaker-test.ts';
import { problemMessages } from '../../../web/client/ui/prejoin/problems.ts';

const named = (name: string): Error => Object.assign(new Error(name), { name });

describe('media errors', () => {
  it('sorts getUserMedia errors by cause', () => {
    assert.equal(classifyMediaError(named('NotAllowedError')), 'denied');
    assert.equal(classifyMediaError(named('SecurityError')), 'denied');
    assert.equal(classifyMediaError(named('NotFoundError')), 'not-found');
    assert.equal(classifyMediaError(named('OverconstrainedError')), 'not-found');
    assert.equal(classifyMediaError(named('NotReadableError')), 'in-use');
    assert.equal(classifyMediaError(named('TypeError')), 'failed');
    assert.equal(classifyMediaError('not an error'), 'failed');
  });

  it('says a double refusal once, other problems per device', () => {
    assert.deepEqual(problemMessages('denied', 'denied'), ['prejoin.denied']);
    assert.deepEqual(problemMessages('denied', 'not-found'), ['prejoin.audioDenied', 'prejoin.videoNotFound']);
    assert.deepEqual(problemMessages(undefined, 'in-use'), ['prejoin.videoInUse']);
    assert.deepEqual(problemMessages(undefined, undefined), []);
  });
});

describe('device lists', () => {
  it('groups by kind, dropping unnamed-before-permission entries and Chrome aliases', () => {
    const lists = groupDevices([
      { deviceId: 'default', kind: 'audioinput', label: 'Default - Mic' },
      { deviceId: 'mic1', kind: 'audioinput', label: 'Mic' },
      { deviceId: 'cam1', kind: 'videoinput', label: '' },
      { deviceId: '', kind: 'videoinput', label: '' },
      { deviceId: 'communications', kind: 'audiooutput', label: 'Comms' },
      { deviceId: 'spk1', kind: 'audiooutput', label: 'Speakers' },
    ]);
    assert.deepEqual(lists, {
      audioInput: [{ id: 'mic1', label: 'Mic' }],
      videoInput: [{ id: 'cam1', label: '' }],
      audioOutput: [{ id: 'spk1', label: 'Speakers' }],
    });
  });
});

describe('test tone', () => {
  it('is a mono 16-bit PCM WAV of the asked length, silent at both ends', () => {
    const wav = makeToneWav({ frequency: 440, seconds: 0.5, sampleRate: 8000 });
    const view = new DataView(wav.buffer);
    const ascii = (at: number): string => String.fromCharCode(...wav.subarray(at, at + 4));
    assert.equal(ascii(0), 'RIFF');
    assert.equal(ascii(8), 'WAVE');
    assert.equal(ascii(36), 'data');
    assert.equal(view.getUint16(20, true), 1);
    assert.equal(view.getUint16(22, true), 1);
    assert.equal(view.getUint32(24, true), 8000);
    assert.equal(view.getUint16(34, true), 16);
    assert.equal(view.getUint32(40, true), 4000 * 2);
    assert.equal(wav.length, 44 + 4000 * 2);
    assert.equal(view.getUint32(4, true), wav.length - 8);
    assert.equal(view.getInt16(44, true), 0);
    assert.equal(view.getInt16(wav.length - 2, true), 0);
    let peak = 0;
    for (let i = 44; i < wav.length; i += 2) peak = Math.max(peak, Math.abs(view.getInt16(i, true)));
    assert.ok(peak > 10000 && peak <= 16384, `peak ${peak}`);
  });
});
