/**
 * One client-to-server XMPP stream (RFC 6120), independent of its framing: stream header and
 * features, STARTTLS, SASL, resource binding, XEP-0198 enable/resume, then stanzas handed to the
 * bound session with their `from` stamped by the server. Transports (WebSocket, BOSH, TCP) own
 * the bytes and the parser and call `onOpen`, `onElement`, `onPeerClose`, `onTransportClosed`.
 */
import { randomBytes } from 'node:crypto';
import { Element } from 'ltx';
import type { Logger } from 'pino';
import type { AccountStore } from './accounts.ts';
import { StanzaError, StreamError } from './errors.ts';
import { Jid } from './jid.ts';
import type { AddressLimiter } from './limits.ts';
import type { LoginLimiter } from './login-limits.ts';
import { ReadRateLimiter } from './limits.ts';
import {
  NS_BIND, NS_SASL, NS_SESSION, NS_SM, NS_TLS, buildSaslChallenge, buildSaslFailure, buildSaslSuccess,
  buildSmFailed, buildStreamFeatures, decodeSaslPayload, parseHandledCount,
} from './protocol/stream-features.ts';
import type { Router } from './router.ts';
import { AnonymousMechanism, type TokenVerifier } from './sasl/anonymous.ts';
import { SaslFailure, type SaslContext, type SaslMechanism } from './sasl/mechanism.ts';
import { PlainMechanism } from './sasl/plain.ts';
import { ScramMechanism } from './sasl/scram.ts';
import { ClientSession, type SessionLink, type SessionRegistry } from './session.ts';
import { NS_CLIENT, errorReply, isStanza, iqResult } from './stanza.ts';

/** What a transport offers a stream. */
export interface Framing {
  readonly kind: 'websocket' | 'bosh' | 'tcp';
  /** TLS, or a loopback connection (PLAIN is offered only then). */
  readonly secure: boolean;
  readonly remoteAddress: string;
  /** The URL query of the WebSocket/BOSH request (Jitsi: room, token, previd). */
  readonly query: URLSearchParams;
  readonly canStartTls: boolean;
  /** Sends the stream header: `<open/>` (RFC 7395), `<stream:stream>` (TCP), or the BOSH equivalent. */
  sendHeader(attrs: Record<string, string>): void;
  sendRaw(data: string): void;
  /** Closes the stream (after the error, if any) and the connection. Idempotent. */
  end(error?: StreamError): void;
  pauseReading(ms: number): void;
  /** TCP only: upgrade to TLS after `<proceed/>` was sent; the parser restarts. */
  startTls(): Promise<void>;
  /** After SASL success a new stream begins (RFC 6120 §6.4.6): rooted parsers reset here. */
  streamRestarted?(): void;
}

export type HostAuth = 'anonymous' | 'internal';

export interface ClientStreamContext {
  log: Logger;
  router: Router;
  accounts: AccountStore;
  registry: SessionRegistry;
  /** Client virtual hosts and how each authenticates. */
  hosts: ReadonlyMap<string, HostAuth>;
  defaultHost: string;
  /** Accounts of this domain (focus, bridges) are trusted: no read throttling. */
  trustedDomain: string;
  limits: {
    maxStanzaBytes: number;
    c2sBytesPerSecond: number;
    burstSeconds: number;
    unauthenticatedTimeoutSeconds: number;
    maxQueuedStanzas: number;
    maxQueuedBytes: number;
  };
  hibernationSeconds: number;
  addressLimiter: AddressLimiter;
  /** Failed PLAIN/SCRAM logins per account and per address; none: unlimited. */
  loginLimiter?: LoginLimiter;
  tokenVerifier?: TokenVerifier;
  /** Stanza counter hook (metrics). */
  onStanzaIn?(kind: string): void;
  onSessionOpened?(session: ClientSession): void;
  onSessionClosed?(session: ClientSession, reason: string): void;
}

type State = 'wait-open' | 'sasl' | 'wait-restart' | 'authenticated' | 'bound' | 'closed';

const MAX_SASL_FAILURES = 3;
const MAX_PENDING_ELEMENTS = 32;
/**
 * Stanzas a bound session's client may have handled per second, after a burst (a join sends a few
 * dozen): the byte rate alone let one WebSocket message of 55 KB carry a thousand presence updates,
 * each broadcast to the whole room at once, which closed every room member's stream-managed
 * session for too many unacknowledged stanzas, and in a room of 500 blocked the server for seconds.
 * Stanzas over the rate wait, in order, and reading pauses meanwhile. The trusted domain (the
 * focus, bridges) is not counted, as Prosody's unlimited_jids.
 */
