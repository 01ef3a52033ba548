/**
 * The focus's periodic health checks of the bridges in the brewery (Jicofo's JvbDoctor, protocol
 * notes §6.1). A bridge that crashed behind a connection the server still holds, or whose event
 * loop is stuck, keeps its presence in the brewery and says nothing; without a check, the focus
 * would learn of it only when a participant's request to it timed out, while every participant on
 * it had lost their media. Each bridge is asked every `intervalMs`; a check that is not answered
 * within `timeoutMs`, or answered with an error, is made once more `retryDelayMs` later, and a
 * second failure marks the bridge failed: its conferences move to another bridge (as after a
 * Colibri2 request that timed out), and it gets none for a while.
 */
import type { Logger } from 'pino';
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

export interface BridgeHealthDeps {
  /** The bridges to check now: their real JIDs (where Colibri2 requests go). */
  bridges(): string[];
  /** An IQ get to `to` with this payload; rejects on an error answer or after `timeoutMs`. */
  request(to: string, payload: ReturnType<typeof buildHealthCheck>, timeoutMs: number): Promise<unknown>;
  /** A bridge failed its check twice in a row. */
  failed(jid: string, reason: string): void;
  log: Logger;
}

export class BridgeHealthChecks {
  readonly #deps: BridgeHealthDeps;
  readonly #options: BridgeHealthOptions;
  /** Bridges with a check (or its retry) under way: a slow one is not asked twice at once. */
  readonly #checking = new Set<string>();
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
    await Promise.all(this.#deps.bridges().filter((jid) => !this.#checking.has(jid)).map((jid) => this.#check(jid)));
  }

  async #check(jid: string): Promise<void> {
    this.#checking.add(jid);
    try {
      const first = await this.#ask(jid);
      if (first === undefined || this.#closed) return;
      this.#deps.log.warn({ bridge: jid, reason: first }, 'a bridge failed its health check: asking again');
      await new Promise<void>((resolve) => {
        const retry = setTimeout(() => {
          this.#retries.delete(retry);
          resolve();
        }, this.#options.retryDelayMs);
        this.#retries.set(retry, resolve);
      });
      if (this.#closed || !this.#deps.bridges().includes(jid)) return;
      const second = await this.#ask(jid);
      if (second === undefined || this.#closed) return;
      this.#deps.log.warn({ bridge: jid, reason: second }, 'a bridge failed its health check twice: moving its conferences');
      this.#deps.failed(jid, `health check failed: ${second}`);
    } finally {
      this.#checking.delete(jid);
    }
  }

  /** Undefined when healthy, else why not. */
  async #ask(jid: string): Promise<string | undefined> {
    try {
      await this.#deps.request(jid, buildHealthCheck(), this.#options.timeoutMs);
      return undefined;
    } catch (err) {
      return err instanceof Error ? err.message || err.name : String(err);
    }
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
