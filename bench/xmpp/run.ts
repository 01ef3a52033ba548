// XMPP benchmark driver: starts the server under test (Salon or Debian's
// Prosody) as a child process on a free loopback port, samples its CPU time
// and memory from /proc around each phase of bench/xmpp/load.ts, and prints
// one table per scenario plus a Salon/Prosody ratio table.
//
//   npm run bench:xmpp -- --server both --scenario both
//   node --import tsx bench/xmpp/run.ts --server prosody --scenario one-room
//
// See bench/README.md for what every column means.

import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, createWriteStream } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { serverNodeFlags } from '../server-command.ts';
import { defaultLoadOptions, runLoad, type LoadOptions, type LoadResult, type Phase } from './load.ts';

// ---------------------------------------------------------------------------
// Everything that names the servers lives here.

const BENCH = {
  host: '127.0.0.1',
  domain: 'meet.jitsi',
  muc: 'muc.meet.jitsi',
  wsPath: '/xmpp-websocket',
  salon: {
    /** argv after `node`; PORT and STATE_DIR are substituted */
    // As `npm start` runs it (package.json); SALON_BENCH_NODE_FLAGS adds Node flags for experiments.
    args: [...serverNodeFlags(), ...(process.env.SALON_BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean), 'config/salon.js', 'start', '--http-port', 'PORT', '--xmpp-port', '0', '--component-port', '0', '--media-port', '0', '--state-dir', 'STATE_DIR'],
    env: { XMPP_RESTRICT_ROOM_CREATION: 'false', LOG_LEVEL: 'warn' } as Record<string, string>,
    healthPath: '/about/health',
  },
  prosody: {
    bin: 'prosody',
    /** answers 200 with a short text page once mod_websocket is up */
    readyPath: '/xmpp-websocket',
  },
  startTimeoutMs: 30_000,
  /** idle time after the server answers before the baseline sample */
  baselineSettleMs: 1_000,
} as const;

interface Scenario {
  name: 'spread' | 'one-room';
  clients: number;
  rooms: number;
  rate: number;
}

// Offered load is fixed per scenario and kept below Prosody's saturation on
// a 2-core machine (it spends ≈150-250 µs of CPU per delivery at these rates),
// so both servers carry the same traffic and CPU per delivery is comparable:
//   spread   = 500 senders × 0.2/s × 20 occupants  ≈ 2,000 deliveries/s
//   one-room = 200 senders × 0.1/s × 200 occupants ≈ 4,000 deliveries/s
// Push --rate up to find a server's ceiling instead.
const SCENARIOS: Record<Scenario['name'], Scenario> = {
  spread: { name: 'spread', clients: 500, rooms: 25, rate: 0.2 },
  'one-room': { name: 'one-room', clients: 200, rooms: 1, rate: 0.1 },
};

type ServerName = 'prosody' | 'salon';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

// ---------------------------------------------------------------------------
// /proc sampling (whole process tree of the server child).

const CLK_TCK = (() => {
  try {
    const n = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    return n > 0 ? n : 100;
  } catch {
    return 100;
  }
})();

interface ProcSample {
  t: number; // ms, performance.now()
  cpuSeconds: number; // utime+stime (+ reaped children) over the tree
  rssKb: number; // VmRSS over the tree
  hwmKb: number; // VmHWM over the tree
  pids: number[];
  machineBusySeconds: number; // all CPUs, from /proc/stat
  selfCpuSeconds: number; // this process (the load client)
}

/** Busy CPU time of the whole machine (user+nice+system+irq+softirq+steal), seconds. */
function machineBusySeconds(): number {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/).slice(1).map(Number);
    const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = f;
    return (user + nice + system + irq + softirq + steal) / CLK_TCK;
  } catch {
    return NaN;
  }
}

function readStat(pid: number): { ppid: number; ticks: number } | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    // f[0] is field 3 (state): ppid=4, utime=14, stime=15, cutime=16, cstime=17
    return { ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]) };
  } catch {
    return undefined;
  }
}

