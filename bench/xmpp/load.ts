// XMPP-over-WebSocket (RFC 7395) load client for the Salon benchmark.
//
// N clients log in anonymously, join R MUC rooms and send groupchat messages
// at a fixed rate per client. Every body carries the sender's index, a
// sequence number and the send time (performance.now(), one process, one
// clock), so each receiver computes the delivery latency itself.
//
// Usable on its own:
//   node --import tsx bench/xmpp/load.ts --clients 500 --rooms 25 --rate 1 \
//     --duration 20 --url ws://127.0.0.1:5280/xmpp-websocket \
//     --domain meet.jitsi --muc muc.meet.jitsi
// or driven by bench/xmpp/run.ts, which also measures the server process.

import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { parse as parseXml, type Element } from 'ltx';
import WebSocket from 'ws';

const NS_FRAMING = 'urn:ietf:params:xml:ns:xmpp-framing';
const NS_SASL = 'urn:ietf:params:xml:ns:xmpp-sasl';
const NS_BIND = 'urn:ietf:params:xml:ns:xmpp-bind';
const NS_MUC = 'http://jabber.org/protocol/muc';
/** RFC 7395 §3.3.3: every top-level stanza carries its own namespace. */
const NS_CLIENT = 'jabber:client';
/** Marks bodies sent by this tool: `SB <sender> <seq> <sendTimeMs>`. */
const BODY_TAG = 'SB ';

export interface LoadOptions {
  url: string;
  domain: string;
  muc: string;
  clients: number;
  rooms: number;
  /** groupchat messages per second per client */
  rate: number;
  /** steady measurement window, seconds */
  duration: number;
  /** messaging warm-up before the window, seconds */
  warmup: number;
  /** idle pause after the join phase before the idle sample, seconds */
  settle: number;
  /** longest wait for outstanding deliveries after sending stops, seconds */
  drain: number;
  /** logins (and joins) in flight at once */
  concurrency: number;
  /** per-step timeout for login and join, seconds */
  stepTimeout: number;
  /** room name prefix */
  roomPrefix: string;
}

export const defaultLoadOptions: Omit<LoadOptions, 'url' | 'domain' | 'muc'> = {
  clients: 500,
  rooms: 25,
  rate: 0.2,
  duration: 20,
  warmup: 5,
  settle: 2,
  drain: 5,
  concurrency: 50,
  stepTimeout: 30,
  roomPrefix: 'bench',
};

/** Points at which the driver may sample the server process. */
export type Phase =
  | 'start' // before the first connection
  | 'logged-in' // all logins done
  | 'joined' // all joins done
  | 'idle' // after the settle pause, nothing sent yet
  | 'window-start' // warm-up over, steady window begins
  | 'window-end' // steady window over (sending continues until here)
  | 'done'; // sending stopped, deliveries drained, sockets still open

export interface Quantiles {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

export interface LoadResult {
  options: LoadOptions;
  phaseTimes: Partial<Record<Phase, number>>; // ms, performance.now()
  loggedIn: number;
  joined: number;
  loginSeconds: number;
  loginsPerSecond: number;
  loginLatencyMs: Quantiles;
  joinSeconds: number;
  joinsPerSecond: number;
  joinLatencyMs: Quantiles;
  windowSeconds: number;
  /** messages the clients sent inside the window, per second */
  sentPerSecond: number;
  /** deliveries the server should have made for the offered load, per second */
  offeredDeliveriesPerSecond: number;
  /** groupchat messages received inside the window */
  windowDeliveries: number;
  deliveriesPerSecond: number;
  latencyMs: Quantiles;
  /** whole run: deliveries expected (sum of room occupants per message sent) and received */
  expectedDeliveries: number;
  receivedDeliveries: number;
  lostDeliveries: number;
  errors: Record<string, number>;
  errorSamples: string[];
  clientCpuWindowFraction: number; // of one core
  clientCpuLoginFraction: number;
  eventLoopP99Ms: number;
  warnings: string[];
}

export type PhaseHook = (phase: Phase) => void | Promise<void>;

// ---------------------------------------------------------------------------
// Latency histogram: 10 µs buckets below 100 ms, 1 ms buckets up to 100 s.

class Histogram {
  private readonly fine = new Uint32Array(10_000); // 0..100 ms by 0.01 ms
  private readonly coarse = new Uint32Array(100_000); // 0..100 s by 1 ms
  private n = 0;
  private sum = 0;
  private maxV = 0;

