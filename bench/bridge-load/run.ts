// Bridge load benchmark: synthetic participants (bench/bridge-load/participant.ts) load the bridge
// of a Salon server run as a child process (all roles, like `salon start`, on ephemeral ports), so
// that the server's CPU time (from /proc/<pid>/stat) is measured apart from the load generator's.
// Prints one JSON line per scenario and a table. Method: bench/README.md, "bench/bridge-load".

import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdtempSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { availableParallelism, setPriority, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { generateCertificate } from '../../bridge/transport/certificate.ts';
import { AUDIO_PACKET_MS, DelayHistogram, FRAME_RATE, KEYFRAME_INTERVAL_MS, LAYERS, QUIET_LEVEL, TALKER_LEVEL, offeredPps } from './media.ts';
import { Participant } from './participant.ts';
import { formatBreakdown, perfBreakdown, perfUnavailable, recordPerf, type PerfRecording } from './perf-profile.ts';
import { serverNodeFlags } from '../server-command.ts';

const HOST = '127.0.0.1';
/** A sender further behind its schedule than this skips frames instead of catching up. */
const MAX_CATCH_UP_MS = 100;
const DOMAIN = 'meet.jitsi';
const MUC = `muc.${DOMAIN}`;
const repoRoot = new URL('../..', import.meta.url).pathname;

interface Scenario {
  name: string;
  rooms: number;
  /** Per room. */
  senders: number;
  /** Per room, receive-only participants; 0 when every sender also receives. */
  receivers: number;
  /**
   * A large room as jitsi-meet shows it: every sender receives with this last-N, everyone has the
   * room's first sender on stage (the first sender the second's) at 720p, the rest at 180p.
   * Absent: each sender stages the next one, with no last-N.
   */
  lastN?: number;
  /**
   * Per room, the senders not muted, spread evenly over the join order (every senders/audioSenders-th);
   * the others send no audio. Default: all.
   */
  audioSenders?: number;
  /** Every how many-th participant decrypts what it receives (delay); the others count from the clear headers. Default 1. */
  decryptEvery?: number;
}

const FULL: Scenario[] = [
  { name: '1x(10s+10r)', rooms: 1, senders: 10, receivers: 10 },
  { name: '20x3', rooms: 20, senders: 3, receivers: 0 },
  { name: '1x100(lastN20)', rooms: 1, senders: 100, receivers: 0, lastN: 20, audioSenders: 10, decryptEvery: 5 },
  // The same shape at about half the 100,000 pps a core should carry: the delay at half load.
  { name: '1x50(lastN20)', rooms: 1, senders: 50, receivers: 0, lastN: 20, audioSenders: 10, decryptEvery: 5 },
];
const QUICK: Scenario[] = [
  { name: '1x(4s+4r)', rooms: 1, senders: 4, receivers: 4 },
  { name: '5x3', rooms: 5, senders: 3, receivers: 0 },
  { name: '1x30(lastN10)', rooms: 1, senders: 30, receivers: 0, lastN: 10, audioSenders: 10, decryptEvery: 5 },
];
/**
 * Per room, the last two audio senders talk (TALKER_LEVEL), the others are unmuted but quiet
 * (QUIET_LEVEL, one dB less each, as room noise differs: loudest-N then has a strict order to cut).
 * In a large room the talkers are far down the join order, so the one the bridge makes dominant
 * speaker is in receivers' last-N as a speaker only, as jitsi-meet's active speaker is.
 */
function audioRole(s: Scenario, i: number): { audio: boolean; level: number } {
  const count = Math.min(s.audioSenders ?? s.senders, s.senders);
  const stride = Math.max(1, Math.floor(s.senders / count));
  const nth = i / stride;
  const audio = i % stride === 0 && nth < count;
  return { audio, level: audio && nth >= count - 2 ? TALKER_LEVEL : QUIET_LEVEL + (audio ? nth : 0) };
}

// ---------------------------------------------------------------------------
// /proc

const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** utime + stime of one process (all its threads), in seconds. */
function processCpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is stat field 3 (state); utime is field 14, stime 15.
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

/** Resident memory of one process now and at its peak (VmRSS, VmHWM), in MB. */
function processRssMB(pid: number): { now: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kB = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { now: kB('VmRSS') / 1024, peak: kB('VmHWM') / 1024 };
}

/**
 * Busy and total CPU seconds of the whole machine (/proc/stat, all CPUs), and the time the
 * hypervisor ran something else while this machine's CPUs wanted to run (steal, counted busy).
 */
function machineCpu(): { busy: number; total: number; steal: number } {
  const f = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = f.reduce((a, b) => a + b, 0);
  const idle = (f[3] ?? 0) + (f[4] ?? 0);
  return { busy: (total - idle) / CLK_TCK, total: total / CLK_TCK, steal: (f[7] ?? 0) / CLK_TCK };
}

/** Datagrams dropped (receive buffer full) on the loopback UDP sockets bound to `ports` (/proc/net/udp "drops"). */
function udpDrops(ports: ReadonlySet<number>): number {
  let drops = 0;
  for (const line of readFileSync('/proc/net/udp', 'utf8').split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 13) continue;
    const port = parseInt(f[1]!.split(':')[1]!, 16);
    if (ports.has(port)) drops += Number(f[12]);
  }
  return drops;
}

// ---------------------------------------------------------------------------
// The bridge's own wire-to-wire delay, and its part before the read (native media path)

/** The server's delay histograms (native media path), by the DelayBuckets field each fills. */
const DELAY_HISTOGRAMS = {
  wire: 'salon_bridge_wire_delay_seconds_bucket',
  read: 'salon_bridge_read_delay_seconds_bucket',
  response: 'salon_bridge_response_delay_seconds_bucket',
} as const;

interface DelayBuckets extends Record<keyof typeof DELAY_HISTOGRAMS, Array<[number, number]>> {
  /** The stress level the bridge announces, and the event loop's busy share behind it, over its last 5 s sampling interval (NaN: not exposed). */
  stress: number;
  utilization: number;
  /** salon_bridge_camera_max_height (0: no cap; NaN: the load reducer is off). */
  cameraMaxHeight: number;
  /** salon_bridge_media_socket_batch_{datagrams,messages,segmented}_total (NaN: not exposed). */
  batch: { datagrams: number; messages: number; segmented: number };
  /** Counters of what the bridge did for its receivers' estimates and its own NACKs (BRIDGE_COUNTERS). */
  counters: Record<string, number>;
  /** The server's garbage collections (prom-client's `salon_nodejs_gc_duration_seconds`): pause seconds of every kind, and old-space collections. */
  gc: { pauseSeconds: number; major: number };
}

