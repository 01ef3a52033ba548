// A full ICE agent (RFC 8445) in the controlling role for one endpoint on the shared UDP socket:
// answers checks for its ufrag, sends its own, nominates with USE-CANDIDATE (regular nomination)
// and keeps consent (RFC 7675). STUN encoding is werift's Message/parseMessage; sockets and time
// come from the owner (IceIo, Clock), so every rule here has a socket-free unit test.
//
// Limits: one local host candidate per address family (the mux's), UDP only, no ICE restart, and
// the role is never given up: a peer that also claims controlling gets 487 (jitsi-protocol.md §8.1).

import { randomBytes, randomInt } from 'node:crypto';
import type { Logger } from 'pino';
import { Message, classes, methods, parseMessage } from 'werift';
import type { Clock } from './clock.ts';
import { TypedEvents } from './events.ts';
import { addressKey, type RemoteAddress } from './udp-mux.ts';

export type IceState = 'new' | 'checking' | 'connected' | 'failed' | 'closed';

/** A remote candidate the agent can check: an IP address and UDP port. */
export interface IceRemoteCandidate {
  readonly host: string;
  readonly port: number;
  readonly priority: number;
}

/** What the agent needs from the mux: sending, and transaction/address routing. */
export interface IceIo {
  send(data: Buffer, to: RemoteAddress): void;
  /** Routes responses with this id here; false if the mux is full (the check is skipped). */
  addTransaction(transactionId: string): boolean;
  removeTransaction(transactionId: string): void;
  /**
   * The remote address proved it knows the ICE password (authenticated check or response): whether
   * its datagrams now come here. False when the mux routes it to another endpoint (the first to
   * prove an address keeps it) or this one has too many: a pair on it would carry DTLS and media
   * elsewhere, so it is neither answered nor nominated.
   */
  validated(address: RemoteAddress): boolean;
}

/** Timing in milliseconds. */
export interface IceTiming {
  /** Pacing of ordinary checks (RFC 8445 §14.2 Ta); default 20. */
  paceMs: number;
  /** First retransmission timeout of a check, doubled on each retry; default 250. */
  rtoMs: number;
  /** Transmissions of one check before its pair fails (RFC 5389 Rc-like); default 7. */
  maxTransmissions: number;
  /** Fail when no pair is nominated this long after the remote credentials; default 15 000. */
  connectTimeoutMs: number;
  /** Consent check period, randomised ±20 % (RFC 7675 §5.1); default 5 000. */
  consentIntervalMs: number;
  /** Consent expires this long after the last authenticated response (RFC 7675 §5.1); default 30 000. */
  consentTimeoutMs: number;
}

export const DEFAULT_ICE_TIMING: IceTiming = {
  paceMs: 20,
  rtoMs: 250,
  maxTransmissions: 7,
  connectTimeoutMs: 15_000,
  consentIntervalMs: 5_000,
  consentTimeoutMs: 30_000,
};

export interface IceAgentOptions {
  localUfrag: string;
  localPwd: string;
  /** Priority of our host candidate (for pair priorities). */
  localPriority: number;
  io: IceIo;
  clock: Clock;
  log: Logger;
  timing?: Partial<IceTiming>;
  /** Remote candidates (signalled and learned) kept at most; default 16. */
  maxRemoteCandidates?: number;
  /** Outstanding transactions at most; default 32. */
  maxTransactions?: number;
}

export interface IceAgentEvents {
  state: (state: IceState, reason: string) => void;
}

type PairState = 'waiting' | 'in-progress' | 'succeeded' | 'failed';
type Purpose = 'check' | 'nominate' | 'consent';

interface CandidatePair {
  readonly remote: RemoteAddress;
  readonly priority: bigint;
  state: PairState;
}

interface Transaction {
  readonly id: string;
  readonly pair: CandidatePair;
  readonly purpose: Purpose;
  readonly bytes: Buffer;
  transmissions: number;
  cancelTimer: (() => void) | undefined;
}

/** Type preference of a peer-reflexive candidate, RFC 8445 §5.1.2.2. */
const PRFLX_TYPE_PREFERENCE = 110;
/** Consent checks are few and cheap: a lost one is covered by the next period. */
const CONSENT_TRANSMISSIONS = 3;
/**
 * A nomination goes to a pair whose check was just answered: unanswered after 4 sends (3.75 s),
 * its path is taken for dead and the next succeeded pair nominated. With the checks' 7 (31.75 s)
 * the connect timeout (15 s) came first, and a working second pair was never tried.
 */