  add(ms: number): void {
    if (!(ms >= 0)) ms = 0;
    this.n++;
    this.sum += ms;
    if (ms > this.maxV) this.maxV = ms;
    if (ms < 100) this.fine[Math.floor(ms * 100)]!++;
    else this.coarse[Math.min(99_999, Math.floor(ms))]!++;
  }

  quantiles(): Quantiles {
    return {
      count: this.n,
      p50: this.quantile(0.5),
      p90: this.quantile(0.9),
      p99: this.quantile(0.99),
      max: this.maxV,
      mean: this.n ? this.sum / this.n : NaN,
    };
  }

  private quantile(q: number): number {
    if (this.n === 0) return NaN;
    const rank = Math.ceil(q * this.n);
    let seen = 0;
    for (let i = 0; i < this.fine.length; i++) {
      seen += this.fine[i]!;
      if (seen >= rank) return (i + 1) / 100; // upper edge of the bucket
    }
    for (let i = 100; i < this.coarse.length; i++) {
      seen += this.coarse[i]!;
      if (seen >= rank) return i + 1;
    }
    return this.maxV;
  }
}

// ---------------------------------------------------------------------------

interface Stats {
  errors: Record<string, number>;
  errorSamples: string[];
  counting: boolean; // inside the steady window
  windowDeliveries: number;
  windowSent: number;
  totalReceived: number;
  expected: number;
  latency: Histogram;
}

function countError(stats: Stats, kind: string, detail?: string): void {
  stats.errors[kind] = (stats.errors[kind] ?? 0) + 1;
  if (detail !== undefined && stats.errorSamples.length < 10) {
    stats.errorSamples.push(`${kind}: ${detail.slice(0, 300)}`);
  }
}

function escAttr(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');
}

/** The opening tag of a serialized element, without the `<`. */
function openingTag(frame: string): string {
  const gt = frame.indexOf('>');
  return gt < 0 ? frame : frame.slice(0, gt);
}

function hasTypeError(tag: string): boolean {
  return tag.includes(`type="error"`) || tag.includes(`type='error'`);
}

type Waiter = { resolve: () => void; reject: (e: Error) => void; timer: NodeJS.Timeout };

class Client {
  readonly nick: string;
  readonly roomJid: string;
  readonly occupantJid: string;
  jid = '';
  private ws: WebSocket | undefined;
  private state: 'new' | 'stream1' | 'auth' | 'stream2' | 'bind' | 'bound' | 'joining' | 'joined' | 'closing' | 'closed' = 'new';
  private waiter: Waiter | undefined;
  private seq = 0;
  private closedPromise: Promise<void> | undefined;
  /** set by the room when this client is an occupant; used for expected-delivery counts */
  room: Room;

  constructor(
    readonly index: number,
    room: Room,
    private readonly opts: LoadOptions,
    private readonly stats: Stats,
  ) {
    this.nick = `c${index}`;
    this.room = room;
    this.roomJid = room.jid;
    this.occupantJid = `${room.jid}/${this.nick}`;
  }

