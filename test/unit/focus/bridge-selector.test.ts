import assert from 'node:assert/strict';
import { Element } from 'ltx';
import { BridgeSelector } from '../../../focus/bridge-selector.ts';
import { IqCaller } from '../../../focus/iq-caller.ts';
import { StanzaError } from '../../../xmpp/errors.ts';

function brewery(nick: string, stats: Record<string, string>, type?: string): Element {
  const p = new Element('presence', { from: `jvbbrewery@internal-muc.example/${nick}`, ...(type ? { type } : {}) });
  p.c('x', { xmlns: 'http://jabber.org/protocol/muc#user' }).c('item', { jid: `jvb@auth.example/${nick}`, affiliation: 'none', role: 'participant' });
  const s = p.c('stats', { xmlns: 'http://jitsi.org/protocol/colibri' });
  for (const [name, value] of Object.entries(stats)) s.c('stat', { name, value });
  return p;
}

describe('bridge selection from the brewery', () => {
  it('prefers the least stressed bridge, then the participant\'s region', () => {
    const s = new BridgeSelector();
    s.onBreweryPresence(brewery('a', { stress_level: '0.5', drain: 'false', region: 'eu' }));
    s.onBreweryPresence(brewery('b', { stress_level: '0.1', drain: 'false', region: 'us' }));
    assert.equal(s.select()?.jid, 'jvb@auth.example/b');
    assert.equal(s.select('eu')?.jid, 'jvb@auth.example/a');
  });

  it('says when a presence changes what conferences act on: a bridge coming or going, or whether it may be used, not its load', () => {
    const s = new BridgeSelector();
    assert.equal(s.onBreweryPresence(brewery('a', { stress_level: '0.1', drain: 'false' })), true, 'a new bridge');
    assert.equal(s.onBreweryPresence(brewery('a', { stress_level: '0.1', drain: 'false' })), false, 'the same presence again (sent every 5 s)');
    assert.equal(s.onBreweryPresence(brewery('a', { stress_level: '0.6', drain: 'false', conferences: '3' })), false, 'its load alone');
    assert.equal(s.onBreweryPresence(brewery('a', { stress_level: '0.6', drain: 'true' })), true, 'draining');
    assert.equal(s.onBreweryPresence(brewery('a', { stress_level: '0.6', drain: 'false' })), true, 'no longer draining');
    assert.equal(s.onBreweryPresence(brewery('a', { stress_level: '0.6', drain: 'false', healthy: 'false' })), true, 'unhealthy');
    assert.equal(s.onBreweryPresence(brewery('a', { stress_level: '0.6', drain: 'false', healthy: 'true' })), true, 'healthy again (still failed for a while)');
    assert.equal(s.onBreweryPresence(brewery('a', { stress_level: '0.6', drain: 'false', graceful_shutdown: 'true' })), true, 'shutting down');
    assert.equal(s.onBreweryPresence(brewery('a', {}, 'unavailable')), true, 'gone');
    assert.equal(s.onBreweryPresence(brewery('a', {}, 'unavailable')), false, 'gone already');
  });

  it('skips draining bridges, bridges that never said drain=false, and shutting-down ones for good', () => {
    const s = new BridgeSelector();
    s.onBreweryPresence(brewery('quiet', { stress_level: '0' }));
    assert.equal(s.select(), undefined, 'drain unknown counts as draining (Jicofo)');
    s.onBreweryPresence(brewery('quiet', { stress_level: '0', drain: 'false', graceful_shutdown: 'true' }));
    assert.equal(s.select(), undefined);
    s.onBreweryPresence(brewery('quiet', { stress_level: '0', drain: 'false', graceful_shutdown: 'false' }));
    assert.equal(s.select(), undefined, 'graceful shutdown is sticky');
  });

  it('sends a new conference out of the participant\'s region rather than onto an overloaded bridge (stress 0.8 or more)', () => {
    const s = new BridgeSelector();
    s.onBreweryPresence(brewery('eu1', { stress_level: '0.85', drain: 'false', region: 'eu' }));
    s.onBreweryPresence(brewery('us1', { stress_level: '0.3', drain: 'false', region: 'us' }));
    assert.equal(s.select('eu')?.jid, 'jvb@auth.example/us1');
    s.onBreweryPresence(brewery('eu2', { stress_level: '0.79', drain: 'false', region: 'eu' }));
    assert.equal(s.select('eu')?.jid, 'jvb@auth.example/eu2', 'a bridge of the region below the threshold comes first, however loaded');
    s.onBreweryPresence(brewery('eu2', { stress_level: '1.2', drain: 'false', region: 'eu' }));
    s.onBreweryPresence(brewery('us1', { stress_level: '0.95', drain: 'false', region: 'us' }));
    assert.equal(s.select('eu')?.jid, 'jvb@auth.example/eu1', 'all overloaded: the least loaded, wherever it is');
  });

  it('counts the endpoints it just put on a bridge until its stress level can show them (Jicofo correctedStress)', () => {
    let now = 0;
    const s = new BridgeSelector({ now: () => now });
    s.onBreweryPresence(brewery('a', { stress_level: '0.70', drain: 'false', region: 'eu' }));
    s.onBreweryPresence(brewery('b', { stress_level: '0.75', drain: 'false', region: 'us', average_participant_stress: '0.001' }));
    assert.equal(s.select('eu')?.jid, 'jvb@auth.example/a');
    for (let i = 0; i < 9; i++) s.noteEndpoint('jvb@auth.example/a');
    assert.equal(s.select('eu')?.jid, 'jvb@auth.example/a', 'a is at 0.70 + 9 × 0.01: in the region and not overloaded');
    s.noteEndpoint('jvb@auth.example/a');
    s.noteEndpoint('jvb@auth.example/a');
    const b = s.select('eu');
    assert.equal(b?.jid, 'jvb@auth.example/b', 'a is at 0.70 + 11 × 0.01 now, overloaded');
    assert.equal(s.correctedStress(b!), 0.75);
    for (let i = 0; i < 20; i++) s.noteEndpoint('jvb@auth.example/b');
    assert.equal(s.correctedStress(s.select('eu')!), 0.75 + 20 * 0.001, 'the stress per endpoint the bridge announces');
    now += 20_000;
    s.onBreweryPresence(brewery('a', { stress_level: '0.72', drain: 'false' }));
    assert.equal(s.select('eu')?.jid, 'jvb@auth.example/a', 'after the ramp-up interval only the announced figure counts');
  });

  it('forgets a bridge that leaves the brewery', () => {
    const s = new BridgeSelector();
    s.onBreweryPresence(brewery('a', { stress_level: '0', drain: 'false' }));
    assert.equal(s.count, 1);
    s.onBreweryPresence(brewery('a', {}, 'unavailable'));
    assert.equal(s.count, 0);
    assert.equal(s.select(), undefined);
  });
});