const STANZAS_PER_SECOND = 25;
const STANZA_BURST = 100;
/** Stanzas that may wait for the rate at once (what one message of the largest size holds, about). */
const MAX_HELD_STANZAS = 20_000;

export class ClientStream implements SessionLink {
  private state: State = 'wait-open';
  private domain: string;
  private username: string | undefined;
  private claims: Record<string, unknown> | undefined;
  private mechanism: SaslMechanism | undefined;
  private saslFailures = 0;
  /** The account the current PLAIN/SCRAM exchange tries, once the mechanism has read it. */
  private attemptedAccount: string | undefined;
  private session: ClientSession | undefined;
  private readonly limiter: ReadRateLimiter;
  private throttled = true;
  private authTimer: NodeJS.Timeout | undefined;
  private admitted = false;
  private wasAuthenticated = false;
  /** Elements that arrived while an asynchronous SASL step ran. */
  private pending: Element[] = [];
  private busy = false;
  /** The stanza rate of a bound session ({@link STANZAS_PER_SECOND}). */
  private readonly stanzaLimiter: ReadRateLimiter;
  /** Stanzas waiting for that rate, in order, and the timer that hands them on. */
  private held: Element[] = [];
  private heldTimer: NodeJS.Timeout | undefined;
  private readonly log: Logger;

  constructor(private readonly framing: Framing, private readonly ctx: ClientStreamContext) {
    this.domain = ctx.defaultHost;
    this.log = ctx.log.child({ stream: randomBytes(4).toString('hex'), transport: framing.kind });
    const burst = ctx.limits.c2sBytesPerSecond * ctx.limits.burstSeconds;
    this.limiter = new ReadRateLimiter(ctx.limits.c2sBytesPerSecond, Math.max(burst, ctx.limits.maxStanzaBytes));
    this.stanzaLimiter = new ReadRateLimiter(STANZAS_PER_SECOND, STANZA_BURST);
    const refusal = ctx.addressLimiter.admit(framing.remoteAddress);
    if (refusal) {
      this.log.warn({ address: framing.remoteAddress, refusal }, 'connection refused');
      this.framing.sendHeader(this.headerAttrs());
      this.fail(new StreamError('policy-violation', refusal === 'too-many-connections' ? 'too many connections from your address' : 'too many unauthenticated connections from your address'));
      return;
    }
    this.admitted = true;
    this.authTimer = setTimeout(() => this.fail(new StreamError('connection-timeout', 'authentication took too long')), ctx.limits.unauthenticatedTimeoutSeconds * 1000);
    this.authTimer.unref();
  }

  get isClosed(): boolean {
    return this.state === 'closed';
  }

  get boundSession(): ClientSession | undefined {
    return this.session;
  }

  /** Bytes read from the network; returns how long reading should pause (mod_limits). */
  onBytes(count: number): void {
    if (!this.throttled) return;
    const pause = this.limiter.take(count);
    if (pause > 0) this.framing.pauseReading(pause);
  }

  // --- SessionLink

  sendRaw(data: string): void {
    if (this.state !== 'closed') this.framing.sendRaw(data);
  }

  end(error?: StreamError): void {
    this.fail(error);
  }

  // --- events from the transport

  /** The stream header (or a stream restart) arrived with these attributes. */
  onOpen(attrs: Record<string, string | undefined>): void {
    if (this.state === 'closed') return;
    const to = attrs.to?.toLowerCase();
    if (this.state !== 'wait-open' && this.state !== 'wait-restart') {
      return this.fail(new StreamError('not-well-formed', 'unexpected stream header'));
    }
    if (!to || !this.ctx.hosts.has(to) || (this.state === 'wait-restart' && to !== this.domain)) {
      this.framing.sendHeader(this.headerAttrs());
      return this.fail(new StreamError('host-unknown', `this server does not serve ${to ?? '(no domain)'}`));
    }
    this.domain = to;
    this.framing.sendHeader(this.headerAttrs());
    if (attrs.version !== '1.0') return this.fail(new StreamError('unsupported-version', 'XMPP 1.0 only'));
    if (this.state === 'wait-open') {
      this.state = 'sasl';
      const requireTls = this.framing.canStartTls && !this.framing.secure;
      this.framing.sendRaw(buildStreamFeatures({
        ...(this.framing.canStartTls ? { starttls: { required: requireTls } } : {}),
        ...(requireTls ? {} : { mechanisms: this.mechanismNames() }),
        limits: { maxBytes: this.ctx.limits.maxStanzaBytes },
      }).toString());
    } else {
      this.state = 'authenticated';
      this.framing.sendRaw(buildStreamFeatures({ bind: true, sm: true, limits: { maxBytes: this.ctx.limits.maxStanzaBytes } }).toString());
    }
  }