const NOMINATION_TRANSMISSIONS = 4;

export class IceAgent {
  readonly events: TypedEvents<IceAgentEvents>;
  readonly #local: { ufrag: string; pwd: Buffer; priority: number };
  readonly #io: IceIo;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #timing: IceTiming;
  readonly #maxRemoteCandidates: number;
  readonly #maxTransactions: number;
  readonly #tieBreaker = randomBytes(8).readBigUInt64BE(0);
  readonly #pairs = new Map<string, CandidatePair>();
  readonly #triggered: CandidatePair[] = [];
  readonly #transactions = new Map<string, Transaction>();
  #remote: { ufrag: string; pwd: Buffer } | undefined;
  #state: IceState = 'new';
  #selected: CandidatePair | undefined;
  #nominating = false;
  #cancelPace: (() => void) | undefined;
  #cancelConnect: (() => void) | undefined;
  #cancelConsentCheck: (() => void) | undefined;
  #cancelConsentExpiry: (() => void) | undefined;

  constructor(options: IceAgentOptions) {
    this.#local = { ufrag: options.localUfrag, pwd: Buffer.from(options.localPwd, 'utf8'), priority: options.localPriority };
    this.#io = options.io;
    this.#clock = options.clock;
    this.#log = options.log;
    this.#timing = { ...DEFAULT_ICE_TIMING, ...options.timing };
    this.#maxRemoteCandidates = options.maxRemoteCandidates ?? 16;
    this.#maxTransactions = options.maxTransactions ?? 32;
    this.events = new TypedEvents<IceAgentEvents>(options.log);
  }

  get state(): IceState {
    return this.#state;
  }

  /** The nominated remote address, once connected. */
  get selectedAddress(): RemoteAddress | undefined {
    return this.#selected?.remote;
  }

