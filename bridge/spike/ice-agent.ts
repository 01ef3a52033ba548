// A full ICE agent (RFC 8445) in the controlling role for one endpoint on the shared UDP socket:
// answers checks for its ufrag, sends its own checks, nominates with USE-CANDIDATE (regular
// nomination) and keeps consent (RFC 7675). STUN encoding is werift's Message/parseMessage.
//
// Spike limits: one local host candidate (the mux address), UDP only, no ICE restart, and the role
// is never given up (a peer that also claims controlling gets 487, jitsi-protocol.md §8.1).

import { randomBytes, randomInt } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Message, classes, methods, parseMessage } from 'werift';
import { TypedEmitter } from './events.ts';
import { addressKey, type RemoteAddress } from './udp-mux.ts';

export type IceState = 'new' | 'checking' | 'connected' | 'failed' | 'closed';

export interface IceCandidate {
  readonly foundation: string;
  readonly priority: number;
  readonly host: string;
  readonly port: number;
  readonly type: 'host' | 'srflx' | 'prflx' | 'relay';
}

/** What the agent needs from the mux: sending and transaction/address routing. */
export interface IceIo {
  send(data: Buffer, to: RemoteAddress): void;
  addTransaction(transactionId: string): void;
  removeTransaction(transactionId: string): void;
  /** Called when a remote address has proved it knows our password (check or response). */
  validated(address: RemoteAddress): void;
}

export interface IceAgentOptions {
  localUfrag: string;
  localPwd: string;
  /** The mux's address, advertised as our one host candidate. */
  localCandidate: IceCandidate;
  io: IceIo;
  /** Pacing of new checks (RFC 8445 Ta), default 20 ms. */
  paceMs?: number;
  /** First retransmission timeout of a check, doubled on each retry; default 250 ms. */
  rtoMs?: number;
  /** Transmissions of one check before its pair fails (RFC 8445 Rc-like), default 7. */
  maxTransmissions?: number;
  /** Give up when no pair is nominated this long after the remote parameters; default 15 s. */
  connectTimeoutMs?: number;
  /** Consent check period (RFC 7675 §5.1: 5 s ±20 %); default 5000 ms. */
  consentIntervalMs?: number;
  /** Consent expiry after the last authenticated response (RFC 7675: 30 s). */
  consentTimeoutMs?: number;
  onListenerError: (event: string, error: unknown) => void;
  /** Peer-fault diagnostics (debug level). */
  debug?: (message: string) => void;
}

type PairState = 'waiting' | 'in-progress' | 'succeeded' | 'failed';

interface CandidatePair {
  readonly remote: IceCandidate;
  readonly priority: bigint;
  state: PairState;
  nominated: boolean;
}

interface Transaction {
  readonly id: string;
  readonly pair: CandidatePair;
  readonly purpose: 'check' | 'nominate' | 'consent';
  readonly bytes: Buffer;
  transmissions: number;
  timer: NodeJS.Timeout | undefined;
}

export type IceAgentEvents = {
  state: [IceState];
  selected: [RemoteAddress];
};

/** Type preference of a peer-reflexive candidate, RFC 8445 §5.1.2.2. */
const PRFLX_TYPE_PREFERENCE = 110;

export class IceAgent extends TypedEmitter<IceAgentEvents> {
  readonly #options: Required<Omit<IceAgentOptions, 'debug'>> & Pick<IceAgentOptions, 'debug'>;
  readonly #tieBreaker = randomBytes(8).readBigUInt64BE(0);
  readonly #pairs = new Map<string, CandidatePair>();
  readonly #triggered: CandidatePair[] = [];
  readonly #transactions = new Map<string, Transaction>();
  #remote: { ufrag: string; pwd: string } | undefined;
  #state: IceState = 'new';
  #selected: CandidatePair | undefined;
  #nominating = false;
  #pacer: NodeJS.Timeout | undefined;
  #connectTimer: NodeJS.Timeout | undefined;
  #consentTimer: NodeJS.Timeout | undefined;
  #lastConsent = 0;