  /** A complete top-level element (not the framing `<open/>`/`<close/>`). */
  onElement(el: Element): void {
    if (this.state === 'closed') return;
    if (this.busy) {
      if (this.pending.length >= MAX_PENDING_ELEMENTS) return this.fail(new StreamError('policy-violation', 'too many stanzas during authentication'));
      this.pending.push(el);
      return;
    }
    if (this.state === 'bound' && this.throttled && (this.held.length > 0 || this.stanzaLimiter.wait(1) > 0)) {
      if (this.held.length >= MAX_HELD_STANZAS) return this.fail(new StreamError('policy-violation', 'too many stanzas too fast'));
      this.held.push(el);
      this.scheduleHeld();
      return;
    }
    if (this.state === 'bound' && this.throttled) this.stanzaLimiter.take(1);
    this.handle(el);
  }

  private handle(el: Element): void {
    try {
      this.dispatch(el);
    } catch (err) {
      this.handleError(err);
    }
  }

  /** Hands on the held stanzas the rate allows now, and waits (reading paused) for the rest. */
  private scheduleHeld(): void {
    if (this.heldTimer || this.state === 'closed') return;
    const wait = Math.max(1, this.stanzaLimiter.wait(1));
    this.framing.pauseReading(wait);
    this.heldTimer = setTimeout(() => {
      this.heldTimer = undefined;
      while (this.held.length > 0 && this.state === 'bound' && this.stanzaLimiter.wait(1) === 0) {
        this.stanzaLimiter.take(1);
        this.handle(this.held.shift()!);
      }
      if (this.state !== 'bound') this.held = [];
      if (this.held.length > 0) this.scheduleHeld();
    }, wait);
  }

  /** The client closed the stream (`</stream:stream>` or `<close/>`). */
  onPeerClose(): void {
    if (this.state === 'closed') return;
    this.finish(true);
    this.framing.end();
  }

  /** The connection is gone (for whatever reason). */
  onTransportClosed(): void {
    if (this.state === 'closed') return;
    this.finish(false);
  }

  /** Sends the stream error and closes (RFC 6120 §4.9). */
  fail(error?: StreamError): void {
    if (this.state === 'closed') return;
    if (error) this.log.debug({ condition: error.condition, text: error.text }, 'stream error');
    this.finish(false);
    this.framing.end(error);
  }

  // --- internals

  private finish(clean: boolean): void {
    const wasBound = this.state === 'bound';
    this.state = 'closed';
    this.clearAuthTimer();
    this.pending = [];
    this.held = [];
    if (this.heldTimer) clearTimeout(this.heldTimer);
    this.heldTimer = undefined;
    if (this.admitted) this.ctx.addressLimiter.release(this.framing.remoteAddress, this.wasAuthenticated);
    this.admitted = false;
    if (wasBound) this.session?.detach(this, clean);
  }

  private clearAuthTimer(): void {
    if (this.authTimer) clearTimeout(this.authTimer);
    this.authTimer = undefined;
  }

  private handleError(err: unknown): void {
    if (err instanceof StreamError) return this.fail(err);
    this.log.error({ err }, 'stream handler failed');
    this.fail(new StreamError('internal-server-error'));
  }

  private headerAttrs(): Record<string, string> {
    return { from: this.domain, id: randomBytes(8).toString('hex'), version: '1.0', 'xml:lang': 'en' };
  }

  private mechanismNames(): string[] {
    if (this.ctx.hosts.get(this.domain) === 'anonymous') return ['ANONYMOUS'];
    // SCRAM needs the PBKDF2 keys; accounts kept as scrypt hashes can only check a password
    // given in full, so PLAIN alone, and (as always for PLAIN) only over TLS or loopback.
    if (this.ctx.accounts.storage === 'scrypt') return this.framing.secure ? ['PLAIN'] : [];
    return this.framing.secure ? ['SCRAM-SHA-256', 'SCRAM-SHA-1', 'PLAIN'] : ['SCRAM-SHA-256', 'SCRAM-SHA-1'];
  }