function readStatusKb(pid: number, key: string): number {
  try {
    const m = readFileSync(`/proc/${pid}/status`, 'utf8').match(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const st = readStat(Number(name));
    if (!st) continue;
    const list = children.get(st.ppid) ?? [];
    list.push(Number(name));
    children.set(st.ppid, list);
  }
  const out: number[] = [];
  const stack = [root];
  while (stack.length) {
    const p = stack.pop()!;
    out.push(p);
    stack.push(...(children.get(p) ?? []));
  }
  return out;
}

function sampleProc(root: number): ProcSample {
  const pids = processTree(root);
  let ticks = 0;
  let rss = 0;
  let hwm = 0;
  for (const p of pids) {
    ticks += readStat(p)?.ticks ?? 0;
    rss += readStatusKb(p, 'VmRSS');
    hwm += readStatusKb(p, 'VmHWM');
  }
  const self = process.cpuUsage();
  return {
    t: performance.now(),
    cpuSeconds: ticks / CLK_TCK,
    rssKb: rss,
    hwmKb: hwm,
    pids,
    machineBusySeconds: machineBusySeconds(),
    selfCpuSeconds: (self.user + self.system) / 1e6,
  };
}

// ---------------------------------------------------------------------------
// Server lifecycle.

interface RunningServer {
  name: ServerName;
  version: string;
  pid: number;
  port: number;
  wsUrl: string;
  dir: string;
  logFile: string;
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.once('error', rej);
    srv.listen(0, BENCH.host, () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => res(port));
    });
  });
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function waitHttp200(child: ChildProcess, url: string, what: string, logFile: string): Promise<void> {
  const deadline = Date.now() + BENCH.startTimeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`${what} exited (${child.exitCode ?? child.signalCode}) before it was ready; see ${logFile}:\n${tail(logFile)}`);
    }
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      if (res.status === 200) return;
      last = `HTTP ${res.status}`;
    } catch (e) {
      last = e instanceof Error ? e.message : String(e);
    }
    await sleep(100);
  }
  throw new Error(`${what} not ready at ${url} after ${BENCH.startTimeoutMs} ms (${last}); see ${logFile}:\n${tail(logFile)}`);
}

function tail(file: string, lines = 20): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

function stopper(child: ChildProcess, dir: string, keep: boolean): () => Promise<void> {
  return async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((r) => child.once('exit', () => r()));
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(t);
    }
    if (!keep) rmSync(dir, { recursive: true, force: true });
  };
}

function spawnLogged(cmd: string, args: string[], opts: { cwd: string; env: NodeJS.ProcessEnv; logFile: string }): ChildProcess {
  const out = createWriteStream(opts.logFile, { flags: 'a' });
  const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.pipe(out);
  child.stderr!.pipe(out);
  return child;
}