describe('bridge failure (Jicofo Bridge.isOperational)', () => {
  it('neither selects nor keeps a failed bridge for the reset time, even while its presence stays', () => {
    let now = 0;
    const s = new BridgeSelector({ failureResetMs: 60_000, now: () => now });
    s.onBreweryPresence(brewery('a', { stress_level: '0.1', drain: 'false' }));
    s.onBreweryPresence(brewery('b', { stress_level: '0.5', drain: 'false' }));
    assert.equal(s.isOperational('jvb@auth.example/a'), true);
    s.markFailed('jvb@auth.example/a');
    assert.equal(s.isOperational('jvb@auth.example/a'), false);
    assert.equal(s.select()?.jid, 'jvb@auth.example/b');
    s.onBreweryPresence(brewery('a', { stress_level: '0.1', drain: 'false' }));
    assert.equal(s.isOperational('jvb@auth.example/a'), false, 'a stats presence does not clear the failure');
    now += 60_000;
    assert.equal(s.isOperational('jvb@auth.example/a'), true);
    assert.equal(s.select()?.jid, 'jvb@auth.example/a');
  });

  it('neither selects nor keeps a bridge whose presence says healthy=false, until the reset time after it says healthy=true', () => {
    let now = 0;
    const s = new BridgeSelector({ failureResetMs: 60_000, now: () => now });
    s.onBreweryPresence(brewery('sick', { stress_level: '0.0', drain: 'false', healthy: 'true' }));
    s.onBreweryPresence(brewery('well', { stress_level: '0.5', drain: 'false', healthy: 'true' }));
    assert.equal(s.select()?.jid, 'jvb@auth.example/sick');
    s.onBreweryPresence(brewery('sick', { stress_level: '0.0', drain: 'false', healthy: 'false' }));
    assert.equal(s.select()?.jid, 'jvb@auth.example/well', 'the least stressed bridge is unhealthy');
    assert.equal(s.isOperational('jvb@auth.example/sick'), false, 'its conferences are moved off it (Jicofo bridgeFailedHealthCheck)');
    now += 120_000;
    s.onBreweryPresence(brewery('sick', { stress_level: '0.0', drain: 'false' }));
    assert.equal(s.isOperational('jvb@auth.example/sick'), false, 'a presence without the stat keeps the last health said');
    now += 30_000;
    s.onBreweryPresence(brewery('sick', { stress_level: '0.0', drain: 'false', healthy: 'true' }));
    assert.equal(s.isOperational('jvb@auth.example/sick'), false, 'healthy again, but it failed within the reset time');
    now += 30_000;
    assert.equal(s.isOperational('jvb@auth.example/sick'), false);
    now += 30_000;
    assert.equal(s.isOperational('jvb@auth.example/sick'), true);
    assert.equal(s.select()?.jid, 'jvb@auth.example/sick');
  });

  it('keeps conferences on a draining bridge but not on one gone from the brewery; graceful_shutdown stops selection', () => {
    const s = new BridgeSelector();
    s.onBreweryPresence(brewery('a', { stress_level: '0', drain: 'true' }));
    assert.equal(s.isOperational('jvb@auth.example/a'), true, 'draining bridges keep their conferences');
    assert.equal(s.select(), undefined);
    s.onBreweryPresence(brewery('b', { stress_level: '0', drain: 'false' }));
    s.markShuttingDown('jvb@auth.example/b');
    assert.equal(s.select(), undefined);
    assert.equal(s.isOperational('jvb@auth.example/b'), true);
    s.onBreweryPresence(brewery('a', {}, 'unavailable'));
    assert.equal(s.isOperational('jvb@auth.example/a'), false);
    assert.equal(s.isOperational('jvb@auth.example/nobody'), false);
  });
});