  private dispatch(el: Element): void {
    const ns = el.attrs.xmlns as string | undefined;
    switch (this.state) {
      case 'wait-open':
      case 'wait-restart':
        throw new StreamError('not-authorized', 'stream not open');
      case 'sasl':
        if (ns === NS_TLS && el.name === 'starttls') return this.startTls();
        if (ns === NS_SASL) return this.sasl(el);
        throw new StreamError('not-authorized', 'authenticate first');
      case 'authenticated':
        if (ns === NS_SM && el.name === 'resume') return this.resume(el);
        if (ns === NS_SM && el.name === 'enable') {
          this.framing.sendRaw(buildSmFailed('unexpected-request').toString());
          return;
        }
        if (el.name === 'iq' && (ns === NS_CLIENT || ns === undefined) && el.getChild('bind', NS_BIND)) return this.bind(el);
        throw new StreamError('not-authorized', 'bind a resource first');
      case 'bound':
        return this.boundElement(el, ns);
      case 'closed':
        return;
    }
  }

  private startTls(): void {
    if (!this.framing.canStartTls) throw new StreamError('unsupported-feature', 'TLS is not available here');
    this.framing.sendRaw(new Element('proceed', { xmlns: NS_TLS }).toString());
    this.state = 'wait-open';
    this.busy = true;
    // Nothing sent in plaintext after <starttls/> may be processed as if it came over TLS.
    this.pending = [];
    this.framing.startTls().then(
      () => this.resumeProcessing(),
      (err: unknown) => {
        this.log.debug({ err }, 'TLS negotiation failed');
        this.onTransportClosed();
      },
    );
  }

  private sasl(el: Element): void {
    if (el.name === 'auth') {
      const name = el.attrs.mechanism as string | undefined;
      if (!name || !this.mechanismNames().includes(name)) {
        this.framing.sendRaw(buildSaslFailure('invalid-mechanism').toString());
        return;
      }
      this.attemptedAccount = undefined;
      // mod_limit_auth: an address over its failures is refused before any mechanism runs.
      const refusal = name === 'ANONYMOUS' ? undefined : this.ctx.loginLimiter?.refusal(this.framing.remoteAddress);
      if (refusal) {
        this.log.warn({ address: this.framing.remoteAddress }, 'login refused: too many failed logins from this address');
        this.framing.sendRaw(buildSaslFailure(refusal.condition, refusal.text).toString());
        if (++this.saslFailures >= MAX_SASL_FAILURES) this.fail(new StreamError('policy-violation', 'too many failed authentication attempts'));
        return;
      }
      this.mechanism = this.createMechanism(name);
    } else if (el.name === 'abort') {
      this.mechanism = undefined;
      this.framing.sendRaw(buildSaslFailure('aborted').toString());
      return;
    } else if (el.name !== 'response' || !this.mechanism) {
      throw new StreamError('policy-violation', `unexpected SASL element <${el.name}/>`);
    }
    let payload: Buffer | null;
    try {
      payload = decodeSaslPayload(el);
    } catch {
      this.mechanism = undefined;
      this.framing.sendRaw(buildSaslFailure('incorrect-encoding').toString());
      return;
    }
    const mechanism = this.mechanism;
    this.busy = true;
    mechanism.step(payload).then(
      (result) => {
        if (this.state === 'closed') return;
        if (result.kind === 'challenge') {
          this.framing.sendRaw(buildSaslChallenge(result.data).toString());
        } else {
          this.mechanism = undefined;
          this.username = result.username;
          this.claims = result.claims;
          this.wasAuthenticated = true;
          this.ctx.addressLimiter.authenticated(this.framing.remoteAddress);
          if (this.attemptedAccount) this.ctx.loginLimiter?.succeeded(this.attemptedAccount);
          // The same deadline runs on until a resource is bound (or a session resumed): an
          // authenticated stream that never binds is not left open.
          this.state = 'wait-restart';
          this.framing.sendRaw(buildSaslSuccess(result.data).toString());
          this.framing.streamRestarted?.();
          this.log.debug({ user: `${result.username}@${this.domain}`, mechanism: mechanism.name }, 'authenticated');
        }
        this.resumeProcessing();
      },
      (err: unknown) => {
        if (this.state === 'closed') return;
        this.mechanism = undefined;
        if (!(err instanceof SaslFailure)) {
          this.log.error({ err }, 'SASL mechanism failed');
          this.framing.sendRaw(buildSaslFailure('temporary-auth-failure').toString());
        } else {
          this.framing.sendRaw(buildSaslFailure(err.condition, err.text).toString());
          // Only a checked password counts (wrong, or an account that does not exist).
          if (err.condition === 'not-authorized' && mechanism.name !== 'ANONYMOUS') {
            this.ctx.loginLimiter?.failed(this.framing.remoteAddress, this.attemptedAccount);
          }
        }
        if (++this.saslFailures >= MAX_SASL_FAILURES) return this.fail(new StreamError('policy-violation', 'too many failed authentication attempts'));
        this.resumeProcessing();
      },
    );
  }