/** The bridge's counters the table shows per second over the window: what feedback makes it do. */
const BRIDGE_COUNTERS = {
  bridgeProbingKbps: 'salon_bridge_probing_bytes_total',
  bridgeHoldsPerS: 'salon_bridge_bandwidth_holds_total',
  bridgeSuspensionsPerS: 'salon_bridge_bandwidth_suspensions_total',
  bridgeOwnNacksPerS: 'salon_bridge_own_retransmission_requests_total',
  bridgeTailProbesPerS: 'salon_bridge_tail_loss_probes_total',
} as const;

/**
 * The server's delay histograms (DELAY_HISTOGRAMS) from one scrape of /metrics: [upper bound in
 * ms (Infinity for +Inf), cumulative count]; empty when the server has none (TypeScript media path).
 */
async function delayBuckets(metricsUrl: string): Promise<DelayBuckets> {
  const text = await (await fetch(metricsUrl)).text();
  const buckets: DelayBuckets = { wire: [], read: [], response: [], stress: NaN, utilization: NaN, cameraMaxHeight: NaN, batch: { datagrams: NaN, messages: NaN, segmented: NaN }, counters: {}, gc: { pauseSeconds: 0, major: 0 } };
  for (const line of text.split('\n')) {
    const gc = /^salon_nodejs_gc_duration_seconds_(sum|count)\{kind="(\w+)"\} (\S+)/.exec(line);
    if (gc?.[1] === 'sum') buckets.gc.pauseSeconds += Number(gc[3]);
    else if (gc?.[2] === 'major') buckets.gc.major += Number(gc[3]);
    for (const [key, metric] of Object.entries(BRIDGE_COUNTERS)) if (line.startsWith(`${metric} `)) buckets.counters[key] = Number(line.split(' ')[1]);
    if (line.startsWith('salon_bridge_stress ')) buckets.stress = Number(line.split(' ')[1]);
    if (line.startsWith('salon_bridge_event_loop_utilization ')) buckets.utilization = Number(line.split(' ')[1]);
    if (line.startsWith('salon_bridge_camera_max_height ')) buckets.cameraMaxHeight = Number(line.split(' ')[1]);
    const batch = /^salon_bridge_media_socket_batch_(datagrams|messages|segmented)_total (\S+)/.exec(line);
    if (batch) buckets.batch[batch[1] as keyof DelayBuckets['batch']] = Number(batch[2]);
    const histogram = (Object.keys(DELAY_HISTOGRAMS) as Array<keyof typeof DELAY_HISTOGRAMS>).find((key) => line.startsWith(DELAY_HISTOGRAMS[key]));
    const match = histogram && /le="([^"]+)"\}\s+(\S+)/.exec(line);
    if (histogram && match) buckets[histogram].push([match[1] === '+Inf' ? Infinity : Number(match[1]) * 1000, Number(match[2])]);
  }
  for (const key of Object.keys(DELAY_HISTOGRAMS) as Array<keyof typeof DELAY_HISTOGRAMS>) buckets[key].sort((a, b) => a[0] - b[0]);
  return buckets;
}

/**
 * Quantile q (0–1) of the window between two scrapes, as Prometheus's histogram_quantile: linear
 * within the bucket it falls in. In the +Inf bucket it is the last finite bound, prefixed with
 * "≥" by the caller (`wireOver`). NaN when nothing was counted.
 */
function wireQuantile(before: Array<[number, number]>, after: Array<[number, number]>, q: number): { ms: number; over: boolean } {
  const window = after.map(([le, n], i) => [le, n - (before[i]?.[1] ?? 0)] as [number, number]);
  const total = window.at(-1)?.[1] ?? 0;
  if (total <= 0) return { ms: NaN, over: false };
  const rank = q * total;
  let lower = 0;
  let below = 0;
  for (const [le, count] of window) {
    if (count >= rank) {
      if (le === Infinity) return { ms: lower, over: true };
      return { ms: lower + ((le - lower) * (rank - below)) / Math.max(1, count - below), over: false };
    }
    lower = le;
    below = count;
  }
  return { ms: lower, over: true };
}

function wireFigures(before: DelayBuckets, after: DelayBuckets): Pick<Result, 'wireP50ms' | 'wireP99ms' | 'wireSamples' | 'readP50ms' | 'readP99ms' | 'responseP50ms' | 'responseP99ms' | 'responseSamples'> {
  const show = ({ ms, over }: { ms: number; over: boolean }): number | string => (over ? `≥${round(ms, 2)}` : round(ms, 2));
  const samples = (b: Array<[number, number]>, a: Array<[number, number]>): number => (a.at(-1)?.[1] ?? 0) - (b.at(-1)?.[1] ?? 0);
  const quantiles = (b: Array<[number, number]>, a: Array<[number, number]>): [number | string, number | string] =>
    a.length === 0 || samples(b, a) <= 0 ? ['-', '-'] : [show(wireQuantile(b, a, 0.5)), show(wireQuantile(b, a, 0.99))];
  const [wireP50ms, wireP99ms] = quantiles(before.wire, after.wire);
  const [readP50ms, readP99ms] = quantiles(before.read, after.read);
  const [responseP50ms, responseP99ms] = quantiles(before.response, after.response);
  return { wireP50ms, wireP99ms, wireSamples: samples(before.wire, after.wire), readP50ms, readP99ms, responseP50ms, responseP99ms, responseSamples: samples(before.response, after.response) };
}

// ---------------------------------------------------------------------------
// The server child