  /** Connect, SASL ANONYMOUS, restart, bind. Resolves when bound. */
  login(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.arm(resolve, reject, 'login');
      const ws = new WebSocket(this.opts.url, 'xmpp', {
        perMessageDeflate: false,
        skipUTF8Validation: true,
      });
      this.ws = ws;
      this.closedPromise = new Promise<void>((res) => ws.once('close', () => res()));
      ws.on('open', () => {
        this.state = 'stream1';
        this.sendOpen();
      });
      ws.on('message', (data: WebSocket.RawData) => this.onFrame(data.toString()));
      ws.on('error', (err: Error) => {
        countError(this.stats, 'socket', `${this.nick}: ${err.message}`);
        this.fail(new Error(`socket error: ${err.message}`));
      });
      ws.on('close', (code: number) => {
        const was = this.state;
        this.state = 'closed';
        if (was !== 'closing' && was !== 'closed') {
          countError(this.stats, 'unexpected-close', `${this.nick} in ${was}, code ${code}`);
          this.fail(new Error(`socket closed in state ${was} (code ${code})`));
        }
      });
    });
  }

  /** Join the room; resolves on self-presence (status 110). */
  join(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (this.state !== 'bound') {
        reject(new Error(`cannot join in state ${this.state}`));
        return;
      }
      this.arm(resolve, reject, 'join');
      this.state = 'joining';
      this.send(`<presence xmlns="${NS_CLIENT}" to="${escAttr(this.occupantJid)}"><x xmlns="${NS_MUC}"/></presence>`);
    });
  }

  sendGroupchat(): boolean {
    if (this.state !== 'joined' || !this.ws) return false;
    const body = `${BODY_TAG}${this.index} ${this.seq++} ${performance.now().toFixed(3)}`;
    this.send(`<message xmlns="${NS_CLIENT}" to="${this.roomJid}" type="groupchat"><body>${body}</body></message>`);
    return true;
  }

  async close(): Promise<void> {
    const ws = this.ws;
    if (!ws || this.state === 'closed') return;
    this.state = 'closing';
    if (ws.readyState === WebSocket.OPEN) {
      ws.send(`<close xmlns="${NS_FRAMING}"/>`);
      ws.close(1000);
    } else {
      ws.terminate();
    }
    const timer = setTimeout(() => ws.terminate(), 3000);
    await this.closedPromise;
    clearTimeout(timer);
  }

  get isJoined(): boolean {
    return this.state === 'joined';
  }

  private send(s: string): void {
    const ws = this.ws;
    if (ws && ws.readyState === WebSocket.OPEN) ws.send(s);
  }

  private sendOpen(): void {
    this.send(`<open xmlns="${NS_FRAMING}" to="${escAttr(this.opts.domain)}" version="1.0"/>`);
  }

  private arm(resolve: () => void, reject: (e: Error) => void, what: string): void {
    const timer = setTimeout(() => {
      countError(this.stats, `${what}-timeout`, `${this.nick} in state ${this.state}`);
      this.fail(new Error(`${what} timed out in state ${this.state}`));
    }, this.opts.stepTimeout * 1000);
    this.waiter = { resolve, reject, timer };
  }

  private done(): void {
    const w = this.waiter;
    if (!w) return;
    this.waiter = undefined;
    clearTimeout(w.timer);
    w.resolve();
  }

  private fail(err: Error): void {
    const w = this.waiter;
    if (!w) return;
    this.waiter = undefined;
    clearTimeout(w.timer);
    w.reject(err);
  }

  private onFrame(frame: string): void {
    // Hot path: groupchat traffic and presence floods are handled with string
    // searches; only the few login frames and anomalies go through ltx.
    if (this.state === 'joined' || this.state === 'joining' || this.state === 'closing') {
      if (frame.startsWith('<message')) {
        this.onMessage(frame);
        return;
      }
      if (frame.startsWith('<presence')) {
        const tag = openingTag(frame);
        if (hasTypeError(tag)) {
          countError(this.stats, 'presence-error', frame);
          if (this.state === 'joining') this.fail(new Error('join refused'));
          return;
        }
        if (this.state === 'joining' && (frame.includes(`code="110"`) || frame.includes(`code='110'`))) {
          this.state = 'joined';
          this.room.occupants++;
          this.done();
        }
        return;
      }
    }
    let el: Element;
    try {
      el = parseXml(frame);
    } catch (e) {
      countError(this.stats, 'bad-xml', frame);
      return;
    }
    const name = el.getName();
    switch (name) {
      case 'open':
        return;
      case 'close':
        if (this.state !== 'closing') countError(this.stats, 'server-close', frame);
        return;
      case 'features':
        if (this.state === 'stream1') {
          const mechs = el.getChild('mechanisms', NS_SASL)?.getChildren('mechanism').map((m) => m.getText()) ?? [];
          if (!mechs.includes('ANONYMOUS')) {
            countError(this.stats, 'no-anonymous', frame);
            this.fail(new Error(`server offers no ANONYMOUS (${mechs.join(',')})`));
            return;
          }
          this.state = 'auth';
          this.send(`<auth xmlns="${NS_SASL}" mechanism="ANONYMOUS"/>`);
        } else if (this.state === 'stream2') {
          if (!el.getChild('bind', NS_BIND)) {
            countError(this.stats, 'no-bind', frame);
            this.fail(new Error('no bind feature after SASL'));
            return;
          }
          this.state = 'bind';
          this.send(`<iq xmlns="${NS_CLIENT}" type="set" id="bind1"><bind xmlns="${NS_BIND}"/></iq>`);
        }
        return;
      case 'success':
        if (this.state === 'auth') {
          this.state = 'stream2';
          this.sendOpen();
        }
        return;
      case 'failure':
        countError(this.stats, 'sasl-failure', frame);
        this.fail(new Error('SASL failure'));
        return;
      case 'iq':
        if (this.state === 'bind' && el.attrs.id === 'bind1') {
          if (el.attrs.type === 'result') {
            this.jid = el.getChild('bind', NS_BIND)?.getChildText('jid') ?? '';
            this.state = 'bound';
            this.done();
          } else {
            countError(this.stats, 'bind-error', frame);
            this.fail(new Error('bind refused'));
          }
          return;
        }
        if (el.attrs.type === 'get' || el.attrs.type === 'set') {
          // Answer anything the server asks (e.g. ping) with an error-free result.
          this.send(`<iq xmlns="${NS_CLIENT}" type="result" id="${escAttr(String(el.attrs.id ?? ''))}"${el.attrs.from ? ` to="${escAttr(String(el.attrs.from))}"` : ''}/>`);
        } else if (el.attrs.type === 'error') {
          countError(this.stats, 'iq-error', frame);
        }
        return;
      case 'error':
        countError(this.stats, 'stream-error', frame);
        this.fail(new Error(`stream error: ${frame.slice(0, 200)}`));
        return;
      case 'message':
        this.onMessage(frame);
        return;
      default:
        return;
    }
  }

  private onMessage(frame: string): void {
    const now = performance.now();
    const tag = openingTag(frame);
    if (hasTypeError(tag)) {
      countError(this.stats, 'message-error', frame);
      return;
    }
    const b = frame.indexOf('<body>');
    if (b < 0) return; // subject, chat states, ...
    const start = b + 6;
    if (!frame.startsWith(BODY_TAG, start)) return;
    const end = frame.indexOf('</body>', start);
    if (end < 0) return;
    const parts = frame.slice(start + BODY_TAG.length, end).split(' ');
    const sent = Number(parts[2]);
    const st = this.stats;
    st.totalReceived++;
    if (st.counting) {
      st.windowDeliveries++;
      st.latency.add(now - sent);
    }
  }
}

