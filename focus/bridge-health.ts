/**
 * The focus's periodic health checks of the bridges in the brewery (Jicofo's JvbDoctor, protocol
 * notes §6.1). A bridge that crashed behind a connection the server still holds, or whose event
 * loop is stuck, keeps its presence in the brewery and says nothing; without a check, the focus
 * would learn of it only when a participant's request to it timed out, while every participant on
 * it had lost their media. Each bridge is asked every `intervalMs`; a check that is not answered
 * within `timeoutMs`, or answered with an error, is made once more `retryDelayMs` later, and a
 * second failure marks the bridge failed: its conferences move to another bridge (as after a
 * Colibri2 request that timed out), and it gets none for a while.
 *
 * A bridge that never passed a check and answers that it does not know it (`service-unavailable`,
 * `feature-not-implemented`: a bridge of a version without health checks) is not checked again
 * while it stays in the brewery, rather than failed: upgrading the focus first must not take every
 * older bridge out of service.
 */
import type { Logger } from 'pino';
import { StanzaError } from '../xmpp/errors.ts';
import { buildHealthCheck } from '../xmpp/protocol/healthcheck.ts';

export interface BridgeHealthOptions {
  /** Between two rounds of checks (Jicofo `bridge.health-checks.interval`). Default 10 000 ms. */
  intervalMs: number;
  /** How long a check waits for its answer. Default 5 000 ms. */
  timeoutMs: number;
  /** Before the second try of a failed check (Jicofo `bridge.health-checks.retry-delay`). Default 5 000 ms. */
  retryDelayMs: number;
}

export const DEFAULT_BRIDGE_HEALTH: BridgeHealthOptions = { intervalMs: 10_000, timeoutMs: 5_000, retryDelayMs: 5_000 };

/** A bridge in the brewery: its real JID (where requests go) and when this stay of it there began. */
export interface CheckedBridge {
  jid: string;
  since: number;
}

export interface BridgeHealthDeps {
  /** The bridges to check now. */
  bridges(): ReadonlyArray<CheckedBridge>;
  /** An IQ get to `to` with this payload; rejects (StanzaError) on an error answer or after `timeoutMs`. */
  request(to: string, payload: ReturnType<typeof buildHealthCheck>, timeoutMs: number): Promise<unknown>;
  /** A bridge failed its check twice in a row. */
  failed(jid: string, reason: string): void;
  log: Logger;
}

/** The answers of a bridge that does not know the request, as opposed to one that says it is unwell. */
const NOT_SUPPORTED = new Set(['service-unavailable', 'feature-not-implemented']);

export class BridgeHealthChecks {
  readonly #deps: BridgeHealthDeps;
  readonly #options: BridgeHealthOptions;
  /** Bridges with a check (or its retry) under way: a slow one is not asked twice at once. */
  readonly #checking = new Set<string>();
  /** Bridges (JID and stay) that answered a check once. */
  readonly #passed = new Map<string, number>();
  /** Bridges (JID and stay) that do not know the check. */
  readonly #unsupported = new Map<string, number>();
  /** The retries' waits under way: close ends them at once (their checks then stop). */
  readonly #retries = new Map<ReturnType<typeof setTimeout>, () => void>();
  #timer: ReturnType<typeof setInterval> | undefined;
  #closed = false;

  constructor(deps: BridgeHealthDeps, options: Partial<BridgeHealthOptions> = {}) {
    this.#deps = deps;
    this.#options = { ...DEFAULT_BRIDGE_HEALTH, ...options };
  }

  /** Checks every `intervalMs` from now on (not keeping the process alive). */
  start(): void {
    if (this.#timer || this.#closed) return;
    this.#timer = setInterval(() => void this.checkAll(), this.#options.intervalMs);
    this.#timer.unref();
  }

  /** One round now: resolves once every bridge's check (and retry, if it failed) is settled. */
  async checkAll(): Promise<void> {
    const bridges = new Map<string, number>();
    for (const bridge of this.#deps.bridges()) bridges.set(bridge.jid, bridge.since);
    // What is known of a bridge holds for its stay in the brewery: one that came back may be another version.
    for (const known of [this.#passed, this.#unsupported]) {
      for (const [jid, since] of known) if (bridges.get(jid) !== since) known.delete(jid);
    }
    const due = [...bridges].filter(([jid]) => !this.#checking.has(jid) && !this.#unsupported.has(jid));
    await Promise.all(due.map(([jid, since]) => this.#check(jid, since)));
  }

  async #check(jid: string, since: number): Promise<void> {
    this.#checking.add(jid);
    try {
      const first = await this.#ask(jid, since);
      if (first === undefined || !this.#stillThere(jid, since)) return;
      this.#deps.log.warn({ bridge: jid, reason: first }, 'a bridge failed its health check: asking again');
      await new Promise<void>((resolve) => {
        const retry = setTimeout(() => {
          this.#retries.delete(retry);
          resolve();
        }, this.#options.retryDelayMs);
        this.#retries.set(retry, resolve);
      });
      if (!this.#stillThere(jid, since)) return;
      const second = await this.#ask(jid, since);
      // Not a bridge that left (or came back) meanwhile: only the one asked is failed.
      if (second === undefined || !this.#stillThere(jid, since)) return;
      this.#deps.log.warn({ bridge: jid, reason: second }, 'a bridge failed its health check twice: moving its conferences');
      try {
        this.#deps.failed(jid, `health check failed: ${second}`);
      } catch (err) {
        this.#deps.log.error({ err, bridge: jid }, 'acting on a failed health check failed');
      }
    } finally {
      this.#checking.delete(jid);
    }
  }

  /** Undefined when healthy (or not checkable), else why not. */
  async #ask(jid: string, since: number): Promise<string | undefined> {
    try {
      await this.#deps.request(jid, buildHealthCheck(), this.#options.timeoutMs);
      this.#passed.set(jid, since);
      return undefined;
    } catch (err) {
      if (err instanceof StanzaError && NOT_SUPPORTED.has(err.condition) && this.#passed.get(jid) !== since) {
        this.#deps.log.info({ bridge: jid, condition: err.condition }, 'a bridge without health checks: not checked while it stays');
        this.#unsupported.set(jid, since);
        return undefined;
      }
      return err instanceof StanzaError ? `${err.condition}${err.text ? ` (${err.text})` : ''}` : err instanceof Error ? err.message || err.name : String(err);
    }
  }

  #stillThere(jid: string, since: number): boolean {
    return !this.#closed && this.#deps.bridges().some((bridge) => bridge.jid === jid && bridge.since === since);
  }

  close(): void {
    this.#closed = true;
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    for (const [retry, resolve] of this.#retries) {
      clearTimeout(retry);
      resolve();
    }
    this.#retries.clear();
  }
}
