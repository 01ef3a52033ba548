import assert from 'node:assert/strict';
import pino from 'pino';
import { Message, classes, methods, parseMessage } from 'werift';
import { IceAgent, candidatePriority, pairPriority, type IceState } from '../../../../bridge/transport/ice-agent.ts';
import { addressKey, type RemoteAddress } from '../../../../bridge/transport/udp-mux.ts';
import { ManualClock } from './manual-clock.ts';
import { StunPeer, stun, type SentDatagram } from './stun-peer.ts';

const BROWSER: RemoteAddress = { host: '192.0.2.10', port: 50_000 };
const LOCAL = { ufrag: 'bridgeufrag1', pwd: 'bridgepassword0123456789' };

function setup(options: { maxRemoteCandidates?: number; maxTransactions?: number; routedElsewhere?: RemoteAddress[] } = {}) {
  const clock = new ManualClock();
  const sent: SentDatagram[] = [];
  const validated: string[] = [];
  const transactions = new Set<string>();
  const states: IceState[] = [];
  const agent = new IceAgent({
    localUfrag: LOCAL.ufrag,
    localPwd: LOCAL.pwd,
    localPriority: candidatePriority(126),
    clock,
    log: pino({ level: 'silent' }),
    ...(options.maxRemoteCandidates !== undefined ? { maxRemoteCandidates: options.maxRemoteCandidates } : {}),
    ...(options.maxTransactions !== undefined ? { maxTransactions: options.maxTransactions } : {}),
    io: {
      send: (data, to) => sent.push({ data, to }),
      addTransaction: (id) => (transactions.add(id), true),
      removeTransaction: (id) => void transactions.delete(id),
      validated: (address) => {
        if (options.routedElsewhere?.some((other) => addressKey(other) === addressKey(address))) return false;
        validated.push(addressKey(address));
        return true;
      },
    },
  });
  agent.events.on('state', (state) => states.push(state));
  const peer = new StunPeer('browserufrag', 'browserpassword012345678', LOCAL);
  const deliverRequest = (message = peer.request(), from = BROWSER): void => agent.handleRequest(stun(message.bytes), message.bytes, from);
  /** Answers every request the agent sent since `from` (index), as the browser would. */
  const answerAll = (fromIndex = 0): number => {
    let answered = 0;
    for (const { data, to } of sent.slice(fromIndex)) {
      const message = stun(data);
      if (message.messageClass !== classes.REQUEST) continue;
      const response = peer.respond(data, to);
      agent.handleResponse(stun(response), response, to);
      answered++;
    }
    return answered;
  };
  return { clock, sent, validated, transactions, states, agent, peer, deliverRequest, answerAll };
}