describe('the focus IQ caller', () => {
  it('matches a result by id and sender, and turns an error into a StanzaError', async () => {
    const sent: Element[] = [];
    const caller = new IqCaller((s) => sent.push(s), 1000);
    const pending = caller.request('jvb@auth.example/a', 'set', new Element('q', { xmlns: 'urn:x' }));
    const id = sent[0]!.attrs.id as string;
    assert.equal(caller.handleReply(new Element('iq', { type: 'result', id, from: 'intruder@example/x' })), false, 'a reply from someone else is not ours');
    const result = new Element('iq', { type: 'result', id, from: 'jvb@auth.example/a' });
    result.c('answer', { xmlns: 'urn:x' });
    assert.equal(caller.handleReply(result), true);
    assert.equal((await pending)?.name, 'answer');

    const failing = caller.request('jvb@auth.example/a', 'get', new Element('q'));
    const error = new Element('iq', { type: 'error', id: sent[1]!.attrs.id, from: 'jvb@auth.example/a' });
    error.c('error', { type: 'cancel' }).c('item-not-found', { xmlns: 'urn:ietf:params:xml:ns:xmpp-stanzas' });
    caller.handleReply(error);
    await assert.rejects(failing, (e: StanzaError) => e.condition === 'item-not-found');
  });

  it('rejects what is pending when closed, and refuses new requests', async () => {
    const caller = new IqCaller(() => undefined, 60_000);
    const pending = caller.request('x@example/y', 'get', new Element('q'));
    caller.close();
    await assert.rejects(pending, (e: StanzaError) => e.condition === 'service-unavailable');
    await assert.rejects(caller.request('x@example/y', 'get', new Element('q')));
  });
});