  constructor(options: IceAgentOptions) {
    super(options.onListenerError);
    this.#options = {
      paceMs: 20,
      rtoMs: 250,
      maxTransmissions: 7,
      connectTimeoutMs: 15_000,
      consentIntervalMs: 5_000,
      consentTimeoutMs: 30_000,
      ...options,
    };
  }

  get state(): IceState {
    return this.#state;
  }

  get selectedAddress(): RemoteAddress | undefined {
    return this.#selected?.remote;
  }

  get pairCount(): number {
    return this.#pairs.size;
  }

  /** The remote ufrag/pwd (from the Jingle answer); starts the checks. */
  setRemoteParameters(ufrag: string, pwd: string): void {
    if (this.#state === 'closed' || this.#state === 'failed') return;
    this.#remote = { ufrag, pwd };
    this.#debug(`remote parameters at ${performance.now().toFixed(1)}`);
    this.#setState('checking');
    this.#pacer ??= setInterval(() => this.#pace(), this.#options.paceMs);
    this.#connectTimer ??= setTimeout(() => {
      if (!this.#selected) this.#fail('no pair nominated before the connect timeout');
    }, this.#options.connectTimeoutMs);
  }

  addRemoteCandidate(candidate: IceCandidate): void {
    if (this.#state === 'closed' || this.#state === 'failed') return;
    this.#pairFor(candidate);
  }

  /** A binding request routed here by ufrag; answered only if its integrity checks out. */
  handleRequest(request: Message, raw: Buffer, from: RemoteAddress): void {
    if (this.#state === 'closed' || this.#state === 'failed') return;
    if (request.messageMethod !== methods.BINDING) return;
    const username: unknown = request.getAttributeValue('USERNAME');
    if (typeof username !== 'string') return;
    const [ufrag, remoteUfrag] = username.split(':');
    if (ufrag !== this.#options.localUfrag) return;
    if (this.#remote && remoteUfrag !== this.#remote.ufrag) return this.#debug(`check with stale remote ufrag ${remoteUfrag}`);
    // RFC 8445 §7.2.2: checks carry MESSAGE-INTEGRITY (our password) and FINGERPRINT.
    if (!request.attributesKeys.includes('FINGERPRINT')) return this.#debug('check without FINGERPRINT');
    if (!parseMessage(raw, Buffer.from(this.#options.localPwd, 'utf8'))) return this.#debug('check failed MESSAGE-INTEGRITY');

    if (request.attributesKeys.includes('ICE-CONTROLLING')) {
      // RFC 8445 §7.3.1.1. The bridge must stay controlling, so it always answers 487 here.
      this.#respondError(request, from, 487, 'Role Conflict');
      return;
    }
    const response = new Message(methods.BINDING, classes.RESPONSE, request.transactionId)
      .setAttribute('XOR-MAPPED-ADDRESS', [from.host, from.port])
      .addMessageIntegrity(Buffer.from(this.#options.localPwd, 'utf8'))
      .addFingerprint();
    this.#options.io.send(response.bytes, from);
    this.#options.io.validated(from);
    this.#debug(`answered check from ${addressKey(from)}${request.attributesKeys.includes('USE-CANDIDATE') ? ' (USE-CANDIDATE)' : ''} at ${performance.now().toFixed(1)}`);

    const priority: unknown = request.getAttributeValue('PRIORITY');
    const pair = this.#pairFor({
      foundation: `prflx${this.#pairs.size}`,
      priority: typeof priority === 'number' ? priority : 0,
      host: from.host,
      port: from.port,
      type: 'prflx',
    });
    // RFC 8445 §7.3.1.4: a triggered check, unless the pair is already known to work. Sent at
    // once rather than on the next pacing tick: the browser starts DTLS as soon as our response
    // reaches it, and the server's first flights block the event loop for tens of ms when cold.
    if (pair.state === 'succeeded' || pair.state === 'in-progress') return;
    if (this.#remote && !this.#selected) this.#check(pair, 'check');
    else if (!this.#triggered.includes(pair)) this.#triggered.push(pair);
  }

  handleResponse(response: Message, raw: Buffer, from: RemoteAddress): void {
    const transaction = this.#transactions.get(response.transactionIdHex);
    if (!transaction || !this.#remote) return;
    // Symmetry (RFC 8445 §7.2.5.2.1) and integrity with the remote password.
    if (addressKey(from) !== addressKey(transaction.pair.remote)) return this.#debug('response from another address');
    if (!parseMessage(raw, Buffer.from(this.#remote.pwd, 'utf8'))) return this.#debug('response failed MESSAGE-INTEGRITY');
    this.#endTransaction(transaction);
    const { pair, purpose } = transaction;
    this.#debug(`${purpose} answered ${response.messageClass === classes.ERROR ? 'error' : 'ok'} by ${addressKey(from)} at ${performance.now().toFixed(1)}`);

    if (response.messageClass === classes.ERROR) {
      this.#debug(`check error ${JSON.stringify(response.getAttributeValue('ERROR-CODE'))}`);
      if (purpose !== 'consent') pair.state = 'failed';
      if (purpose === 'nominate') this.#nominating = false;
      return;
    }
    this.#options.io.validated(pair.remote);
    if (pair === this.#selected) this.#lastConsent = Date.now();
    if (purpose === 'check') {
      pair.state = 'succeeded';
      if (!this.#selected && !this.#nominating) this.#nominate(pair);
    } else if (purpose === 'nominate') {
      pair.state = 'succeeded';
      pair.nominated = true;
      this.#nominating = false;
      this.#select(pair);
    }
  }

  close(): void {
    if (this.#state === 'closed') return;
    this.#stopTimers();
    this.#pairs.clear();
    this.#triggered.length = 0;
    this.#selected = undefined;
    this.#setState('closed');
    this.removeAllListeners();
  }

  #pairFor(remote: IceCandidate): CandidatePair {
    const key = addressKey(remote);
    const existing = this.#pairs.get(key);
    if (existing) return existing;
    const pair: CandidatePair = {
      remote,
      priority: pairPriority(this.#options.localCandidate.priority, remote.priority),
      state: 'waiting',
      nominated: false,
    };
    this.#pairs.set(key, pair);
    return pair;
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
    if (pair) this.#check(pair, 'check');
  }

  #nominate(pair: CandidatePair): void {
    this.#nominating = true;
    this.#check(pair, 'nominate');
  }

  #select(pair: CandidatePair): void {
    if (this.#selected) return;
    this.#selected = pair;
    this.#lastConsent = Date.now();
    if (this.#pacer) clearInterval(this.#pacer);
    this.#pacer = undefined;
    if (this.#connectTimer) clearTimeout(this.#connectTimer);
    this.#connectTimer = undefined;
    this.#scheduleConsent();
    this.emit('selected', pair.remote);
    this.#setState('connected');
  }

  #scheduleConsent(): void {
    const base = this.#options.consentIntervalMs;
    this.#consentTimer = setTimeout(() => {
      const pair = this.#selected;
      if (!pair || this.#state !== 'connected') return;
      if (Date.now() - this.#lastConsent > this.#options.consentTimeoutMs) {
        this.#fail('consent expired');
        return;
      }
      this.#check(pair, 'consent');
      this.#scheduleConsent();
    }, randomInt(Math.floor(base * 0.8), Math.ceil(base * 1.2)));
  }

  #check(pair: CandidatePair, purpose: Transaction['purpose']): void {
    const remote = this.#remote;
    if (!remote) return;
    const request = new Message(methods.BINDING, classes.REQUEST)
      .setAttribute('USERNAME', `${remote.ufrag}:${this.#options.localUfrag}`)
      .setAttribute('PRIORITY', candidatePriority(PRFLX_TYPE_PREFERENCE))
      .setAttribute('ICE-CONTROLLING', this.#tieBreaker);
    if (purpose === 'nominate') request.setAttribute('USE-CANDIDATE', null);
    request.addMessageIntegrity(Buffer.from(remote.pwd, 'utf8')).addFingerprint();
    const transaction: Transaction = {
      id: request.transactionIdHex,
      pair,
      purpose,
      bytes: request.bytes,
      transmissions: 0,
      timer: undefined,
    };
    if (purpose !== 'consent') pair.state = 'in-progress';
    this.#transactions.set(transaction.id, transaction);
    this.#options.io.addTransaction(transaction.id);
    this.#transmit(transaction);
  }

  #transmit(transaction: Transaction): void {
    const limit = transaction.purpose === 'consent' ? 2 : this.#options.maxTransmissions;
    if (transaction.transmissions >= limit) {
      this.#endTransaction(transaction);
      if (transaction.purpose !== 'consent') transaction.pair.state = 'failed';
      if (transaction.purpose === 'nominate') this.#nominating = false;
      return;
    }
    const rto = this.#options.rtoMs * 2 ** transaction.transmissions;
    transaction.transmissions++;
    this.#debug(`${transaction.purpose} #${transaction.transmissions} → ${addressKey(transaction.pair.remote)} at ${performance.now().toFixed(1)}`);
    this.#options.io.send(transaction.bytes, transaction.pair.remote);
    transaction.timer = setTimeout(() => this.#transmit(transaction), rto);
  }

  #endTransaction(transaction: Transaction): void {
    if (transaction.timer) clearTimeout(transaction.timer);
    transaction.timer = undefined;
    this.#transactions.delete(transaction.id);
    this.#options.io.removeTransaction(transaction.id);
  }

  #respondError(request: Message, to: RemoteAddress, code: number, reason: string): void {
    const response = new Message(methods.BINDING, classes.ERROR, request.transactionId)
      .setAttribute('ERROR-CODE', [code, reason])
      .addMessageIntegrity(Buffer.from(this.#options.localPwd, 'utf8'))
      .addFingerprint();
    this.#options.io.send(response.bytes, to);
  }

  #fail(reason: string): void {
    this.#debug(`ICE failed: ${reason}`);
    this.#stopTimers();
    this.#setState('failed');
  }

  #stopTimers(): void {
    if (this.#pacer) clearInterval(this.#pacer);
    if (this.#connectTimer) clearTimeout(this.#connectTimer);
    if (this.#consentTimer) clearTimeout(this.#consentTimer);
    this.#pacer = this.#connectTimer = this.#consentTimer = undefined;
    for (const transaction of [...this.#transactions.values()]) this.#endTransaction(transaction);
  }

  #setState(state: IceState): void {
    if (this.#state === state) return;
    this.#state = state;
    this.emit('state', state);
  }

  #debug(message: string): void {
    this.#options.debug?.(message);
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
