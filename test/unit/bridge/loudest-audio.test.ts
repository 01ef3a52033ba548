import assert from 'node:assert/strict';
import { ENERGY_EXPIRY_MS, LoudestAudio } from '../../../bridge/loudest-audio.ts';

/** RFC 6464 levels: 0 dBov is the loudest, 127 silence. */
const LOUD = 20;
const QUIET = 70;

describe('route loudest audio only', () => {
  it('forwards the N loudest speakers\' packets and stops the others', () => {
    const loudest = new LoudestAudio(2);
    let now = 0;
    const levels: Record<string, number> = { a: LOUD, b: LOUD + 5, c: QUIET, d: QUIET + 10 };
    const passed: Record<string, number> = { a: 0, b: 0, c: 0, d: 0 };
    for (let i = 0; i < 50; i++, now += 20) {
      for (const [id, level] of Object.entries(levels)) if (loudest.levelReceived(id, level, now, undefined)) passed[id]!++;
    }
    assert.ok(passed.a! >= 49 && passed.b! >= 49, `the two loud ones go through: ${JSON.stringify(passed)}`);
    assert.ok(passed.c! <= 2 && passed.d! <= 2, `the quiet ones stop at the bridge (only their first packets, before the others were heard, may pass): ${JSON.stringify(passed)}`);
  });

  it('always forwards the dominant speaker, even when quieter', () => {
    const loudest = new LoudestAudio(1);
    assert.equal(loudest.levelReceived('a', LOUD, 0, 'c'), true);
    assert.equal(loudest.levelReceived('b', LOUD, 1, 'c'), false, 'b: a is as loud and comes first');
    assert.equal(loudest.levelReceived('c', QUIET, 2, 'c'), true, 'c is the dominant speaker');
  });

  it('a participant who stops sending (muted) leaves its place after the expiry', () => {
    const loudest = new LoudestAudio(1);
    assert.equal(loudest.levelReceived('a', LOUD, 0, undefined), true);
    assert.equal(loudest.levelReceived('b', QUIET, 10, undefined), false, 'a is louder');
    assert.equal(loudest.levelReceived('b', QUIET, 10 + ENERGY_EXPIRY_MS + 1, undefined), true, 'a went quiet');
    loudest.remove('a');
    loudest.remove('b');
    assert.equal(loudest.size, 0);
  });

  it('forwards a packet without a level (-1) and ranks nobody by it, as JVB ranks only packets carrying one', () => {
    const loudest = new LoudestAudio(1);
    let now = 0;
    const passed = { a: 0, b: 0, gateway: 0 };
    for (let i = 0; i < 50; i++, now += 20) {
      if (loudest.levelReceived('a', LOUD, now, undefined)) passed.a++;
      if (loudest.levelReceived('b', QUIET, now, undefined)) passed.b++;
      if (loudest.levelReceived('gateway', -1, now, undefined)) passed.gateway++;
    }
    assert.deepEqual(passed, { a: 50, b: 0, gateway: 50 }, 'the sender without levels is heard throughout; a alone of the ranked ones');
    assert.equal(loudest.size, 2, 'no state for it');
  });

  it('keeps the number forwarded bounded when everybody sends silence', () => {
    const loudest = new LoudestAudio(3);
    let forwarded = 0;
    for (let i = 0; i < 10; i++) loudest.levelReceived(`p${i}`, 127, 0, undefined);
    for (let i = 0; i < 10; i++) if (loudest.levelReceived(`p${i}`, 127, 20, undefined)) forwarded++;
    assert.equal(forwarded, 3);
  });

  it('reads the level under the voice-activity bit Chrome sets while someone speaks', () => {
    const loudest = new LoudestAudio(1);
    assert.equal(loudest.levelReceived('quiet', 90, 0, undefined), true);
    assert.equal(loudest.levelReceived('talker', 0x80 | LOUD, 1, undefined), true, 'V=1, -20 dBov: the loudest');
    assert.equal(loudest.levelReceived('quiet', 90, 2, undefined), false);
  });

  it('refuses a count below one', () => {
    assert.throws(() => new LoudestAudio(0), RangeError);
  });
});