  private resumeProcessing(): void {
    this.busy = false;
    while (!this.busy && this.pending.length && this.state !== 'closed') {
      const next = this.pending.shift()!;
      try {
        this.dispatch(next);
      } catch (err) {
        this.handleError(err);
      }
    }
  }

  private createMechanism(name: string): SaslMechanism {
    const ctx: SaslContext = {
      domain: this.domain, secure: this.framing.secure, remoteAddress: this.framing.remoteAddress, query: this.framing.query,
      admit: (account) => {
        // Service accounts (focus, bridges) have generated passwords: a per-account lock would
        // only let anyone lock the bridges out, so they are limited per address alone.
        const tracked = this.domain === this.ctx.trustedDomain ? undefined : account;
        this.attemptedAccount = tracked;
        const refusal = this.ctx.loginLimiter?.refusal(this.framing.remoteAddress, tracked);
        if (refusal) {
          this.log.warn({ address: this.framing.remoteAddress, account }, 'login refused: too many failed logins');
          throw refusal;
        }
      },
    };
    switch (name) {
      case 'ANONYMOUS':
        return new AnonymousMechanism({
          ctx,
          usernameForResumption: (previd) => {
            const session = this.ctx.registry.get(previd);
            return session && session.jid.domain === this.domain ? session.jid.local : undefined;
          },
          ...(this.ctx.tokenVerifier ? { tokenVerifier: this.ctx.tokenVerifier } : {}),
        });
      case 'PLAIN':
        return new PlainMechanism(ctx, this.ctx.accounts);
      case 'SCRAM-SHA-1':
        return new ScramMechanism('sha1', ctx, this.ctx.accounts);
      default:
        return new ScramMechanism('sha256', ctx, this.ctx.accounts);
    }
  }

  private userJid(): Jid {
    return new Jid(this.username ?? '', this.domain);
  }

  private bind(iq: Element): void {
    if (iq.attrs.type !== 'set') throw new StreamError('not-authorized', 'bind with an IQ set');
    const requested = iq.getChild('bind', NS_BIND)?.getChildText('resource')?.trim();
    let jid: Jid;
    try {
      jid = this.userJid().withResource(requested || randomBytes(6).toString('base64url'));
    } catch {
      jid = this.userJid().withResource(randomBytes(6).toString('base64url'));
    }
    const existing = this.ctx.router.resource(jid.full);
    if (existing instanceof ClientSession) {
      // Prosody's default conflict_resolve: the old session goes (RFC 6120 §7.7.2.2).
      existing.kick(new StreamError('conflict', 'replaced by a new connection'));
    } else if (existing) {
      jid = this.userJid().withResource(randomBytes(6).toString('base64url'));
    }
    // A session counts against its address until it ends, hibernating or not (./limits.ts);
    // RFC 6120 §7.6.2.1 answers a resource limit with resource-constraint. The stream stays
    // unbound, and its authentication deadline runs on.
    const address = this.framing.remoteAddress;
    if (!this.ctx.addressLimiter.addSession(address)) {
      this.log.warn({ address }, 'bind refused: too many sessions from this address');
      const reply = errorReply(iq, new StanzaError('wait', 'resource-constraint', 'too many sessions from your address'))!;
      delete reply.attrs.from;
      delete reply.attrs.to;
      this.framing.sendRaw(reply.toString());
      return;
    }
    const session = new ClientSession(jid, this, {
      router: this.ctx.router,
      registry: this.ctx.registry,
      log: this.log,
      hibernationSeconds: this.ctx.hibernationSeconds,
      maxQueuedStanzas: this.ctx.limits.maxQueuedStanzas,
      maxQueuedBytes: this.ctx.limits.maxQueuedBytes,
      onClosed: (s, reason) => {
        if (s.remoteAddress !== undefined) this.ctx.addressLimiter.removeSession(s.remoteAddress);
        this.ctx.onSessionClosed?.(s, reason);
      },
    });
    session.claims = this.claims;
    session.remoteAddress = address;
    this.ctx.router.bind(session);
    this.session = session;
    this.state = 'bound';
    this.clearAuthTimer();
    this.throttled = jid.domain !== this.ctx.trustedDomain;
    const bind = new Element('bind', { xmlns: NS_BIND });
    bind.c('jid').t(jid.full);
    const reply = iqResult(iq, bind);
    delete reply.attrs.from;
    delete reply.attrs.to;
    this.framing.sendRaw(reply.toString());
    this.ctx.onSessionOpened?.(session);
  }