  /** Counts for tests and stats. */
  get sizes(): { pairs: number; transactions: number; triggered: number } {
    return { pairs: this.#pairs.size, transactions: this.#transactions.size, triggered: this.#triggered.length };
  }

  /** The remote ufrag/pwd (from the Jingle answer); starts the checks. Later different ones are ignored. */
  setRemoteCredentials(ufrag: string, pwd: string): void {
    if (this.#state !== 'new') {
      if (this.#remote && this.#remote.ufrag !== ufrag) this.#log.warn({ ufrag }, 'new remote ICE credentials ignored: ICE restart is not supported');
      return;
    }
    this.#remote = { ufrag, pwd: Buffer.from(pwd, 'utf8') };
    this.#setState('checking', 'remote credentials');
    this.#cancelConnect = this.#clock.setTimeout(() => {
      this.#cancelConnect = undefined;
      if (!this.#selected) this.#fail('no pair nominated before the connect timeout');
    }, this.#timing.connectTimeoutMs);
    this.#schedulePace();
  }

  /** A signalled remote candidate (session-accept or transport-info). */
  addRemoteCandidate(candidate: IceRemoteCandidate): void {
    if (this.#state === 'closed' || this.#state === 'failed') return;
    this.#pairFor(candidate);
    this.#schedulePace();
  }

  /** A binding request routed here by ufrag; answered only if its integrity checks out. */
  handleRequest(request: Message, raw: Buffer, from: RemoteAddress): void {
    if (this.#state === 'closed' || this.#state === 'failed') return;
    if (request.messageMethod !== methods.BINDING) return;
    const username: unknown = request.getAttributeValue('USERNAME');
    if (typeof username !== 'string') return;
    const [ufrag, remoteUfrag] = username.split(':');
    if (ufrag !== this.#local.ufrag) return;
    if (this.#remote && remoteUfrag !== this.#remote.ufrag) return this.#debug('check with another remote ufrag', from);
    // RFC 8445 §7.2.2: checks carry MESSAGE-INTEGRITY (our password) and FINGERPRINT.
    if (!request.attributesKeys.includes('FINGERPRINT')) return this.#debug('check without FINGERPRINT', from);
    if (!parseMessage(raw, this.#local.pwd)) return this.#debug('check failed MESSAGE-INTEGRITY', from);
    if (!endsAtIntegrity(raw)) return this.#debug('check with attributes after MESSAGE-INTEGRITY', from);

    if (request.attributesKeys.includes('ICE-CONTROLLING')) {
      // RFC 8445 §7.3.1.1: we are controlling too. The bridge keeps the role, so always 487.
      this.#respondError(request, from, 487, 'Role Conflict');
      return;
    }
    if (!this.#io.validated(from)) return this.#debug('check from an address routed to another endpoint', from);
    const response = new Message(methods.BINDING, classes.RESPONSE, request.transactionId)
      .setAttribute('XOR-MAPPED-ADDRESS', [from.host, from.port])
      .addMessageIntegrity(this.#local.pwd)
      .addFingerprint();
    this.#io.send(response.bytes, from);

    const priority: unknown = request.getAttributeValue('PRIORITY');
    // RFC 8445 §7.3.1.3: an unknown source is a peer-reflexive candidate.
    const pair = this.#pairFor({ host: from.host, port: from.port, priority: typeof priority === 'number' ? priority : 0 });
    if (!pair || this.#selected || pair.state === 'succeeded' || pair.state === 'in-progress') return;
    // RFC 8445 §7.3.1.4: a triggered check. Sent at once rather than on the next tick: the browser
    // starts DTLS as soon as our answer reaches it, and 'connected' also waits for our nomination.
    if (this.#remote) this.#check(pair, 'check');
    else if (!this.#triggered.includes(pair)) this.#triggered.push(pair);
  }

  /** A response to one of our transactions. */
  handleResponse(response: Message, raw: Buffer, from: RemoteAddress): void {
    const transaction = this.#transactions.get(response.transactionIdHex);
    if (!transaction || !this.#remote) return;
    // RFC 8445 §7.2.5.2.1 symmetry, and integrity with the remote password.
    if (addressKey(from) !== addressKey(transaction.pair.remote)) return this.#debug('response from another address', from);
    if (!parseMessage(raw, this.#remote.pwd)) return this.#debug('response failed MESSAGE-INTEGRITY', from);
    if (!endsAtIntegrity(raw)) return this.#debug('response with attributes after MESSAGE-INTEGRITY', from);
    this.#endTransaction(transaction);
    const { pair, purpose } = transaction;
    if (response.messageClass === classes.ERROR) {
      const error: unknown = response.getAttributeValue('ERROR-CODE');
      this.#log.warn({ purpose, error, remote: addressKey(from) }, 'ICE check answered with an error');
      if (purpose === 'consent') return;
      this.#pairFailed(pair, purpose);
      return;
    }
    if (!this.#io.validated(pair.remote)) {
      this.#debug('response from an address routed to another endpoint', from);
      this.#pairFailed(pair, purpose);
      return;
    }
    if (pair === this.#selected) this.#renewConsent();
    if (purpose === 'check') {
      pair.state = 'succeeded';
      if (!this.#selected && !this.#nominating) this.#nominate(pair);
    } else if (purpose === 'nominate') {
      pair.state = 'succeeded';
      this.#nominating = false;
      this.#select(pair);
    }
  }

  /** Idempotent; stops every timer and forgets every pair and transaction. */
  close(reason: string): void {
    if (this.#state === 'closed') return;
    this.#stop();
    this.#pairs.clear();
    this.#selected = undefined;
    this.#setState('closed', reason);
    this.events.clear();
  }

  #pairFor(remote: IceRemoteCandidate): CandidatePair | undefined {
    const key = addressKey(remote);
    const existing = this.#pairs.get(key);
    if (existing) return existing;
    if (this.#pairs.size >= this.#maxRemoteCandidates && !this.#evictFailedPair()) {
      this.#debug('remote candidate ignored: limit reached', remote);
      return undefined;
    }
    const pair: CandidatePair = {
      remote: { host: remote.host, port: remote.port },
      priority: pairPriority(this.#local.priority, remote.priority),
      state: 'waiting',
    };
    this.#pairs.set(key, pair);
    return pair;
  }

  #evictFailedPair(): boolean {
    for (const [key, pair] of this.#pairs) {
      if (pair.state !== 'failed') continue;
      this.#pairs.delete(key);
      return true;
    }
    return false;
  }

  #schedulePace(): void {
    if (this.#cancelPace || this.#state !== 'checking' || this.#selected) return;
    const work = this.#triggered.length > 0 || [...this.#pairs.values()].some((p) => p.state === 'waiting');
    if (!work) return;
    this.#cancelPace = this.#clock.setTimeout(() => {
      this.#cancelPace = undefined;
      this.#pace();
      this.#schedulePace();
    }, this.#timing.paceMs);
  }

  /** Every Ta: one triggered check, else the best waiting pair (RFC 8445 §6.1.4.2). */
  #pace(): void {
    if (!this.#remote || this.#selected) return;
    let pair = this.#triggered.shift();
    if (!pair) {
      for (const candidate of this.#pairs.values()) {
        if (candidate.state === 'waiting' && (!pair || candidate.priority > pair.priority)) pair = candidate;
      }
    }
    if (pair && this.#pairs.get(addressKey(pair.remote)) === pair) this.#check(pair, 'check');
  }

  #nominate(pair: CandidatePair): void {
    this.#nominating = true;
    if (!this.#check(pair, 'nominate')) this.#nominating = false;
  }

  #pairFailed(pair: CandidatePair, purpose: Purpose): void {
    pair.state = 'failed';
    if (purpose !== 'nominate') return;
    this.#nominating = false;
    let best: CandidatePair | undefined;
    for (const other of this.#pairs.values()) {
      if (other.state === 'succeeded' && (!best || other.priority > best.priority)) best = other;
    }
    if (best) this.#nominate(best);
  }

  #select(pair: CandidatePair): void {
    if (this.#selected) return;
    this.#selected = pair;
    this.#cancelPace?.();
    this.#cancelPace = undefined;
    this.#cancelConnect?.();
    this.#cancelConnect = undefined;
    this.#triggered.length = 0;
    // Only the selected pair's consent is kept; other transactions end here.
    for (const transaction of [...this.#transactions.values()]) this.#endTransaction(transaction);
    this.#renewConsent();
    this.#scheduleConsentCheck();
    this.#setState('connected', `nominated ${addressKey(pair.remote)}`);
  }

  #renewConsent(): void {
    this.#cancelConsentExpiry?.();
    this.#cancelConsentExpiry = this.#clock.setTimeout(() => {
      this.#cancelConsentExpiry = undefined;
      this.#fail('consent expired (RFC 7675)');
    }, this.#timing.consentTimeoutMs);
  }

  #scheduleConsentCheck(): void {
    const base = this.#timing.consentIntervalMs;
    this.#cancelConsentCheck = this.#clock.setTimeout(() => {
      this.#cancelConsentCheck = undefined;
      if (!this.#selected || this.#state !== 'connected') return;
      this.#check(this.#selected, 'consent');
      this.#scheduleConsentCheck();
    }, randomInt(Math.floor(base * 0.8), Math.ceil(base * 1.2) + 1));
  }

  /** Sends a new check on the pair; false if no transaction could be started. */
  #check(pair: CandidatePair, purpose: Purpose): boolean {
    const remote = this.#remote;
    if (!remote || this.#transactions.size >= this.#maxTransactions) return false;
    const request = new Message(methods.BINDING, classes.REQUEST)
      .setAttribute('USERNAME', `${remote.ufrag}:${this.#local.ufrag}`)
      .setAttribute('PRIORITY', candidatePriority(PRFLX_TYPE_PREFERENCE))
      .setAttribute('ICE-CONTROLLING', this.#tieBreaker);
    if (purpose === 'nominate') request.setAttribute('USE-CANDIDATE', null);
    request.addMessageIntegrity(remote.pwd).addFingerprint();
    const transaction: Transaction = { id: request.transactionIdHex, pair, purpose, bytes: request.bytes, transmissions: 0, cancelTimer: undefined };
    if (!this.#io.addTransaction(transaction.id)) return false;
    if (purpose !== 'consent') pair.state = 'in-progress';
    this.#transactions.set(transaction.id, transaction);
    this.#transmit(transaction);
    return true;
  }

  #transmit(transaction: Transaction): void {
    const limit = transaction.purpose === 'consent' ? CONSENT_TRANSMISSIONS
      : transaction.purpose === 'nominate' ? Math.min(NOMINATION_TRANSMISSIONS, this.#timing.maxTransmissions) : this.#timing.maxTransmissions;
    transaction.cancelTimer = undefined;
    if (transaction.transmissions >= limit) {
      this.#endTransaction(transaction);
      if (transaction.purpose !== 'consent') this.#pairFailed(transaction.pair, transaction.purpose);
      this.#schedulePace();
      return;
    }
    const rto = this.#timing.rtoMs * 2 ** transaction.transmissions;
    transaction.transmissions++;
    this.#io.send(transaction.bytes, transaction.pair.remote);
    transaction.cancelTimer = this.#clock.setTimeout(() => this.#transmit(transaction), rto);
  }

  #endTransaction(transaction: Transaction): void {
    transaction.cancelTimer?.();
    transaction.cancelTimer = undefined;
    if (!this.#transactions.delete(transaction.id)) return;
    this.#io.removeTransaction(transaction.id);
  }

  #respondError(request: Message, to: RemoteAddress, code: number, reason: string): void {
    const response = new Message(methods.BINDING, classes.ERROR, request.transactionId)
      .setAttribute('ERROR-CODE', [code, reason])
      .addMessageIntegrity(this.#local.pwd)
      .addFingerprint();
    this.#io.send(response.bytes, to);
  }

  #fail(reason: string): void {
    if (this.#state === 'closed' || this.#state === 'failed') return;
    this.#stop();
    this.#setState('failed', reason);
  }

  #stop(): void {
    for (const cancel of [this.#cancelPace, this.#cancelConnect, this.#cancelConsentCheck, this.#cancelConsentExpiry]) cancel?.();
    this.#cancelPace = this.#cancelConnect = this.#cancelConsentCheck = this.#cancelConsentExpiry = undefined;
    for (const transaction of [...this.#transactions.values()]) this.#endTransaction(transaction);
    this.#triggered.length = 0;
    this.#nominating = false;
  }

  #setState(state: IceState, reason: string): void {
    if (this.#state === state) return;
    this.#state = state;
    this.#log.debug({ state, reason, at: this.#clock.now() }, 'ICE state');
    this.events.emit('state', state, reason);
  }

  #debug(message: string, remote: RemoteAddress): void {
    if (this.#log.isLevelEnabled('debug')) this.#log.debug({ remote: addressKey(remote) }, message);
  }
}

/** RFC 8445 §5.1.2.1 with component 1 and the highest local preference. */
export function candidatePriority(typePreference: number): number {
  return typePreference * 2 ** 24 + 65_535 * 2 ** 8 + (256 - 1);
}

/** RFC 8445 §6.1.2.3, we being controlling (G = local). */
export function pairPriority(local: number, remote: number): bigint {
  const g = BigInt(local);
  const d = BigInt(remote);
  const [min, max] = g < d ? [g, d] : [d, g];
  return (min << 32n) + 2n * max + (g > d ? 1n : 0n);
}

const STUN_HEADER_BYTES = 20;
const ATTRIBUTE_MESSAGE_INTEGRITY = 0x0008;
const ATTRIBUTE_FINGERPRINT = 0x8028;

/**
 * Whether nothing but a FINGERPRINT follows the message's MESSAGE-INTEGRITY. RFC 5389 §15.4:
 * attributes after it are not covered by it and must be ignored; werift's parser reads them as the
 * others, so anyone who sees a genuine check could append a role or a USE-CANDIDATE (FINGERPRINT is
 * a CRC, needing no key). Such a message is refused whole. Read by hand: werift gives no offsets.
 */
export function endsAtIntegrity(raw: Uint8Array): boolean {
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  let position = STUN_HEADER_BYTES;
  while (position + 4 <= raw.length) {
    const type = view.getUint16(position);
    const next = position + 4 + ((view.getUint16(position + 2) + 3) & ~3);
    if (type === ATTRIBUTE_MESSAGE_INTEGRITY) {
      if (next === raw.length) return true;
      return next + 4 <= raw.length && view.getUint16(next) === ATTRIBUTE_FINGERPRINT && next + 8 === raw.length;
    }
    position = next;
  }
  return false;
}