function prosodyVersion(): string {
  for (const f of ['/usr/lib/prosody/prosody.version']) {
    if (existsSync(f)) return readFileSync(f, 'utf8').trim();
  }
  try {
    return execFileSync('dpkg-query', ['-W', '-f', '${Version}', 'prosody'], { encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}

function luaString(s: string): string {
  return JSON.stringify(s); // a JSON string literal is a valid Lua string for these paths
}

function prosodyConfig(dir: string, port: number, gc: string): string {
  return `-- generated by bench/xmpp/run.ts
daemonize = false
run_as_root = true -- the bench runs as whoever starts it, root included
pidfile = ${luaString(join(dir, 'prosody.pid'))}
data_path = ${luaString(join(dir, 'data'))}
log = { { levels = { min = "warn" }, to = "file", filename = ${luaString(join(dir, 'prosody.log'))} } }

-- loopback only, and only the HTTP listener (WebSocket); no c2s/s2s/components
interfaces = { "${BENCH.host}" }
local_interfaces = { "${BENCH.host}" }
c2s_ports = {}
c2s_direct_tls_ports = {}
s2s_ports = {}
s2s_direct_tls_ports = {}
component_ports = {}
http_ports = { ${port} }
http_interfaces = { "${BENCH.host}" }
https_ports = {}
https_interfaces = {}

network_backend = "epoll"
${gc === 'default' ? '-- gc: Prosody\'s default (incremental, threshold 105, speed 500)' : `gc = { mode = "${gc}" }`}
storage = "memory"
c2s_require_encryption = false
consider_websocket_secure = true
cross_domain_websocket = true

-- No throttling: mod_limits is not loaded, so the "limits" table is inert;
-- it is spelled out anyway in case someone adds the module.
limits = {}

modules_enabled = {
  "saslauth";
  "disco";
  "roster";
  "ping";
  "websocket";
}

VirtualHost "${BENCH.domain}"
  authentication = "anonymous"

Component "${BENCH.muc}" "muc"
  muc_room_locking = false
  restrict_room_creation = false
`;
}

async function startProsody(keep: boolean, gc: string): Promise<RunningServer> {
  const dir = mkdtempSync(join(os.tmpdir(), 'salon-bench-prosody-'));
  const port = await freePort();
  const cfg = join(dir, 'prosody.cfg.lua');
  mkdirSync(join(dir, 'data'));
  writeFileSync(cfg, prosodyConfig(dir, port, gc));
  const logFile = join(dir, 'stdout.log');
  const child = spawnLogged(BENCH.prosody.bin, ['-F', '--config', cfg], { cwd: dir, env: process.env, logFile });
  const stop = stopper(child, dir, keep);
  try {
    await waitHttp200(child, `http://${BENCH.host}:${port}${BENCH.prosody.readyPath}`, 'prosody', join(dir, 'prosody.log'));
  } catch (e) {
    await stop();
    throw e;
  }
  return {
    name: 'prosody',
    version: `Prosody ${prosodyVersion()}${gc === 'default' ? '' : ` (gc ${gc})`}`,
    pid: child.pid!,
    port,
    wsUrl: `ws://${BENCH.host}:${port}${BENCH.wsPath}`,
    dir,
    logFile: join(dir, 'prosody.log'),
    stop,
  };
}

async function startSalon(keep: boolean): Promise<RunningServer> {
  const dir = mkdtempSync(join(os.tmpdir(), 'salon-bench-salon-'));
  const port = await freePort();
  const stateDir = join(dir, 'state');
  mkdirSync(stateDir);
  const args = BENCH.salon.args.map((a) => (a === 'PORT' ? String(port) : a === 'STATE_DIR' ? stateDir : a));
  const logFile = join(dir, 'salon.log');
  const child = spawnLogged(process.execPath, args, { cwd: repoRoot, env: { ...process.env, ...BENCH.salon.env }, logFile });
  const stop = stopper(child, dir, keep);
  try {
    await waitHttp200(child, `http://${BENCH.host}:${port}${BENCH.salon.healthPath}`, 'salon', logFile);
  } catch (e) {
    await stop();
    throw e;
  }
  let version = 'Salon';
  try {
    const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version?: string };
    version = `Salon ${pkg.version ?? ''}`.trim();
  } catch {
    /* keep default */
  }
  return { name: 'salon', version, pid: child.pid!, port, wsUrl: `ws://${BENCH.host}:${port}${BENCH.wsPath}`, dir, logFile, stop };
}


// ---------------------------------------------------------------------------
// One measured run.

/** The figures of one run; all plain numbers so repeats can be reduced to medians. */
const METRIC_KEYS = [
  'clients',
  'rooms',
  'rate',
  'loggedIn',
  'joined',
  'loginsPerSecond',
  'loginP50',
  'loginP99',
  'cpuMsPerLogin',
  'joinSeconds',
  'joinsPerSecond',
  'joinP99',
  'cpuMsPerJoin',
  'offeredDeliveriesPerSecond',
  'sentPerSecond',
  'deliveriesPerSecond',
  'serverCpuWindowPct',
  'cpuUsPerDelivery',
  'deliveriesPerCpuSecond',
  'p50',
  'p99',
  'lostDeliveries',
  'errorCount',
  'baselineRssKb',
  'idleRssKb',
  'rssPerSessionKb',
  'peakRssKb',
  'clientCpuWindowPct',
  'otherCpuWindowPct',
  'otherCpuLoginPct',
] as const;
type MetricKey = (typeof METRIC_KEYS)[number];
type Figures = Record<MetricKey, number>;

interface Run {
  server: ServerName;
  version: string;
  scenario: Scenario;
  figures: Figures;
  load: LoadResult;
  warnings: string[];
  samples: Partial<Record<Phase | 'baseline', ProcSample>>;
}

/** Share of one core used by processes other than the server and this client between two samples. */
function otherCpuPct(a: ProcSample, b: ProcSample): number {
  const wall = (b.t - a.t) / 1000;
  const other = b.machineBusySeconds - a.machineBusySeconds - (b.cpuSeconds - a.cpuSeconds) - (b.selfCpuSeconds - a.selfCpuSeconds);
  return wall > 0 ? Math.max(0, (other / wall) * 100) : NaN;
}

/** Wait (up to maxSeconds) until the rest of the machine uses < 10% of a core over 2 s. */
async function waitQuiet(maxSeconds: number, log: (s: string) => void): Promise<void> {
  if (maxSeconds <= 0) return;
  const deadline = performance.now() + maxSeconds * 1000;
  let said = false;
  for (;;) {
    const a = machineBusySeconds();
    const c0 = process.cpuUsage();
    await sleep(2000);
    const busy = machineBusySeconds() - a - cpuSecondsOf(process.cpuUsage(c0));
    const pct = (busy / 2) * 100;
    if (!(pct >= 10)) return;
    if (performance.now() > deadline) {
      log(`machine still busy (${pct.toFixed(0)}% of a core used by other processes); running anyway`);
      return;
    }
    if (!said) log(`waiting for the machine to go quiet (other processes use ${pct.toFixed(0)}% of a core)`);
    said = true;
  }
}

function cpuSecondsOf(u: NodeJS.CpuUsage): number {
  return (u.user + u.system) / 1e6;
}

async function runOne(server: ServerName, sc: Scenario, base: Omit<LoadOptions, 'url' | 'domain' | 'muc' | 'clients' | 'rooms' | 'rate'>, keep: boolean, tag: string, quietWait: number, prosodyGc: string): Promise<Run> {
  const log = (s: string) => console.error(`[${server}/${sc.name}${tag}] ${s}`);
  await waitQuiet(quietWait, log);
  log('starting server');
  const srv = server === 'prosody' ? await startProsody(keep, prosodyGc) : await startSalon(keep);
  log(`${srv.version} pid ${srv.pid} on ${srv.wsUrl}${keep ? ` (files kept in ${srv.dir})` : ''}`);
  try {
    await sleep(BENCH.baselineSettleMs);
    const samples: Run['samples'] = { baseline: sampleProc(srv.pid) };
    const opts: LoadOptions = {
      ...base,
      url: srv.wsUrl,
      domain: BENCH.domain,
      muc: BENCH.muc,
      clients: sc.clients,
      rooms: sc.rooms,
      rate: sc.rate,
    };
    const load = await runLoad(
      opts,
      (p) => {
        samples[p] = sampleProc(srv.pid);
      },
      log,
    );
    const s = (p: Phase | 'baseline') => samples[p]!;
    const cpu = (a: Phase, b: Phase) => s(b).cpuSeconds - s(a).cpuSeconds;
    const loginCpu = cpu('start', 'logged-in');
    const joinCpu = cpu('logged-in', 'joined');
    const winCpu = cpu('window-start', 'window-end');
    const winWall = (s('window-end').t - s('window-start').t) / 1000;
    const f: Figures = {
      clients: sc.clients,
      rooms: sc.rooms,
      rate: sc.rate,
      loggedIn: load.loggedIn,
      joined: load.joined,
      loginsPerSecond: load.loginsPerSecond,
      loginP50: load.loginLatencyMs.p50,
      loginP99: load.loginLatencyMs.p99,
      cpuMsPerLogin: load.loggedIn ? (loginCpu * 1000) / load.loggedIn : NaN,
      joinSeconds: load.joinSeconds,
      joinsPerSecond: load.joinsPerSecond,
      joinP99: load.joinLatencyMs.p99,
      cpuMsPerJoin: load.joined ? (joinCpu * 1000) / load.joined : NaN,
      offeredDeliveriesPerSecond: load.offeredDeliveriesPerSecond,
      sentPerSecond: load.sentPerSecond,
      deliveriesPerSecond: load.deliveriesPerSecond,
      serverCpuWindowPct: (winCpu / winWall) * 100,
      cpuUsPerDelivery: load.windowDeliveries ? (winCpu * 1e6) / load.windowDeliveries : NaN,
      deliveriesPerCpuSecond: winCpu > 0 ? load.windowDeliveries / winCpu : NaN,
      p50: load.latencyMs.p50,
      p99: load.latencyMs.p99,
      lostDeliveries: load.lostDeliveries,
      errorCount: Object.values(load.errors).reduce((a, b) => a + b, 0),
      baselineRssKb: s('baseline').rssKb,
      idleRssKb: s('idle').rssKb,
      rssPerSessionKb: load.joined ? (s('idle').rssKb - s('baseline').rssKb) / load.joined : NaN,
      peakRssKb: Math.max(...Object.values(samples).map((x) => x!.hwmKb)),
      clientCpuWindowPct: load.clientCpuWindowFraction * 100,
      otherCpuWindowPct: otherCpuPct(s('window-start'), s('window-end')),
      otherCpuLoginPct: otherCpuPct(s('start'), s('joined')),
    };
    const warnings = [...load.warnings];
    if (f.serverCpuWindowPct > 90) {
      warnings.push(`server used ${f.serverCpuWindowPct.toFixed(0)}% of a core in the window: saturated, so deliveries/s is its ceiling and latency is queueing`);
    }
    if (f.deliveriesPerSecond < 0.95 * f.offeredDeliveriesPerSecond) {
      warnings.push(`server delivered ${f.deliveriesPerSecond.toFixed(0)}/s of ${f.offeredDeliveriesPerSecond.toFixed(0)}/s offered: it is falling behind`);
    }
    if (f.otherCpuWindowPct > 15 || f.otherCpuLoginPct > 15) {
      warnings.push(
        `other processes used ${f.otherCpuWindowPct.toFixed(0)}% of a core in the window (${f.otherCpuLoginPct.toFixed(0)}% during login/join): the machine was not quiet, figures are unreliable`,
      );
    }
    const pids = s('window-end').pids;
    if (pids.length > 1) log(`server process tree: ${pids.join(', ')} (CPU and RSS summed)`);
    return { server, version: srv.version, scenario: sc, figures: f, load, warnings, samples };
  } finally {
    log('stopping server');
    await srv.stop();
  }
}

// ---------------------------------------------------------------------------
// Output.

function median(xs: number[]): number {
  const v = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const m = v.length >> 1;
  return v.length % 2 ? v[m]! : (v[m - 1]! + v[m]!) / 2;
}

function medianFigures(runs: Run[]): Figures {
  const out = {} as Figures;
  for (const k of METRIC_KEYS) out[k] = median(runs.map((r) => r.figures[k]));
  return out;
}

const fmt = (n: number, d = 1) => (Number.isFinite(n) ? n.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d }) : '-');