  private resume(el: Element): void {
    const previd = el.attrs.previd as string | undefined;
    const h = parseHandledCount(el.attrs.h as string | undefined);
    if (h === undefined) return this.framing.sendRaw(buildSmFailed('bad-request').toString());
    const session = previd ? this.ctx.registry.get(previd) : undefined;
    if (!session || session.isClosed || session.jid.bare !== this.userJid().bare) {
      return this.framing.sendRaw(buildSmFailed('item-not-found').toString());
    }
    // The session's count comes to this address (the same slot when it is the same address): an
    // address without room for it gets <failed/>, and the session stays resumable where it was.
    const address = this.framing.remoteAddress;
    if (!this.ctx.addressLimiter.moveSession(session.remoteAddress ?? address, address)) {
      this.log.warn({ address, jid: session.jid.full }, 'resumption refused: too many sessions from this address');
      return this.framing.sendRaw(buildSmFailed('resource-constraint').toString());
    }
    session.remoteAddress = address;
    this.clearAuthTimer();
    this.session = session;
    this.state = 'bound';
    this.throttled = session.jid.domain !== this.ctx.trustedDomain;
    session.resume(this, h);
    this.log.debug({ jid: session.jid.full }, 'resumed');
  }

  private boundElement(el: Element, ns: string | undefined): void {
    const session = this.session!;
    if (ns === NS_SM) {
      if (el.name === 'r') return this.framing.sendRaw(session.ackElement().toString());
      if (el.name === 'a') {
        const h = parseHandledCount(el.attrs.h as string | undefined);
        if (h === undefined) throw new StreamError('undefined-condition', "'h' must be an unsigned 32-bit integer");
        return session.acknowledge(h);
      }
      if (el.name === 'enable') {
        // XEP-0198 §3: a second enable is answered with <failed/>, the stream goes on.
        if (session.streamManagementEnabled) return session.sendNonza(buildSmFailed('unexpected-request').toString());
        this.framing.sendRaw(session.enableStreamManagement(el.attrs.resume === 'true' || el.attrs.resume === '1').toString());
        return;
      }
      throw new StreamError('unsupported-stanza-type', `<${el.name}/> in ${NS_SM}`);
    }
    if (!isStanza(el)) throw new StreamError('unsupported-stanza-type', `<${el.name}/> is not a stanza`);
    if (ns !== undefined && ns !== NS_CLIENT) throw new StreamError('invalid-namespace', `stanzas are in ${NS_CLIENT}`);
    session.countInbound();
    this.ctx.onStanzaIn?.(el.name);
    // RFC 6120 §8.1.2.1: the server stamps `from`; a different one is a forgery.
    const from = el.attrs.from as string | undefined;
    if (from !== undefined && from !== session.jid.full && from !== session.jid.bare) {
      throw new StreamError('invalid-from', 'the from address does not match this session');
    }
    el.attrs.from = session.jid.full;
    el.attrs.xmlns = NS_CLIENT;
    if (!el.attrs.to) {
      if (el.name === 'presence') return session.presenceBroadcast(el);
      // RFC 6120 §10.3: no 'to' means the account itself.
      if (el.name === 'iq' && el.getChild('session', NS_SESSION)) {
        return session.sendStanza(new Element('iq', { xmlns: NS_CLIENT, type: 'result', id: el.attrs.id ?? '' }).toString());
      }
      el.attrs.to = session.jid.bare;
    }
    this.ctx.router.route(el);
  }
}