interface Room {
  jid: string;
  occupants: number;
}

// ---------------------------------------------------------------------------

async function pool<T>(items: T[], concurrency: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const item = items[next++]!;
      await fn(item);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, worker));
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function cpuSeconds(u: NodeJS.CpuUsage): number {
  return (u.user + u.system) / 1e6;
}

export async function runLoad(opts: LoadOptions, hook: PhaseHook = () => {}, log: (s: string) => void = () => {}): Promise<LoadResult> {
  const stats: Stats = {
    errors: {},
    errorSamples: [],
    counting: false,
    windowDeliveries: 0,
    windowSent: 0,
    totalReceived: 0,
    expected: 0,
    latency: new Histogram(),
  };
  const warnings: string[] = [];
  const phaseTimes: Partial<Record<Phase, number>> = {};
  const mark = async (p: Phase) => {
    await hook(p);
    phaseTimes[p] = performance.now();
  };

  const rooms: Room[] = Array.from({ length: opts.rooms }, (_, r) => ({
    jid: `${opts.roomPrefix}${r}@${opts.muc}`,
    occupants: 0,
  }));
  // Consecutive clients go to different rooms, so the round-robin sender
  // spreads each instant's traffic over all rooms.
  const clients = Array.from({ length: opts.clients }, (_, i) => new Client(i, rooms[i % opts.rooms]!, opts, stats));

  const loop = monitorEventLoopDelay({ resolution: 10 });

  // --- login phase --------------------------------------------------------
  await mark('start');
  log(`login: ${opts.clients} clients, ${opts.concurrency} in flight`);
  const loginHist = new Histogram();
  const loginCpu0 = process.cpuUsage();
  const tLogin0 = performance.now();
  const bound: Client[] = [];
  await pool(clients, opts.concurrency, async (c) => {
    const t0 = performance.now();
    try {
      await c.login();
      loginHist.add(performance.now() - t0);
      bound.push(c);
    } catch {
      /* counted in stats.errors */
    }
  });
  const tLogin1 = performance.now();
  const clientCpuLoginFraction = cpuSeconds(process.cpuUsage(loginCpu0)) / ((tLogin1 - tLogin0) / 1000);
  await mark('logged-in');

  // --- join phase ---------------------------------------------------------
  log(`join: ${bound.length} clients into ${opts.rooms} room(s)`);
  const joinHist = new Histogram();
  const tJoin0 = performance.now();
  const joined: Client[] = [];
  await pool(bound, opts.concurrency, async (c) => {
    const t0 = performance.now();
    try {
      await c.join();
      joinHist.add(performance.now() - t0);
      joined.push(c);
    } catch {
      /* counted */
    }
  });
  const tJoin1 = performance.now();
  await mark('joined');
  await sleep(opts.settle * 1000);
  await mark('idle');

  // --- messaging ----------------------------------------------------------
  // Open loop: the schedule does not wait for the server. Sends are spread
  // round-robin over the joined clients at (joined × rate) messages/s total.
  const senders = clients.filter((c) => c.isJoined);
  const totalRate = senders.length * opts.rate;
  log(`messaging: ${senders.length} senders × ${opts.rate}/s = ${totalRate.toFixed(1)} msg/s; warm-up ${opts.warmup}s, window ${opts.duration}s`);
  let sent = 0;
  let cursor = 0;
  let behind = 0;
  const tSend0 = performance.now();
  const maxBurst = Math.max(1, Math.ceil(totalRate * 0.05)); // 50 ms worth per tick
  const tick = () => {
    const due = Math.floor(((performance.now() - tSend0) / 1000) * totalRate) - sent;
    const n = Math.min(due, maxBurst);
    if (due > maxBurst) behind++;
    for (let k = 0; k < n; k++) {
      const c = senders[cursor]!;
      cursor = (cursor + 1) % senders.length;
      sent++;
      if (c.sendGroupchat()) {
        stats.expected += c.room.occupants;
        if (stats.counting) stats.windowSent++;
      }
    }
  };
  const timer = senders.length > 0 && totalRate > 0 ? setInterval(tick, 5) : undefined;

  await sleep(opts.warmup * 1000);
  await mark('window-start');
  loop.reset();
  loop.enable();
  const windowCpu0 = process.cpuUsage();
  stats.counting = true;
  const tWin0 = performance.now();
  await sleep(opts.duration * 1000);
  stats.counting = false;
  const tWin1 = performance.now();
  const clientCpuWindowFraction = cpuSeconds(process.cpuUsage(windowCpu0)) / ((tWin1 - tWin0) / 1000);
  loop.disable();
  await mark('window-end');
  if (timer) clearInterval(timer);

  // --- drain --------------------------------------------------------------
  const drainUntil = performance.now() + opts.drain * 1000;
  while (stats.totalReceived < stats.expected && performance.now() < drainUntil) await sleep(50);
  await mark('done');

  log('closing');
  await Promise.all(clients.map((c) => c.close()));

  const windowSeconds = (tWin1 - tWin0) / 1000;
  const eventLoopP99Ms = loop.percentile(99) / 1e6;
  if (clientCpuWindowFraction > 0.8) {
    warnings.push(`load client used ${(clientCpuWindowFraction * 100).toFixed(0)}% of a core during the window: the client may be the bottleneck`);
  }
  if (clientCpuLoginFraction > 0.8 && tLogin1 - tLogin0 > 1000) {
    warnings.push(`load client used ${(clientCpuLoginFraction * 100).toFixed(0)}% of a core during logins: login rate may be client-bound`);
  }
  if (behind > 0) warnings.push(`sender fell behind schedule on ${behind} ticks (event loop stalled)`);
  if (eventLoopP99Ms > 50) warnings.push(`client event-loop delay p99 ${eventLoopP99Ms.toFixed(1)} ms: latencies include client queuing`);
  const sentPerSecond = stats.windowSent / windowSeconds;
  const avgOccupancy = senders.length ? senders.reduce((a, c) => a + c.room.occupants, 0) / senders.length : 0;

  return {
    options: opts,
    phaseTimes,
    loggedIn: bound.length,
    joined: joined.length,
    loginSeconds: (tLogin1 - tLogin0) / 1000,
    loginsPerSecond: bound.length / ((tLogin1 - tLogin0) / 1000),
    loginLatencyMs: loginHist.quantiles(),
    joinSeconds: (tJoin1 - tJoin0) / 1000,
    joinsPerSecond: joined.length / ((tJoin1 - tJoin0) / 1000),
    joinLatencyMs: joinHist.quantiles(),
    windowSeconds,
    sentPerSecond,
    offeredDeliveriesPerSecond: totalRate * avgOccupancy,
    windowDeliveries: stats.windowDeliveries,
    deliveriesPerSecond: stats.windowDeliveries / windowSeconds,
    latencyMs: stats.latency.quantiles(),
    expectedDeliveries: stats.expected,
    receivedDeliveries: stats.totalReceived,
    lostDeliveries: Math.max(0, stats.expected - stats.totalReceived),
    errors: stats.errors,
    errorSamples: stats.errorSamples,
    clientCpuWindowFraction,
    clientCpuLoginFraction,
    eventLoopP99Ms,
    warnings,
  };
}