function table(head: string[], rows: string[][]): string {
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join('  ');
  return [line(head), w.map((x) => '-'.repeat(x)).join('  '), ...rows.map(line)].join('\n');
}

const ROWS: Array<[string, (f: Figures) => string]> = [
  ['logged in / joined', (f) => `${fmt(f.loggedIn, 0)} / ${fmt(f.joined, 0)}`],
  ['logins/s', (f) => fmt(f.loginsPerSecond, 0)],
  ['login p50 / p99 ms', (f) => `${fmt(f.loginP50)} / ${fmt(f.loginP99)}`],
  ['server CPU ms per login', (f) => fmt(f.cpuMsPerLogin, 2)],
  ['join phase s', (f) => fmt(f.joinSeconds, 2)],
  ['joins/s', (f) => fmt(f.joinsPerSecond, 0)],
  ['join p99 ms', (f) => fmt(f.joinP99, 0)],
  ['server CPU ms per join', (f) => fmt(f.cpuMsPerJoin, 2)],
  ['offered deliveries/s', (f) => fmt(f.offeredDeliveriesPerSecond, 0)],
  ['deliveries/s', (f) => fmt(f.deliveriesPerSecond, 0)],
  ['server CPU % of a core', (f) => fmt(f.serverCpuWindowPct, 0)],
  ['server CPU µs per delivery', (f) => fmt(f.cpuUsPerDelivery, 1)],
  ['deliveries per CPU-second', (f) => fmt(f.deliveriesPerCpuSecond, 0)],
  ['latency p50 / p99 ms', (f) => `${fmt(f.p50, 2)} / ${fmt(f.p99, 2)}`],
  ['lost deliveries', (f) => fmt(f.lostDeliveries, 0)],
  ['errors', (f) => fmt(f.errorCount, 0)],
  ['baseline RSS MB', (f) => fmt(f.baselineRssKb / 1024, 1)],
  ['idle RSS MB (all joined)', (f) => fmt(f.idleRssKb / 1024, 1)],
  ['RSS KB per idle session', (f) => fmt(f.rssPerSessionKb, 1)],
  ['peak RSS MB', (f) => fmt(f.peakRssKb / 1024, 1)],
  ['client CPU % of a core', (f) => fmt(f.clientCpuWindowPct, 0)],
  ['other processes CPU %', (f) => fmt(f.otherCpuWindowPct, 0)],
];

