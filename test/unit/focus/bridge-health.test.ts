import { strict as assert } from 'node:assert';
import { pino } from 'pino';
import { BridgeHealthChecks } from '../../../focus/bridge-health.ts';
import { StanzaError } from '../../../xmpp/errors.ts';
import { NS_HEALTHCHECK } from '../../../xmpp/protocol/healthcheck.ts';

const log = pino({ level: 'silent' });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Bridges that answer as scripted: `answers[jid]` is consumed one per check ('ok', 'error',
 * 'unknown' as a bridge without health checks answers, 'silent'); 'ok' once it is empty. `stays`:
 * since when each is in the brewery (0 unless said).
 */
function rig(bridges: string[], answers: Record<string, Array<'ok' | 'error' | 'unknown' | 'silent'>>, stays: Record<string, number> = {}) {
  const asked: string[] = [];
  const failed: Array<[string, string]> = [];
  const checks = new BridgeHealthChecks({
    bridges: () => bridges.map((jid) => ({ jid, since: stays[jid] ?? 0 })),
    request: (to, payload, timeoutMs) => {
      assert.equal(payload.name, 'healthcheck');
      assert.equal(payload.attrs.xmlns, NS_HEALTHCHECK);
      asked.push(to);
      const answer = answers[to]?.shift() ?? 'ok';
      if (answer === 'ok') return Promise.resolve(undefined);
      if (answer === 'error') return Promise.reject(new Error('internal-server-error'));
      if (answer === 'unknown') return Promise.reject(new StanzaError('cancel', 'service-unavailable'));
      return new Promise((_, reject) => setTimeout(() => reject(new Error(`no answer from ${to}`)), timeoutMs));
    },
    failed: (jid, reason) => failed.push([jid, reason]),
    log,
  }, { intervalMs: 40, timeoutMs: 15, retryDelayMs: 15 });
  return { checks, asked, failed };
}

describe('focus: the bridges\' health checks (JvbDoctor)', () => {
  it('marks failed a bridge that fails twice in a row, not one that answers, nor one that fails once', async () => {
    const { checks, asked, failed } = rig(['jvb-a', 'jvb-b', 'jvb-c'], { 'jvb-b': ['silent', 'silent'], 'jvb-c': ['error', 'ok'] });
    await checks.checkAll();
    assert.deepEqual(failed, [['jvb-b', 'health check failed: no answer from jvb-b']]);
    assert.deepEqual(asked.filter((j) => j === 'jvb-a').length, 1, 'a healthy bridge asked once');
    assert.deepEqual(asked.filter((j) => j === 'jvb-b').length, 2, 'a failing one asked again');
    assert.deepEqual(asked.filter((j) => j === 'jvb-c').length, 2);
  });

  it('leaves alone a bridge that does not know the check (an older version) while it stays, not one that passed before', async () => {
    const stays = { 'jvb-old': 0, 'jvb-new': 0 };
    const { checks, asked, failed } = rig(['jvb-old', 'jvb-new'], { 'jvb-old': ['unknown', 'unknown'], 'jvb-new': ['ok', 'unknown', 'unknown'] }, stays);
    await checks.checkAll();
    await checks.checkAll();
    await checks.checkAll();
    assert.deepEqual(asked.filter((j) => j === 'jvb-old'), ['jvb-old'], 'asked once, then not again');
    assert.deepEqual(failed, [['jvb-new', 'health check failed: service-unavailable']], 'one that answered before and now refuses fails');
    // Back in the brewery (another stay, perhaps another version): asked again.
    stays['jvb-old'] = 5;
    await checks.checkAll();
    assert.deepEqual(asked.filter((j) => j === 'jvb-old').length, 2);
  });

  it('does not fail a bridge that left and came back while its check was failing (another process, the same JID)', async () => {
    const stays = { 'jvb-a': 0 };
    const { checks, failed } = rig(['jvb-a'], { 'jvb-a': ['silent', 'silent'] }, stays);
    const round = checks.checkAll();
    await sleep(20); // the first check timed out; the retry waits
    stays['jvb-a'] = 1;
    await round;
    assert.deepEqual(failed, []);
  });

  it('an error answer counts as a failure too', async () => {
    const { checks, failed } = rig(['jvb-a'], { 'jvb-a': ['error', 'error'] });
    await checks.checkAll();
    assert.deepEqual(failed, [['jvb-a', 'health check failed: internal-server-error']]);
  });

  it('checks every interval once started, and stops when closed, its pending retry with it', async () => {
    const bridges = ['jvb-a'];
    const { checks, asked } = rig(bridges, {});
    checks.start();
    try {
      await sleep(200);
      assert.ok(asked.length >= 3, `checked every 40 ms: ${asked.length} checks in 200 ms`);
    } finally {
      checks.close();
    }
    const { checks: other, asked: otherAsked, failed: otherFailed } = rig(['jvb-b'], { 'jvb-b': ['error', 'error'] });
    const round = other.checkAll();
    await sleep(5); // the first check failed; the retry waits
    other.close();
    await round;
    assert.equal(otherAsked.length, 1, 'no second try after close');
    assert.deepEqual(otherFailed, []);
    const after = asked.length;
    await sleep(100);
    assert.equal(asked.length, after, 'no round after close');
  });

  it('does not fail a bridge that left meanwhile, nor ask a slow one twice at once', async () => {
    const bridges = ['jvb-a'];
    const { checks, asked, failed } = rig(bridges, { 'jvb-a': ['silent', 'silent'] });
    const first = checks.checkAll();
    const second = checks.checkAll(); // while the first check waits for its answer
    bridges.length = 0; // the bridge left the brewery before the retry
    await Promise.all([first, second]);
    assert.deepEqual(asked, ['jvb-a'], 'asked once, and not again once gone');
    assert.deepEqual(failed, []);
  });
});