interface Server {
  pid: number;
  wsUrl: string;
  metricsUrl: string;
  dir: string;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, HOST, resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

/** Scheduling priority (nice) for the server child and the generator; set with --priority (negative needs root). */
let priority = 0;

/** --udp-buffer: receive/send buffer for the server's UDP sockets (0: the server's own choice). */
let udpBuffer = 0;

/** --pin: the server on CPU 1 (taskset), the generator on CPU 0, so that neither takes the other's core. */
let pinServer = false;

async function startServer(cpuProfDir: string | undefined): Promise<Server> {
  const dir = mkdtempSync(join(tmpdir(), 'salon-bench-bridge-'));
  const stateDir = join(dir, 'state');
  mkdirSync(stateDir);
  const port = await freePort();
  const args = [
    ...serverNodeFlags(),
    // As bench/xmpp: e.g. SALON_BENCH_NODE_FLAGS="--trace-deopt" (with SALON_BENCH_KEEP_LOG=1 to read it).
    ...(process.env.SALON_BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean),
    ...(cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${cpuProfDir}`] : []),
    ...(udpBuffer > 0 ? ['--import', 'tsx', '--import', './bench/bridge-load/udp-buffer.ts'] : []),
    'config/salon.js', 'start',
    '--http-port', String(port), '--http-host', HOST, '--public-url', `http://${HOST}:${port}`,
    '--xmpp-port', '0', '--component-port', '0', '--media-port', '0', '--state-dir', stateDir,
  ];
  const out = createWriteStream(join(dir, 'salon.log'));
  // taskset execs node in place: the child's pid is the server's.
  const child: ChildProcess = spawn(pinServer ? 'taskset' : process.execPath, pinServer ? ['-c', '1', process.execPath, ...args] : args, {
    cwd: repoRoot,
    env: { ...process.env, LOG_LEVEL: process.env.SALON_BENCH_LOG_LEVEL ?? 'warn', XMPP_RESTRICT_ROOM_CREATION: 'false', SALON_BENCH_UDP_BUFFER: String(udpBuffer) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.pipe(out);
  child.stderr!.pipe(out);
  if (priority !== 0) setPriority(child.pid!, priority);
  let exited = false;
  // Should this driver crash, its server must not outlive it.
  const orphan = (): void => {
    child.kill('SIGKILL');
  };
  process.once('exit', orphan);
  const exit = new Promise<void>((resolve) => child.once('exit', () => {
    exited = true;
    process.off('exit', orphan);
    resolve();
  }));
  const stop = async (): Promise<void> => {
    if (!exited) {
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exit;
      clearTimeout(t);
    }
    if (process.env.SALON_BENCH_KEEP_LOG === '1') process.stderr.write(`  server log kept: ${join(dir, 'salon.log')}\n`);
    else rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 90_000;
  for (;;) {
    if (exited) {
      const log = readFileSync(join(dir, 'salon.log'), 'utf8').slice(-3000);
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`the server exited during start; log:\n${log}`);
    }
    try {
      const res = await fetch(`http://${HOST}:${port}/about/health`);
      if (res.status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error('the server did not answer /about/health within 90 s');
    }
    await sleep(100);
  }
  return { pid: child.pid!, wsUrl: `ws://${HOST}:${port}/xmpp-websocket`, metricsUrl: `http://${HOST}:${port}/metrics`, dir, stop };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------------------
// One scenario

interface Result {
  scenario: string;
  participants: number;
  joinFailures: number;
  /** SALON_BRIDGE_LOUDEST_AUDIO as the server got it ('-': unset). */
  loudestAudio: string;
  /** SALON_BRIDGE_LOAD_REDUCER as the server got it (off unless --load-reducer), and the cap in force at the window's end (0: none). */
  loadReducer: string;
  cameraMaxHeight: number;
  /** SALON_BRIDGE_NATIVE as the server got it: `auto` runs the native media path when it was built. */
  native: string;
  /** SALON_BRIDGE_UDP_GSO as the server got it ('-': unset, on). */
  udpGso: string;
  /** Batched datagrams per sendmmsg entry in the window (above 1: UDP GSO coalesced some), and the share sent as GSO segments. */
  datagramsPerMessage: number;
  segmentedPct: number;
  forwardedPps: number;
  cpuSeconds: number;
  ppsPerCore: number;
  p50ms: number;
  p99ms: number;
  /** The bridge's own added forwarding delay, kernel receive to sendmmsg (salon_bridge_wire_delay_seconds; '-' on the TypeScript path). */
  wireP50ms: number | string;
  wireP99ms: number | string;
  /** Forwarded copies the wire delay counts. */
  wireSamples: number;
  /** The part before the read: kernel receive to recvmmsg, per datagram (salon_bridge_read_delay_seconds). */
  readP50ms: number | string;
  readP99ms: number | string;
  /**
   * What the bridge sent in answer to RTCP — retransmissions, probing, translated sender reports —
   * and RTCP sent while a datagram was handled, from that datagram's arrival (salon_bridge_response_delay_seconds).
   */
  responseP50ms: number | string;
  responseP99ms: number | string;
  responseSamples: number;
  lossPct: number;
  videoLossPct: number;
  audioLossPct: number;
  /** The bridge's stress level and event loop busy share at the window's end (its last 5 s), as announced to the focus. */
  stressLevel: number;
  eventLoopUtilization: number;
  /** Receivers that decrypted (and gave delays) / all. */
  delaySample: string;
  /** What the senders were due to send in the window, under the SenderSourceConstraints in force. */
  offeredPps: number;
  /** What they would send with every layer and no constraint. */
  unconstrainedPps: number;
  sentPps: number;
  /** RTCP the participants sent per second: transport-cc feedback, and sender and receiver reports (0 with --feedback off). */
  feedbackPps: number;
  reportPps: number;
  bridgeProbingKbps: number;
  bridgeHoldsPerS: number;
  bridgeSuspensionsPerS: number;
  bridgeOwnNacksPerS: number;
  bridgeTailProbesPerS: number;
  durationS: number;
  serverCores: number;
  /** The server's resident memory at the window's end, and its peak so far (joins included). */
  serverRssMB: number;
  serverPeakRssMB: number;
  /** The server's collector over the window: its pauses (all kinds, ms per second) and its old-space (mark-compact) collections. */
  serverGcMsPerS: number;
  serverMajorGcs: number;
  generatorCores: number;
  /**
   * The server's CPU over the generator's. The generator's work is the same from run to run of a
   * scenario, and its CPU time moves with the host's speed as the server's does, which moves
   * ppsPerCore by the hour (bench/README.md, "How fast the host is"): the ratio leaves much of that
   * out, for comparing two versions of the server. Not across scenarios, nor across changes that
   * alter what the generator is sent.
   */
  serverPerGeneratorCpu: number;
  otherCores: number;
  /**
   * CPU the hypervisor gave to others while this machine's wanted it (/proc/stat steal), in
   * cores over the window: the host's slow hours show here, and every figure suffers with it.
   */
  stealCores: number;
  generatorLateFrames: number;
  /** Frames (per sender, all layers) not sent because the generator was over MAX_CATCH_UP_MS behind. */
  generatorSkippedFrames: number;
  maxLagMs: number;
  /** The median and 99th percentile of how late a frame went out (a late frame leaves in a burst with others). */
  generatorLagP50ms: number;
  generatorLagP99ms: number;
  keyframeRequests: number;
  /** Datagrams the kernel dropped in the window because the bridge's socket buffer was full (it did not read in time). */
  bridgeSocketDrops: number;
  /** The same on the generator's sockets. */
  generatorSocketDrops: number;
  /** SenderSourceConstraints that changed a sender's layers, in the window. */
  layerChanges: number;
  /** Senders by the layers they sent at the end of the window (heights; "none": no video). */
  sendingLayers: string;
  /** Senders sending audio (not muted). */
  audioSenders: number;
  /** Sender frame slots due in the window (sent or skipped), for the lateness note. */
  dueFrames: number;
}

/**
 * The server's start-time DTLS warm-up (bridge/transport/warm-up.ts) can fail on a loaded machine
 * (werift's client errors on a repeated HelloVerifyRequest), and then `salon start` exits: try again.
 */
async function startServerRetrying(cpuProfDir: string | undefined): Promise<Server> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startServer(cpuProfDir);
    } catch (e) {
      if (attempt >= 3) throw e;
      process.stderr.write(`  server start failed (attempt ${attempt}), retrying: ${String(e).split('\n').slice(0, 3).join(' ').slice(0, 300)}\n`);
    }
  }
}

async function runScenario(s: Scenario, opts: { warmup: number; duration: number; cpuProfDir: string | undefined; perfFile: string | undefined; concurrency: number; verbose: boolean; feedback: boolean }): Promise<Result> {
  const started = performance.now();
  const server = await startServerRetrying(opts.cpuProfDir);
  if (opts.verbose) process.stderr.write(`  server up in ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
  const participants: Participant[] = [];
  try {
    const certificate = await generateCertificate();
    let index = 0;
    for (let r = 0; r < s.rooms; r++) {
      const room = `bench${r}@${MUC}`;
      const senderNicks = Array.from({ length: s.senders }, (_, i) => `r${r}s${i}`);
      const sources = senderNicks.map((n) => `${n}-v0`);
      const receiveAll = s.receivers === 0;
      for (let i = 0; i < s.senders; i++) {
        const others = sources.filter((_, j) => j !== i);
        // A large room: everyone has the first sender on stage (it has the second); otherwise the next sender.
        const stage = s.lastN !== undefined ? sources[i === 0 ? 1 : 0]! : others[i % others.length]!;
        participants.push(new Participant({
          wsUrl: server.wsUrl, domain: DOMAIN, room, nick: senderNicks[i]!, index, certificate, sends: true,
          audio: audioRole(s, i).audio, audioLevel: audioRole(s, i).level,
          decrypts: index++ % (s.decryptEvery ?? 1) === 0,
          // In rooms of senders that receive: one source on stage at 720p, the others 180p (a typical stage view).
          lastN: receiveAll ? s.lastN ?? -1 : 0,
          onStage: receiveAll ? [stage] : [],
          onStageHeight: 720,
          defaultHeight: receiveAll ? 180 : 0,
          feedback: opts.feedback,
        }));
      }
      for (let i = 0; i < s.receivers; i++) {
        participants.push(new Participant({
          wsUrl: server.wsUrl, domain: DOMAIN, room, nick: `r${r}v${i}`, index, certificate, sends: false,
          decrypts: index++ % (s.decryptEvery ?? 1) === 0,
          lastN: -1, onStage: [sources[i % sources.length]!], onStageHeight: 720, defaultHeight: 180,
          feedback: opts.feedback,
        }));
      }
    }
    // The focus needs the bridge in its brewery before it can answer the first conference IQ.
    await sleep(1000);
    const joinStart = performance.now();
    let next = 0;
    const failures: string[] = [];
    const failed = new Set<Participant>();
    await Promise.all(Array.from({ length: Math.min(opts.concurrency, participants.length) }, async () => {
      while (next < participants.length) {
        const p = participants[next++]!;
        try {
          await p.join();
        } catch (e) {
          failures.push(`${p.nick}: ${e instanceof Error ? e.message || e.name : String(e)}`);
          failed.add(p);
          await p.close(); // it must not send media it half set up
        }
      }
    }));
    for (const f of failures) process.stderr.write(`  join failed: ${f}\n`);
    if (failures.length > 0) {
      // What the server logged (LOG_LEVEL warn, or SALON_BENCH_LOG_LEVEL) about the endpoints that failed, e.g. a DTLS failure.
      const log = readFileSync(join(server.dir, 'salon.log'), 'utf8').split('\n');
      for (const p of failed) {
        const lines = log.filter((line) => line.includes(`"${p.nick}"`) || line.includes(`/${p.nick}"`)).slice(0, 40);
        process.stderr.write(`  server log about ${p.nick}: ${lines.length === 0 ? 'nothing' : `\n    ${lines.join('\n    ')}`}\n`);
      }
    }
    if (failures.length > participants.length / 4) throw new Error(`${failures.length} of ${participants.length} participants failed to join`);
    const joinSeconds = (performance.now() - joinStart) / 1000;
    process.stderr.write(`  ${s.name}: ${participants.length} participants joined and keyed in ${joinSeconds.toFixed(1)} s\n`);

    // Open-loop sender: a 2 ms tick sends every frame and audio packet that is due, so the offered rate
    // does not depend on the bridge; frames are staggered over the frame interval.
    const senders = participants.filter((p) => p.layers.length > 0 && !failed.has(p));
    const frameMs = 1000 / FRAME_RATE;
    const t0 = performance.now() + 50;
    const schedule = senders.map((p, i) => ({
      p,
      nextFrame: t0 + (i * frameMs) / senders.length,
      nextAudio: t0 + (i * AUDIO_PACKET_MS) / senders.length,
      nextKey: t0 + KEYFRAME_INTERVAL_MS + (i * KEYFRAME_INTERVAL_MS) / senders.length,
    }));
    let lateFrames = 0;
    let skippedFrames = 0;
    /** Packets and frames due in the window (sent or skipped), under the constraints in force. */
    let duePackets = 0;
    let dueFrames = 0;
    const activePackets = (p: Participant): number => {
      let n = 0;
      for (const layer of p.activeLayers) n += layer.spec.packets;
      return n;
    };
    let maxLag = 0;
    /** How late each frame went out after its due time: a late tick sends its frames together, a burst the bridge queues. */
    const lags = new DelayHistogram();
    let measuring = false;
    const tick = (): void => {
      const now = performance.now();
      for (const e of schedule) {
        if (now - e.nextFrame > MAX_CATCH_UP_MS) {
          // Far behind (the generator's host was busy): skip the missed frames and audio rather than
          // send them in one burst, which would measure the burst, not the bridge. Counted, and the
          // sent rate shows it.
          const missed = Math.floor((now - e.nextFrame) / frameMs);
          const missedAudio = Math.floor((now - e.nextAudio) / AUDIO_PACKET_MS);
          if (measuring) {
            skippedFrames += missed;
            dueFrames += missed;
            duePackets += missed * activePackets(e.p) + (e.p.sendsAudio ? missedAudio : 0);
          }
          e.nextFrame += missed * frameMs;
          e.nextAudio += missedAudio * AUDIO_PACKET_MS;
        }
        while (e.nextFrame <= now) {
          const lag = now - e.nextFrame;
          if (measuring) {
            if (lag > frameMs) lateFrames++;
            if (lag > maxLag) maxLag = lag;
            lags.add(lag);
            dueFrames++;
            duePackets += activePackets(e.p);
          }
          const key = e.nextFrame >= e.nextKey;
          if (key) e.nextKey += KEYFRAME_INTERVAL_MS;
          // Only the layers the bridge's SenderSourceConstraints leave on (none: no video at all).
          for (const layer of e.p.activeLayers) e.p.sendRtp(layer.frame(key));
          e.nextFrame += frameMs;
        }
        while (e.nextAudio <= now) {
          // A muted participant sends no audio packets (its schedule runs on, so unmuting would be in step).
          if (e.p.sendsAudio) {
            e.p.sendRtp([e.p.audio!.packet()]);
            if (measuring) duePackets++;
          }
          e.nextAudio += AUDIO_PACKET_MS;
        }
      }
    };
    const timer = setInterval(tick, 2);
    // RTCP (rtcp.ts): each participant sends what is due, on its own phase; 10 ms is finer than any of its intervals.
    const rtcpTimer = opts.feedback ? setInterval(() => {
      const now = performance.now();
      const epochMs = performance.timeOrigin + now;
      for (const p of participants) p.rtcpTick(now, epochMs);
    }, 10) : undefined;
    const rtcpSent = (): { feedback: number; reports: number } => participants.reduce((n, p) => ({
      feedback: n.feedback + p.rtcpCounters.feedback, reports: n.reports + p.rtcpCounters.senderReports + p.rtcpCounters.receiverReports,
    }), { feedback: 0, reports: 0 });
    await sleep(opts.warmup * 1000);

    // The measured window.
    const sentBefore = senders.reduce((n, p) => n + p.counters.sent, 0);
    const rtcpBefore = rtcpSent();
    const keyBefore = senders.reduce((n, p) => n + p.counters.keyframeRequests, 0);
    const changesBefore = senders.reduce((n, p) => n + p.counters.layerChanges, 0);
    const bridgePorts = new Set(participants.map((p) => p.ports.bridge).filter((p) => p !== undefined));
    const ownPorts = new Set(participants.map((p) => p.ports.local).filter((p) => p !== undefined));
    // Scraped first, so that rendering /metrics is outside the CPU window.
    const wire0 = await delayBuckets(server.metricsUrl);
    const bridgeDrops0 = udpDrops(bridgePorts);
    const ownDrops0 = udpDrops(ownPorts);
    const cpu0 = processCpuSeconds(server.pid);
    const self0 = process.cpuUsage();
    const machine0 = machineCpu();
    const recording: PerfRecording | undefined = opts.perfFile ? await recordPerf(server.pid, opts.perfFile) : undefined;
    const w0 = performance.now();
    for (const p of participants) p.stats.measuring = true;
    measuring = true;
    await sleep(opts.duration * 1000);
    for (const p of participants) p.stats.measuring = false;
    measuring = false;
    const w1 = performance.now();
    const cpu1 = processCpuSeconds(server.pid);
    await recording?.stop().catch((err: Error) => process.stderr.write(`note: --perf: ${err.message}\n`));
    const rss = processRssMB(server.pid);
    const wire1 = await delayBuckets(server.metricsUrl);
    const bridgeDrops = udpDrops(bridgePorts) - bridgeDrops0;
    const generatorDrops = udpDrops(ownPorts) - ownDrops0;
    const self1 = process.cpuUsage(self0);
    const machine1 = machineCpu();
    const sentAfter = senders.reduce((n, p) => n + p.counters.sent, 0);
    const rtcpAfter = rtcpSent();
    const keyAfter = senders.reduce((n, p) => n + p.counters.keyframeRequests, 0);
    const changesAfter = senders.reduce((n, p) => n + p.counters.layerChanges, 0);
    const layerSets = new Map<string, number>();
    for (const p of senders) {
      const key = p.activeLayers.map((l) => l.height).join('+') || 'none';
      layerSets.set(key, (layerSets.get(key) ?? 0) + 1);
    }
    clearInterval(timer);
    clearInterval(rtcpTimer);

    const seconds = (w1 - w0) / 1000;
    const delay = new DelayHistogram();
    let received = 0;
    const seq = { expected: 0, received: 0, video: { expected: 0, received: 0 }, audio: { expected: 0, received: 0 } };
    let decrypting = 0;
    for (const p of participants) {
      delay.merge(p.stats.delay);
      received += p.stats.packets;
      if (p.stats.headerOnly === 0 && p.stats.packets > 0) decrypting++;
      const t = p.stats.sequenceTotals();
      seq.expected += t.expected;
      seq.received += t.received;
      for (const kind of ['video', 'audio'] as const) {
        seq[kind].expected += t[kind].expected;
        seq[kind].received += t[kind].received;
      }
    }
    const lossOf = (t: { expected: number; received: number }) => round(t.expected > 0 ? (100 * (t.expected - t.received)) / t.expected : NaN, 3);
    if (opts.verbose) {
      for (const p of participants) {
        const detail = p.stats.perSsrc().map((t) => `${t.ssrc.toString(16)}:${t.received}/${t.expected}`).join(' ');
        const sending = p.layers.length > 0 ? `; sends ${p.activeLayers.map((l) => l.height).join('+') || 'no video'}${p.sendsAudio ? ' + audio' : ''} (maxHeight ${p.senderMaxHeight ?? '-'}, ${p.counters.senderConstraints} constraints)` : '';
        process.stderr.write(`  ${p.nick} (${p.channelUrl}): ${p.stats.videoPackets} video, ${p.stats.audioPackets} audio, ${p.stats.rtx} other, auth failures ${p.stats.authFailures}, delay p50 ${p.stats.delay.percentile(50)} ms (${p.stats.delay.over} over 60 s)${sending}; ${detail}; channel ${JSON.stringify(p.counters.channelMessages)}; RTCP ${JSON.stringify(p.rtcpCounters)}\n`);
      }
    }
    const cpuSeconds = cpu1 - cpu0;
    const generatorSeconds = (self1.user + self1.system) / 1e6;
    const machineBusy = machine1.busy - machine0.busy;
    const steal = machine1.steal - machine0.steal;
    const forwardedPps = received / seconds;
    return {
      scenario: s.name,
      participants: participants.length,
      joinFailures: failures.length,
      loudestAudio: process.env.SALON_BRIDGE_LOUDEST_AUDIO || '-',
      loadReducer: process.env.SALON_BRIDGE_LOAD_REDUCER ?? '-',
      cameraMaxHeight: wire1.cameraMaxHeight,
      native: process.env.SALON_BRIDGE_NATIVE || 'auto',
      udpGso: process.env.SALON_BRIDGE_UDP_GSO || '-',
      datagramsPerMessage: round((wire1.batch.datagrams - wire0.batch.datagrams) / (wire1.batch.messages - wire0.batch.messages), 2),
      segmentedPct: round((100 * (wire1.batch.segmented - wire0.batch.segmented)) / (wire1.batch.datagrams - wire0.batch.datagrams), 1),
      forwardedPps: round(forwardedPps, 0),
      cpuSeconds: round(cpuSeconds, 2),
      ppsPerCore: round(cpuSeconds > 0 ? received / cpuSeconds : NaN, 0),
      p50ms: round(delay.percentile(50), 2),
      p99ms: round(delay.percentile(99), 2),
      ...wireFigures(wire0, wire1),
      lossPct: lossOf(seq),
      videoLossPct: lossOf(seq.video),
      audioLossPct: lossOf(seq.audio),
      stressLevel: round(wire1.stress, 3),
      eventLoopUtilization: round(wire1.utilization, 3),
      delaySample: `${decrypting}/${participants.length - failed.size}`,
      offeredPps: round(duePackets / seconds, 0),
      unconstrainedPps: round(senders.length * offeredPps().video + senders.filter((p) => p.sendsAudio).length * offeredPps().audio, 0),
      sentPps: round((sentAfter - sentBefore) / seconds, 0),
      feedbackPps: round((rtcpAfter.feedback - rtcpBefore.feedback) / seconds, 0),
      ...Object.fromEntries(Object.keys(BRIDGE_COUNTERS).map((key) => {
        const delta = ((wire1.counters[key] ?? NaN) - (wire0.counters[key] ?? NaN)) / seconds;
        return [key, key === 'bridgeProbingKbps' ? round((delta * 8) / 1000, 0) : round(delta, 1)];
      })) as Record<keyof typeof BRIDGE_COUNTERS, number>,
      reportPps: round((rtcpAfter.reports - rtcpBefore.reports) / seconds, 0),
      durationS: round(seconds, 2),
      serverCores: round(cpuSeconds / seconds, 2),
      serverRssMB: round(rss.now, 0),
      serverPeakRssMB: round(rss.peak, 0),
      serverGcMsPerS: round(((wire1.gc.pauseSeconds - wire0.gc.pauseSeconds) * 1000) / seconds, 1),
      serverMajorGcs: wire1.gc.major - wire0.gc.major,
      generatorCores: round(generatorSeconds / seconds, 2),
      serverPerGeneratorCpu: round(cpuSeconds / generatorSeconds, 3),
      otherCores: round(Math.max(0, machineBusy - steal - cpuSeconds - generatorSeconds) / seconds, 2),
      stealCores: round(steal / seconds, 2),
      generatorLateFrames: lateFrames,
      generatorSkippedFrames: skippedFrames,
      maxLagMs: round(maxLag, 1),
      generatorLagP50ms: round(lags.percentile(50), 2),
      generatorLagP99ms: round(lags.percentile(99), 2),
      keyframeRequests: keyAfter - keyBefore,
      bridgeSocketDrops: bridgeDrops,
      generatorSocketDrops: generatorDrops,
      layerChanges: changesAfter - changesBefore,
      sendingLayers: [...layerSets].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k}:${n}`).join(' '),
      audioSenders: senders.filter((p) => p.sendsAudio).length,
      dueFrames,
    };
  } finally {
    const stopping = performance.now();
    await Promise.all(participants.map((p) => p.close()));
    await server.stop();
    if (opts.verbose) process.stderr.write(`  participants and server stopped in ${((performance.now() - stopping) / 1000).toFixed(1)} s\n`);
  }
}

const round = (v: number, digits: number) => (Number.isFinite(v) ? Number(v.toFixed(digits)) : v);

// ---------------------------------------------------------------------------
// --cpu-prof summary

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

function summariseProfile(dir: string, top: number): string {
  const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
  const lines: string[] = [];
  for (const file of files) {
    const profile = JSON.parse(readFileSync(join(dir, file), 'utf8')) as { nodes: ProfileNode[]; samples: number[]; startTime: number; endTime: number };
    // Percentages of the busy samples: idle time says nothing about where the CPU goes.
    const idleIds = new Set(profile.nodes.filter((n) => n.callFrame.functionName === '(idle)').map((n) => n.id));
    const total = profile.samples.filter((id) => !idleIds.has(id)).length;
    // The tsx loader's worker thread has its own profile, nearly all idle: skip such threads.
    if (total < 0.1 * profile.samples.length) continue;
    const byFunction = new Map<string, number>();
    const byFile = new Map<string, number>();
    for (const node of profile.nodes) {
      const hits = node.hitCount ?? 0;
      if (!hits || idleIds.has(node.id)) continue;
      const url = node.callFrame.url.replace(/^file:\/\//, '').replace(repoRoot, '').replace(/^.*node_modules\//, 'node_modules/');
      const name = `${node.callFrame.functionName || '(anonymous)'} ${url ? `${url}:${node.callFrame.lineNumber + 1}` : ''}`.trim();
      byFunction.set(name, (byFunction.get(name) ?? 0) + hits);
      const group = url ? url.replace(/^node_modules\/((?:@[^/]+\/)?[^/]+).*$/, 'node_modules/$1') : node.callFrame.functionName;
      byFile.set(group, (byFile.get(group) ?? 0) + hits);
    }
    const pct = (n: number) => `${((100 * n) / total).toFixed(1).padStart(5)} %`;
    lines.push(`${file}: ${total} busy of ${profile.samples.length} samples over ${((profile.endTime - profile.startTime) / 1e6).toFixed(1)} s (whole server life, joins included); % of busy samples`);
    lines.push('  self time by function:');
    for (const [name, n] of [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, top)) lines.push(`  ${pct(n)}  ${name}`);
    lines.push('  self time by file / package:');
    for (const [name, n] of [...byFile].sort((a, b) => b[1] - a[1]).slice(0, top)) lines.push(`  ${pct(n)}  ${name}`);
  }
  return lines.join('\n');
}

// ---------------------------------------------------------------------------

/** Several runs of one scenario as one: each numeric figure's median, the rest from the first run, and the spread of the two headline figures. */
type Summary = Result & { runs?: number; ppsPerCoreMin?: number; ppsPerCoreMax?: number; wireP99msMin?: number | string; wireP99msMax?: number | string };

/** A figure as a number and whether it is a lower bound (a delay past the histogram's last bucket, shown "≥x"); undefined for "-" or NaN. */
function figure(value: unknown): { value: number; over: boolean } | undefined {
  if (typeof value === 'number') return Number.isNaN(value) ? undefined : { value, over: false };
  if (typeof value === 'string' && value.startsWith('≥')) return { value: Number(value.slice(1)), over: true };
  return undefined;
}

function summarise(runs: Result[]): Summary {
  if (runs.length === 1) return runs[0]!;
  type Figure = { value: number; over: boolean };
  const ordered = (values: Figure[]): Figure[] => [...values].sort((a, b) => a.value - b.value);
  const shown = (f: Figure | undefined): number | string => (f === undefined ? '-' : f.over ? `≥${f.value}` : f.value);
  // The runs' median (the upper one of an even count: a run's own figure, never a mean of two), "≥" kept when it came from such a run.
  const median = (values: Figure[]): number | string => shown(ordered(values)[values.length >> 1]);
  const summary: Record<string, unknown> = { ...runs[0]! };
  for (const key of Object.keys(summary) as Array<keyof Result>) {
    if (key === 'scenario') continue;
    const values = runs.map((r) => figure(r[key]));
    // Figures every run has (as a number or "≥x"); others ("-", NaN in a run, text) stay as the first run gave them.
    if (values.every((v) => v !== undefined)) summary[key] = median(values);
  }
  const pps = runs.map((r) => r.ppsPerCore).filter((v) => !Number.isNaN(v));
  const wire = runs.map((r) => figure(r.wireP99ms)).filter((v) => v !== undefined);
  return {
    ...(summary as unknown as Result),
    runs: runs.length,
    ppsPerCoreMin: Math.min(...pps),
    ppsPerCoreMax: Math.max(...pps),
    wireP99msMin: shown(ordered(wire)[0]),
    wireP99msMax: shown(ordered(wire).at(-1)),
  };
}

function table(results: Summary[]): string {
  const keys = Object.keys(results[0]!).filter((k) => k !== 'scenario') as Array<keyof Summary>;
  const header = ['', ...results.map((r) => r.scenario)];
  const rows = keys.map((k) => [k, ...results.map((r) => String(r[k]))]);
  const widths = header.map((_, i) => Math.max(...[header, ...rows].map((row) => row[i]!.length)));
  const line = (row: string[]) => row.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(header), ...rows.map(line)].join('\n');
}

async function main(): Promise<void> {
  // Stopped by a signal (a test's timeout, ^C): exit handlers run, the server child with them.
  process.once('SIGTERM', () => process.exit(143));
  process.once('SIGINT', () => process.exit(130));
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      scenario: { type: 'string' },
      warmup: { type: 'string' },
      duration: { type: 'string' },
      concurrency: { type: 'string', default: '4' },
      'cpu-prof': { type: 'boolean', default: false },
      perf: { type: 'boolean', default: false },
      priority: { type: 'string', default: '0' },
      'udp-buffer': { type: 'string', default: '0' },
      pin: { type: 'boolean', default: false },
      'loudest-audio': { type: 'string' },
      'load-reducer': { type: 'boolean', default: false },
      native: { type: 'string' },
      'udp-gso': { type: 'string' },
      feedback: { type: 'string', default: 'on' },
      repeat: { type: 'string', default: '1' },
      verbose: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(`usage: npm run bench:bridge -- [--quick] [--scenario NAME] [--warmup s] [--duration s] [--concurrency N] [--priority NICE] [--udp-buffer BYTES] [--pin] [--loudest-audio N] [--load-reducer] [--native auto|on|off] [--udp-gso on|off] [--feedback on|off] [--repeat K] [--cpu-prof] [--perf] [--verbose]
scenarios: ${FULL.map((s) => s.name).join(', ')} (full); ${QUICK.map((s) => s.name).join(', ')} (--quick); or any RxS: R rooms of S senders`);
    return;
  }
  // The generator's young generation as small as the server's (bench/README.md, "The generator's
  // pauses"): with Node's default, its scavenges stall its sending tick for several ms.
  if (![...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(' ')].some((flag) => flag.startsWith('--max-semi-space-size'))) {
    process.stderr.write('note: the generator runs without --max-semi-space-size=1 (npm run bench:bridge sets it): its GC pauses will send frames in bursts\n');
  }
  priority = Number(values.priority);
  udpBuffer = Number(values['udp-buffer']);
  // The server child inherits the environment: this sets the bridge's loudest-N audio routing.
  if (values['loudest-audio'] !== undefined) process.env.SALON_BRIDGE_LOUDEST_AUDIO = values['loudest-audio'];
  // The bridge's load reducer caps video when it is overloaded, which would change the load being
  // measured: off unless asked for (--load-reducer, or the variable set in the environment).
  if (values['load-reducer']) process.env.SALON_BRIDGE_LOAD_REDUCER = 'true';
  else process.env.SALON_BRIDGE_LOAD_REDUCER ??= 'false';
  // The server's media path: auto (native when built), on, off (TypeScript).
  if (values.native !== undefined) process.env.SALON_BRIDGE_NATIVE = values.native;
  // The native path's UDP GSO (default on): off sends each datagram as its own message, to compare.
  if (values['udp-gso'] !== undefined) {
    if (values['udp-gso'] !== 'on' && values['udp-gso'] !== 'off') throw new Error(`--udp-gso ${values['udp-gso']}: on or off`);
    process.env.SALON_BRIDGE_UDP_GSO = values['udp-gso'] === 'on' ? 'true' : 'false';
  }
  // The generator's transport-wide sequence numbers and RTCP (on, as browsers; off: neither, as before they were added).
  if (values.feedback !== 'on' && values.feedback !== 'off') throw new Error(`--feedback ${values.feedback}: on or off`);
  if (priority !== 0) setPriority(priority);
  if (values.pin) {
    if (availableParallelism() < 2) throw new Error('--pin needs two CPUs');
    // The generator (every thread of this process) on CPU 0; the server child on CPU 1 (startServer).
    execFileSync('taskset', ['-a', '-p', '-c', '0', String(process.pid)], { stdio: 'ignore' });
    pinServer = true;
  }
  const named = (values.quick ? QUICK : FULL).filter((s) => !values.scenario || s.name === values.scenario);
  // Any other `RxS`: R rooms of S participants who all send and receive, as 20x3 (to see where a shape saturates).
  const shape = /^(\d+)x(\d+)$/.exec(values.scenario ?? '');
  const scenarios = named.length > 0 || !shape ? named : [{ name: values.scenario!, rooms: Number(shape[1]), senders: Number(shape[2]), receivers: 0 }];
  if (scenarios.length === 0) throw new Error(`no scenario named ${values.scenario}`);
  const warmup = Number(values.warmup ?? (values.quick ? 3 : 10));
  const duration = Number(values.duration ?? (values.quick ? 8 : 30));
  const o = offeredPps();
  process.stderr.write(`per sender: ${LAYERS.map((l) => `${l.height}p ${l.packets}x${l.bytes} B`).join(', ')} per frame at ${FRAME_RATE} fps, `
    + `audio ${1000 / AUDIO_PACKET_MS} pps; ${o.total} pps offered per sender; warm-up ${warmup} s, window ${duration} s\n`);
  const repeat = Number(values.repeat);
  const perfWhyNot = values.perf ? perfUnavailable() : undefined;
  if (perfWhyNot) process.stderr.write(`note: --perf: ${perfWhyNot}; running without it\n`);
  const perf = values.perf && !perfWhyNot;
  if (!Number.isInteger(repeat) || repeat < 1) throw new Error(`--repeat ${values.repeat}: a whole number of runs, at least 1`);
  // Rounds over the scenarios, so that a slow spell of the machine does not fall on one scenario's runs only.
  const runs = new Map<string, Result[]>(scenarios.map((s) => [s.name, []]));
  for (let round = 1; round <= repeat; round++) {
    for (const s of scenarios) {
      const profDir = values['cpu-prof'] ? mkdtempSync(join(tmpdir(), 'salon-bench-prof-')) : undefined;
      const perfDir = perf ? mkdtempSync(join(tmpdir(), 'salon-bench-perf-')) : undefined;
      const perfFile = perfDir ? join(perfDir, 'perf.data') : undefined;
      const result = await runScenario(s, { warmup, duration, cpuProfDir: profDir, perfFile, concurrency: Number(values.concurrency), verbose: values.verbose!, feedback: values.feedback === 'on' });
      runs.get(s.name)!.push(result);
      const { scenario, forwardedPps, cpuSeconds, ppsPerCore, p50ms, p99ms, lossPct, wireP50ms, wireP99ms, readP50ms, readP99ms, responseP99ms, generatorCores, serverPerGeneratorCpu } = result;
      console.log(JSON.stringify({ scenario, ...(repeat > 1 ? { run: round } : {}), forwardedPps, cpuSeconds, ppsPerCore, p50ms, p99ms, lossPct, wireP50ms, wireP99ms, readP50ms, readP99ms, responseP99ms, generatorCores, serverPerGeneratorCpu }));
      if (perfDir && perfFile) {
        try {
          console.log(formatBreakdown(perfBreakdown(perfFile, result.cpuSeconds, result.forwardedPps * duration)));
        } catch (err) {
          process.stderr.write(`note: --perf: no breakdown: ${(err as Error).message}\n`);
        } finally {
          // SALON_BENCH_KEEP_PERF=1: kept for `perf report -i` (e.g. --sort sym on the addon's DSO).
          if (process.env.SALON_BENCH_KEEP_PERF === '1') console.log(`  (perf data kept in ${perfFile})`);
          else rmSync(perfDir, { recursive: true, force: true });
        }
      }
      if (profDir) {
        console.log(summariseProfile(profDir, 25));
        console.log(`  (profile kept in ${profDir})`);
      }
    }
  }
  const results = scenarios.map((s) => summarise(runs.get(s.name)!));
  if (repeat > 1) {
    for (const r of results) {
      const { scenario, forwardedPps, cpuSeconds, ppsPerCore, p50ms, p99ms, lossPct, wireP50ms, wireP99ms, readP50ms, readP99ms, responseP99ms, ppsPerCoreMin, ppsPerCoreMax, wireP99msMin, wireP99msMax, generatorCores, serverPerGeneratorCpu } = r;
      console.log(JSON.stringify({ scenario, median: true, runs: repeat, forwardedPps, cpuSeconds, ppsPerCore, p50ms, p99ms, lossPct, wireP50ms, wireP99ms, readP50ms, readP99ms, responseP99ms, ppsPerCoreMin, ppsPerCoreMax, wireP99msMin, wireP99msMax, generatorCores, serverPerGeneratorCpu }));
    }
  }
  console.log(table(results));
  for (const r of [...runs.values()].flat()) {
    if (r.generatorCores > 0.9 || r.sentPps < 0.98 * r.offeredPps || r.generatorLateFrames > 0.01 * r.dueFrames) {
      console.log(`note: ${r.scenario}: the generator used ${r.generatorCores} cores, sent ${r.sentPps} of ${r.offeredPps} pps and was late (> 1 frame interval) on ${r.generatorLateFrames} frames (max ${r.maxLagMs} ms)`
        + `${r.otherCores > 0.2 ? `; other processes used ${r.otherCores} cores meanwhile` : ''}${r.stealCores > 0.05 ? `; the hypervisor took ${r.stealCores} cores (steal)` : ''}: the load or the delays are limited by the generator's host, not the bridge`);
    }
  }
}

await main();