function scenarioTable(cols: Array<[string, Figures]>): string {
  return table(
    ['metric', ...cols.map(([name]) => name)],
    ROWS.map(([label, get]) => [label, ...cols.map(([, f]) => get(f))]),
  );
}

function ratioTable(p: Figures, s: Figures): string {
  const ratio = (a: number, b: number) => (Number.isFinite(a) && Number.isFinite(b) && b !== 0 ? a / b : NaN);
  const dpc = ratio(s.deliveriesPerCpuSecond, p.deliveriesPerCpuSecond);
  const mem = ratio(s.rssPerSessionKb, p.rssPerSessionKb);
  const verdict = (v: number, ok: boolean, want: string) => (Number.isFinite(v) ? `${ok ? 'PASS' : 'FAIL'} (${want})` : '-');
  const rows: string[][] = [
    ['logins/s', fmt(ratio(s.loginsPerSecond, p.loginsPerSecond), 2), ''],
    ['server CPU per login', fmt(ratio(s.cpuMsPerLogin, p.cpuMsPerLogin), 2), ''],
    ['joins/s', fmt(ratio(s.joinsPerSecond, p.joinsPerSecond), 2), ''],
    ['server CPU per join', fmt(ratio(s.cpuMsPerJoin, p.cpuMsPerJoin), 2), ''],
    ['deliveries/s', fmt(ratio(s.deliveriesPerSecond, p.deliveriesPerSecond), 2), ''],
    ['server CPU per delivery', fmt(ratio(s.cpuUsPerDelivery, p.cpuUsPerDelivery), 2), ''],
    ['deliveries per CPU-second', fmt(dpc, 2), verdict(dpc, dpc >= 2, '>= 2')],
    ['latency p50', fmt(ratio(s.p50, p.p50), 2), ''],
    ['latency p99', fmt(ratio(s.p99, p.p99), 2), ''],
    ['RSS per idle session', fmt(mem, 2), verdict(mem, mem <= 1, '<= 1')],
    ['peak RSS', fmt(ratio(s.peakRssKb, p.peakRssKb), 2), ''],
  ];
  return table(['salon / prosody', 'ratio', 'target'], rows);
}