describe('bridge/transport/ice-agent', () => {
  it('answers an authenticated check with XOR-MAPPED-ADDRESS and marks the source validated', () => {
    const { agent, sent, validated, deliverRequest } = setup();
    deliverRequest();
    assert.equal(sent.length, 1);
    const response = parseMessage(sent[0]!.data, Buffer.from(LOCAL.pwd));
    assert.ok(response, 'the response carries MESSAGE-INTEGRITY with our password');
    assert.equal(response.messageClass, classes.RESPONSE);
    assert.deepEqual(response.getAttributeValue('XOR-MAPPED-ADDRESS'), [BROWSER.host, BROWSER.port]);
    assert.deepEqual(validated, [addressKey(BROWSER)]);
    assert.equal(agent.sizes.pairs, 1, 'the source is learned as a peer-reflexive candidate');
  });

  it('ignores checks with a wrong password, without FINGERPRINT or for another ufrag', () => {
    const { sent, validated, deliverRequest, peer, agent } = setup();
    deliverRequest(peer.request({ pwd: 'not-the-password-at-all!' }));
    deliverRequest(peer.request({ fingerprint: false }));
    deliverRequest(peer.request({ ufrag: 'someoneelse' }));
    assert.equal(sent.length, 0);
    assert.deepEqual(validated, []);
    assert.equal(agent.sizes.pairs, 0);
  });

  it('ignores a check with attributes after its MESSAGE-INTEGRITY (RFC 5389 §15.4: not covered by it)', () => {
    const { sent, validated, agent } = setup();
    const check = () => new Message(methods.BINDING, classes.REQUEST).setAttribute('USERNAME', `${LOCAL.ufrag}:browserufrag`).setAttribute('PRIORITY', 1)
      .setAttribute('ICE-CONTROLLED', 1n).addMessageIntegrity(Buffer.from(LOCAL.pwd));
    // Someone on the path appends a role (and a new FINGERPRINT, a CRC anyone can compute).
    const tampered = check().setAttribute('ICE-CONTROLLING', 2n).addFingerprint().bytes;
    agent.handleRequest(stun(tampered), tampered, BROWSER);
    assert.equal(sent.length, 0, 'no answer, not even 487');
    assert.deepEqual(validated, []);
    const genuine = check().addFingerprint().bytes;
    agent.handleRequest(stun(genuine), genuine, BROWSER);
    assert.equal(stun(sent[0]!.data).messageClass, classes.RESPONSE, 'the same check untouched is answered');
    assert.equal(agent.sizes.pairs, 1);
  });

  it('neither answers nor pairs a check from an address the mux routes to another endpoint', () => {
    const { sent, validated, deliverRequest, agent } = setup({ routedElsewhere: [BROWSER] });
    deliverRequest();
    assert.equal(sent.length, 0);
    assert.deepEqual(validated, []);
    assert.equal(agent.sizes.pairs, 0);
  });

  it('never nominates a pair whose address the mux routes to another endpoint; it nominates the next one that succeeds', () => {
    const squatted: RemoteAddress = { host: '192.0.2.10', port: 50_000 };
    const other: RemoteAddress = { host: '198.51.100.7', port: 40_000 };
    const { agent, sent, clock, answerAll, peer } = setup({ routedElsewhere: [squatted] });
    agent.setRemoteCredentials(peer.ufrag, peer.pwd);
    agent.addRemoteCandidate({ ...squatted, priority: 2_000_000_000 });
    agent.addRemoteCandidate({ ...other, priority: 1_000_000_000 });
    for (let t = 0; t < 2_000 && agent.state !== 'connected'; t += 5) {
      const before = sent.length;
      clock.advance(5);
      answerAll(before);
    }
    assert.equal(agent.state, 'connected');
    assert.equal(addressKey(agent.selectedAddress!), addressKey(other));
    const nominations = sent.filter(({ data }) => stun(data).attributesKeys.includes('USE-CANDIDATE'));
    assert.ok(nominations.every(({ to }) => addressKey(to) === addressKey(other)), 'no USE-CANDIDATE to the other endpoint\'s address');
  });

  it('nominates the next succeeded pair when a nomination goes unanswered, before the connect timeout', () => {
    const first: RemoteAddress = { host: '192.0.2.10', port: 50_000 };
    const second: RemoteAddress = { host: '198.51.100.7', port: 40_000 };
    const { agent, sent, clock, peer } = setup();
    agent.setRemoteCredentials(peer.ufrag, peer.pwd);
    agent.addRemoteCandidate({ ...first, priority: 2_000_000_000 });
    agent.addRemoteCandidate({ ...second, priority: 1_000_000_000 });
    let answered = 0;
    let elapsed = 0;
    // The first path dies right after its check is answered: its nomination (and all after it) goes unanswered.
    for (; elapsed < 15_000 && agent.state !== 'connected'; elapsed += 5) {
      clock.advance(5);
      const firstNominated = sent.some(({ data, to }) => addressKey(to) === addressKey(first) && stun(data).attributesKeys.includes('USE-CANDIDATE'));
      for (const { data, to } of sent.slice(answered)) {
        const message = stun(data);
        if (message.messageClass !== classes.REQUEST || (addressKey(to) === addressKey(first) && firstNominated)) continue;
        const response = peer.respond(data, to);
        agent.handleResponse(stun(response), response, to);
      }
      answered = sent.length;
    }
    assert.equal(agent.state, 'connected', `still ${agent.state} after ${elapsed} ms`);
    assert.equal(addressKey(agent.selectedAddress!), addressKey(second));
    assert.ok(elapsed < 5_000, `connected after ${elapsed} ms`);
  });

  it('answers a peer that also claims the controlling role with 487 Role Conflict and learns nothing', () => {
    const { sent, validated, deliverRequest, peer, agent } = setup();
    deliverRequest(peer.request({ role: 'controlling' }));
    assert.equal(sent.length, 1);
    const response = stun(sent[0]!.data);
    assert.equal(response.messageClass, classes.ERROR);
    assert.deepEqual(response.getAttributeValue('ERROR-CODE'), [487, 'Role Conflict']);
    assert.deepEqual(validated, []);
    assert.equal(agent.sizes.pairs, 0);
  });

  it('checks a signalled candidate, then nominates it with USE-CANDIDATE and connects', () => {
    const { agent, clock, sent, states, answerAll } = setup();
    agent.addRemoteCandidate({ host: BROWSER.host, port: BROWSER.port, priority: 2_130_706_431 });
    agent.setRemoteCredentials('browserufrag', 'browserpassword012345678');
    assert.equal(agent.state, 'checking');
    assert.equal(sent.length, 0, 'checks are paced');
    clock.advance(20);
    assert.equal(sent.length, 1);
    const check = parseMessage(sent[0]!.data, Buffer.from('browserpassword012345678'));
    assert.ok(check, 'our check is signed with the remote password');
    assert.equal(check.getAttributeValue('USERNAME'), `browserufrag:${LOCAL.ufrag}`);
    assert.ok(check.attributesKeys.includes('ICE-CONTROLLING'));
    assert.ok(!check.attributesKeys.includes('USE-CANDIDATE'));
    answerAll();
    assert.equal(sent.length, 2, 'a nomination follows the successful check');
    assert.ok(stun(sent[1]!.data).attributesKeys.includes('USE-CANDIDATE'));
    answerAll(1);
    assert.equal(agent.state, 'connected');
    assert.deepEqual(agent.selectedAddress, BROWSER);
    assert.deepEqual(states, ['checking', 'connected']);
  });

  it('sends a triggered check to the source of a check that came before the remote credentials', () => {
    const { agent, sent, deliverRequest, answerAll, clock } = setup();
    deliverRequest();
    assert.equal(sent.length, 1, 'only the response: no credentials to check with yet');
    agent.setRemoteCredentials('browserufrag', 'browserpassword012345678');
    clock.advance(20);
    assert.equal(sent.length, 2);
    assert.deepEqual(sent[1]!.to, BROWSER);
    answerAll(1);
    answerAll(2);
    assert.equal(agent.state, 'connected');
  });

  it('retransmits an unanswered check with backoff, then fails the pair and the agent at the connect timeout', () => {
    const { agent, clock, sent, transactions, states } = setup();
    agent.addRemoteCandidate({ host: BROWSER.host, port: BROWSER.port, priority: 1 });
    agent.setRemoteCredentials('browserufrag', 'browserpassword012345678');
    clock.advance(20);
    clock.advance(250 + 500 + 1000);
    assert.equal(sent.length, 4, 'sent at 0, 250, 750 and 1750 ms after the first');
    clock.advance(60_000);
    assert.equal(sent.length, 6, 'the 7th would be 15.75 s after the first, after the 15 s connect timeout');
    assert.equal(transactions.size, 0);
    assert.equal(agent.state, 'failed');
    assert.deepEqual(states, ['checking', 'failed']);
    assert.equal(clock.pending, 0, 'no timer is left running');
  });

  it('keeps consent while checks are answered and fails 30 s after the last authenticated response (RFC 7675)', () => {
    const { agent, clock, sent, answerAll, states } = setup();
    agent.addRemoteCandidate({ host: BROWSER.host, port: BROWSER.port, priority: 1 });
    agent.setRemoteCredentials('browserufrag', 'browserpassword012345678');
    clock.advance(20);
    answerAll();
    answerAll(1);
    assert.equal(agent.state, 'connected');
    let answeredUpTo = sent.length;
    for (let second = 0; second < 60; second++) {
      clock.advance(1000);
      answerAll(answeredUpTo);
      answeredUpTo = sent.length;
    }
    assert.equal(agent.state, 'connected', 'answered consent checks keep the pair');
    assert.ok(sent.length >= 2 + 10, `about one consent check every 5 s (${sent.length - 2})`);
    while (sent.length === answeredUpTo) clock.advance(1);
    answerAll(answeredUpTo); // the last answered consent check, now
    clock.advance(29_999);
    assert.equal(agent.state, 'connected');
    clock.advance(1);
    assert.equal(agent.state, 'failed');
    assert.deepEqual(states, ['checking', 'connected', 'failed']);
    assert.equal(clock.pending, 0);
  });

  it('does not count a response with a bad MESSAGE-INTEGRITY or from another address', () => {
    const { agent, clock, sent, peer } = setup();
    agent.addRemoteCandidate({ host: BROWSER.host, port: BROWSER.port, priority: 1 });
    agent.setRemoteCredentials('browserufrag', 'browserpassword012345678');
    clock.advance(20);
    const forged = new StunPeer('browserufrag', 'wrong-password-wrong-pwd', LOCAL).respond(sent[0]!.data, BROWSER);
    agent.handleResponse(stun(forged), forged, BROWSER);
    const elsewhere = peer.respond(sent[0]!.data, BROWSER);
    agent.handleResponse(stun(elsewhere), elsewhere, { host: '198.51.100.1', port: 1 });
    assert.equal(sent.length, 1, 'no nomination followed');
    assert.equal(agent.state, 'checking');
  });

  it('keeps at most maxRemoteCandidates remote candidates, signalled or learned', () => {
    const { agent, deliverRequest } = setup({ maxRemoteCandidates: 4 });
    for (let i = 0; i < 10; i++) agent.addRemoteCandidate({ host: '192.0.2.1', port: 1000 + i, priority: 1 });
    for (let i = 0; i < 10; i++) deliverRequest(undefined, { host: '192.0.2.2', port: 2000 + i });
    assert.equal(agent.sizes.pairs, 4);
  });

  it('starts no more than maxTransactions checks at once', () => {
    const { agent, clock, transactions } = setup({ maxTransactions: 3 });
    for (let i = 0; i < 10; i++) agent.addRemoteCandidate({ host: '192.0.2.1', port: 1000 + i, priority: i });
    agent.setRemoteCredentials('browserufrag', 'browserpassword012345678');
    clock.advance(200);
    assert.equal(transactions.size, 3);
  });

  it('close stops every timer, forgets pairs and transactions and is idempotent', () => {
    const { agent, clock, transactions, states } = setup();
    for (let i = 0; i < 5; i++) agent.addRemoteCandidate({ host: '192.0.2.1', port: 1000 + i, priority: i });
    agent.setRemoteCredentials('browserufrag', 'browserpassword012345678');
    clock.advance(60);
    assert.ok(transactions.size > 0 && clock.pending > 0);
    agent.close('test');
    agent.close('again');
    assert.equal(transactions.size, 0);
    assert.equal(clock.pending, 0);
    assert.deepEqual(agent.sizes, { pairs: 0, transactions: 0, triggered: 0 });
    assert.deepEqual(states, ['checking', 'closed']);
  });

  it('orders pairs by RFC 8445 §6.1.2.3 priority with the controlling side as G', () => {
    assert.equal(pairPriority(10, 20), (10n << 32n) + 40n);
    assert.equal(pairPriority(20, 10), (10n << 32n) + 40n + 1n);
    assert.equal(candidatePriority(126), 2_130_706_431);
  });
});