// ---------------------------------------------------------------------------
// Stand-alone use.

export function formatLoadResult(r: LoadResult): string {
  const f = (n: number, d = 1) => (Number.isFinite(n) ? n.toFixed(d) : '-');
  const lines = [
    `clients ${r.options.clients}, rooms ${r.options.rooms}, rate ${r.options.rate}/s/client, warm-up ${r.options.warmup}s, window ${f(r.windowSeconds)}s`,
    `logins          ${r.loggedIn}/${r.options.clients} in ${f(r.loginSeconds, 2)}s = ${f(r.loginsPerSecond)}/s (p50 ${f(r.loginLatencyMs.p50)} ms, p99 ${f(r.loginLatencyMs.p99)} ms)`,
    `joins           ${r.joined} in ${f(r.joinSeconds, 2)}s = ${f(r.joinsPerSecond)}/s (p50 ${f(r.joinLatencyMs.p50)} ms, p99 ${f(r.joinLatencyMs.p99)} ms)`,
    `sent            ${f(r.sentPerSecond)} msg/s (offered ${f(r.offeredDeliveriesPerSecond, 0)} deliveries/s)`,
    `deliveries      ${f(r.deliveriesPerSecond, 0)}/s`,
    `latency         p50 ${f(r.latencyMs.p50, 2)} ms, p99 ${f(r.latencyMs.p99, 2)} ms, max ${f(r.latencyMs.max, 1)} ms`,
    `lost            ${r.lostDeliveries} of ${r.expectedDeliveries}`,
    `errors          ${Object.entries(r.errors).map(([k, v]) => `${k}=${v}`).join(' ') || 'none'}`,
    `client CPU      ${f(r.clientCpuWindowFraction * 100, 0)}% of a core (window), loop delay p99 ${f(r.eventLoopP99Ms)} ms`,
  ];
  for (const s of r.errorSamples) lines.push(`  sample: ${s}`);
  for (const w of r.warnings) lines.push(`WARNING: ${w}`);
  return lines.join('\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      url: { type: 'string' },
      domain: { type: 'string', default: 'meet.jitsi' },
      muc: { type: 'string' },
      clients: { type: 'string' },
      rooms: { type: 'string' },
      rate: { type: 'string' },
      duration: { type: 'string' },
      warmup: { type: 'string' },
      concurrency: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
  });
  if (!values.url) throw new Error('--url ws://127.0.0.1:PORT/xmpp-websocket is required');
  const num = (v: string | undefined, d: number) => (v === undefined ? d : Number(v));
  const domain = values.domain!;
  const opts: LoadOptions = {
    ...defaultLoadOptions,
    url: values.url,
    domain,
    muc: values.muc ?? `muc.${domain}`,
    clients: num(values.clients, defaultLoadOptions.clients),
    rooms: num(values.rooms, defaultLoadOptions.rooms),
    rate: num(values.rate, defaultLoadOptions.rate),
    duration: num(values.duration, defaultLoadOptions.duration),
    warmup: num(values.warmup, defaultLoadOptions.warmup),
    concurrency: num(values.concurrency, defaultLoadOptions.concurrency),
  };
  const host = new URL(opts.url).hostname;
  if (!/^(127\.\d+\.\d+\.\d+|localhost|\[::1\])$/.test(host)) throw new Error(`refusing non-loopback target ${host}`);
  const r = await runLoad(opts, () => {}, (s) => console.error(`[load] ${s}`));
  console.log(values.json ? JSON.stringify(r, null, 2) : formatLoadResult(r));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((e: unknown) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  });
}