// ---------------------------------------------------------------------------

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      server: { type: 'string', default: 'both' },
      scenario: { type: 'string', default: 'both' },
      clients: { type: 'string' },
      rooms: { type: 'string' },
      rate: { type: 'string' },
      duration: { type: 'string' },
      warmup: { type: 'string' },
      concurrency: { type: 'string' },
      repeat: { type: 'string' },
      'quiet-wait': { type: 'string' },
      'prosody-gc': { type: 'string', default: 'default' },
      json: { type: 'string' },
      keep: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(`usage: npm run bench:xmpp -- [--server prosody|salon|both] [--scenario spread|one-room|both]
       [--clients N] [--rooms R] [--rate msgs/s/client] [--duration s] [--warmup s]
       [--concurrency N] [--repeat K] [--quiet-wait s] [--json FILE] [--keep]
       [--prosody-gc default|incremental|generational]
scenarios: spread   = ${SCENARIOS.spread.clients} clients, ${SCENARIOS.spread.rooms} rooms, ${SCENARIOS.spread.rate} msg/s per client
           one-room = ${SCENARIOS['one-room'].clients} clients, 1 room, ${SCENARIOS['one-room'].rate} msg/s per client
--clients/--rooms/--rate override every selected scenario; --repeat K runs each
server K times (interleaved) and prints the median of every figure; before each
run it waits up to --quiet-wait seconds (default 120, 0 = off) for other
processes to use < 10% of a core.`);
    return;
  }
  const pick = <T extends string>(v: string, all: readonly T[], what: string): T[] => {
    if (v === 'both') return [...all];
    if ((all as readonly string[]).includes(v)) return [v as T];
    throw new Error(`--${what} must be one of ${all.join(', ')} or both`);
  };
  const servers = pick<ServerName>(values.server!, ['prosody', 'salon'], 'server');
  const scenarioNames = pick<Scenario['name']>(values.scenario!, ['spread', 'one-room'], 'scenario');
  const num = (v: string | undefined, d: number, what: string) => {
    if (v === undefined) return d;
    const n = Number(v);
    if (!(n > 0)) throw new Error(`--${what} must be a positive number`);
    return n;
  };
  const scenarios: Scenario[] = scenarioNames.map((n) => {
    const d = SCENARIOS[n];
    return {
      ...d,
      clients: Math.floor(num(values.clients, d.clients, 'clients')),
      rooms: Math.floor(num(values.rooms, d.rooms, 'rooms')),
      rate: num(values.rate, d.rate, 'rate'),
    };
  });
  const base = {
    ...defaultLoadOptions,
    duration: num(values.duration, defaultLoadOptions.duration, 'duration'),
    warmup: num(values.warmup, defaultLoadOptions.warmup, 'warmup'),
    concurrency: Math.floor(num(values.concurrency, defaultLoadOptions.concurrency, 'concurrency')),
  };
  const repeat = Math.floor(num(values.repeat, 1, 'repeat'));
  const prosodyGc = values['prosody-gc']!;
  if (!['default', 'incremental', 'generational'].includes(prosodyGc)) throw new Error('--prosody-gc must be default, incremental or generational');
  const quietWait = values['quiet-wait'] === '0' ? 0 : num(values['quiet-wait'], 120, 'quiet-wait');

  const cpuModel = os.cpus()[0]?.model ?? 'unknown CPU';
  console.log(`# Salon XMPP benchmark, ${new Date().toISOString()}`);
  console.log(`# ${os.cpus().length} × ${cpuModel}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Linux ${os.release()}, Node ${process.version}, CLK_TCK ${CLK_TCK}`);
  console.log(`# servers: ${servers.join(', ')}; ${repeat} run(s) each, median shown`);
  console.log(
    `# login/join concurrency ${base.concurrency}, settle ${base.settle}s, warm-up ${base.warmup}s, window ${base.duration}s, drain ≤ ${base.drain}s; domain ${BENCH.domain}, MUC ${BENCH.muc}`,
  );

  const all: Run[] = [];
  const failures: string[] = [];
  for (const sc of scenarios) {
    const runs: Run[] = [];
    for (let rep = 1; rep <= repeat; rep++) {
      for (const server of servers) {
        try {
          runs.push(await runOne(server, sc, base, values.keep!, repeat > 1 ? ` #${rep}` : '', quietWait, prosodyGc));
        } catch (e) {
          const msg = `${server}/${sc.name}: ${e instanceof Error ? e.message : String(e)}`;
          failures.push(msg);
          console.error(`FAILED ${msg}`);
        }
      }
    }
    all.push(...runs);
    const cols: Array<[string, Figures]> = [];
    for (const server of servers) {
      const mine = runs.filter((r) => r.server === server);
      if (mine.length) cols.push([server, medianFigures(mine)]);
    }
    if (cols.length === 0) continue;
    const offered = sc.clients * sc.rate * Math.min(sc.clients, Math.ceil(sc.clients / sc.rooms));
    console.log(`\n## ${sc.name}: ${sc.clients} clients in ${sc.rooms} room(s), ${sc.rate} msg/s per client (≈${fmt(offered, 0)} deliveries/s offered)`);
    for (const server of servers) {
      const r = runs.find((x) => x.server === server);
      if (r) console.log(`#   ${server}: ${r.version}`);
    }
    console.log(scenarioTable(cols));
    for (const r of runs) {
      for (const w of r.warnings) console.log(`WARNING (${r.server}): ${w}`);
      for (const e of r.load.errorSamples) console.log(`error sample (${r.server}): ${e}`);
    }
    const p = cols.find(([n]) => n === 'prosody')?.[1];
    const s = cols.find(([n]) => n === 'salon')?.[1];
    if (p && s) {
      console.log(`\n### ${sc.name}: Salon relative to Prosody`);
      console.log(ratioTable(p, s));
    }
  }
  if (values.json) {
    writeFileSync(values.json, JSON.stringify(all, null, 2));
    console.error(`results written to ${values.json}`);
  }
  if (failures.length) {
    console.log(`\n${failures.length} run(s) failed:\n${failures.map((f) => `  ${f}`).join('\n')}`);
    process.exitCode = 1;
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? (e.stack ?? e.message) : e);
  process.exit(1);
});
