// --perf: where the server's CPU goes over the measured window, by Linux `perf` (sampling every
// thread of the server process), in categories that say what a change of the forwarding path can
// and cannot remove. The JavaScript profiler (--cpu-prof) charges native calls, system calls
// included, to the JavaScript that made them; perf sees the kernel, OpenSSL and the addon apart.
// Method and figures: bench/README.md, "What a forwarding path without JavaScript could reach".

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';

/** Samples per second and thread (perf's software clock: virtual machines rarely expose hardware counters). */
const FREQUENCY = 999;

export interface PerfRecording {
  /** Stops recording and waits until perf has written its file. */
  stop(): Promise<void>;
  readonly file: string;
}

/**
 * Whether `perf record` can sample another process here: undefined when it can, else why not (not
 * installed, or not allowed: kernel.perf_event_paranoid above 1 without CAP_PERFMON).
 */
export function perfUnavailable(): string | undefined {
  const version = spawnSync('perf', ['--version'], { encoding: 'utf8' });
  if (version.error || version.status !== 0) return 'perf is not installed (Debian: linux-perf)';
  const probe = spawnSync('perf', ['record', '-F', String(FREQUENCY), '-o', '/dev/null', '--', 'true'], { encoding: 'utf8' });
  if (probe.status !== 0) return `perf record is not allowed here: ${(probe.stderr || '').trim().split('\n')[0] ?? ''}`;
  return undefined;
}

/** Starts sampling every thread of `pid`, with call chains (the kernel's split by system call needs them). */
export async function recordPerf(pid: number, file: string): Promise<PerfRecording> {
  const child: ChildProcess = spawn('perf', ['record', '-F', String(FREQUENCY), '-g', '-p', String(pid), '-o', file], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = once(child, 'exit');
  return {
    file,
    async stop() {
      if (child.exitCode === null) child.kill('SIGINT'); // perf writes its file on SIGINT
      const [code] = (await exited) as [number | null];
      if (code !== 0 && code !== null) throw new Error(`perf record exited with ${code}: ${stderr.trim()}`);
    },
  };
}

/** One category's share of the server's samples, and its CPU per forwarded packet. */
export interface PerfCategory {
  name: string;
  pct: number;
  usPerPacket: number;
}

export interface PerfBreakdown {
  samples: number;
  categories: PerfCategory[];
  /**
   * What no change to Salon's JavaScript can take away: the kernel, OpenSSL, the addon and the C
   * libraries, per forwarded packet (µs), and the forwarded packets per CPU-second that alone would allow.
   */
  floorUsPerPacket: number;
  ceilingPpsPerCore: number;
}

/** The self time of a sample's symbol, by what it is (perf report's dso and symbol columns). */
export function categoryOf(dso: string, symbol: string): string {
  if (dso.startsWith('[kernel')) return 'kernel';
  if (/^\[JIT\]|^\[unknown\]|perf-\d+\.map/.test(dso) || symbol.startsWith('JS:')) return 'javascript';
  if (/salon_media\.node/.test(dso)) return 'addon';
  if (/libcrypto|libssl/.test(dso)) return 'openssl';
  if (/^(node|libnode)/.test(dso)) {
    // Node links OpenSSL into its binary: its symbols tell it apart from V8's and Node's own.
    return /aes|gcm|ghash|gmult|sha1|sha256|hmac|^EVP_|^evp_|^ossl_|^OSSL_|^CRYPTO_|^OPENSSL_|^ERR_|^BN_|^ctr|^md_|^HMAC/i.test(symbol.replace(/^\[\.\] /, '')) ? 'openssl' : 'v8+node';
  }
  return 'c libraries'; // libc, libstdc++, libm, the loader, the vdso
}

/**
 * The breakdown of a `perf record` file: self samples by category, and the kernel's share split by
 * the system call it was spent in (inclusive, from the call chains), with the loopback delivery
 * to the load generator's sockets apart (net_rx_action: on a deployed bridge, a network card's).
 * `cpuSeconds` and `forwarded` (packets) are the window's, for the per-packet figures.
 */
export function perfBreakdown(file: string, cpuSeconds: number, forwarded: number): PerfBreakdown {
  const report = (args: string[]): string[] => {
    const run = spawnSync('perf', ['report', '-i', file, '--stdio', '-g', 'none', '--percent-limit', '0', '-t', '|', ...args], { encoding: 'utf8', maxBuffer: 64 << 20 });
    if (run.status !== 0) throw new Error(`perf report: ${run.stderr.trim()}`);
    return run.stdout.split('\n').filter((line) => line.trim() !== '' && !line.startsWith('#'));
  };
  let samples = 0;
  for (const line of report(['--no-children', '--sort', 'comm', '-n'])) samples += Number.parseInt(line.split('|')[1] ?? '', 10) || 0;
  return breakdownOf(report(['--no-children', '--sort', 'dso,sym']), report(['--children', '--sort', 'sym']), samples, cpuSeconds, forwarded);
}

/**
 * {@link perfBreakdown} from perf report's lines: `self` as "pct|dso|symbol" (--no-children --sort
 * dso,sym), `inclusive` as "children|self|symbol" (--children --sort sym), fields separated by "|".
 */
export function breakdownOf(self: readonly string[], inclusive: readonly string[], samples: number, cpuSeconds: number, forwarded: number): PerfBreakdown {
  const shares = new Map<string, number>();
  for (const line of self) {
    const [pct, dso, symbol] = line.split('|').map((field) => field.trim());
    const value = Number.parseFloat(pct ?? '');
    if (!Number.isFinite(value)) continue;
    const category = categoryOf(dso ?? '', symbol ?? '');
    shares.set(category, (shares.get(category) ?? 0) + value);
  }
  // Inclusive shares of the kernel's entry points.
  const entries = new Map<string, number>();
  for (const line of inclusive) {
    const [children, , symbol] = line.split('|').map((field) => field.trim());
    const name = (symbol ?? '').replace(/^\[k\] /, '');
    const value = Number.parseFloat(children ?? '');
    if (Number.isFinite(value)) entries.set(name, Math.max(entries.get(name) ?? 0, value));
  }
  const kernel = shares.get('kernel') ?? 0;
  const send = entries.get('__x64_sys_sendmmsg') ?? 0;
  const loopback = entries.get('net_rx_action') ?? 0;
  const receive = entries.get('__x64_sys_recvmmsg') ?? 0;
  const wait = (entries.get('__x64_sys_epoll_pwait') ?? 0) + (entries.get('__x64_sys_epoll_wait') ?? 0);
  const perPacket = (pct: number): number => (forwarded > 0 ? ((pct / 100) * cpuSeconds * 1e6) / forwarded : NaN);
  const category = (name: string, pct: number): PerfCategory => ({ name, pct: round(pct, 1), usPerPacket: round(perPacket(pct), 2) });
  const categories = [
    category('javascript', shares.get('javascript') ?? 0),
    category('v8+node (builtins, collector, runtime)', shares.get('v8+node') ?? 0),
    category('openssl', shares.get('openssl') ?? 0),
    category('addon', shares.get('addon') ?? 0),
    category('c libraries', shares.get('c libraries') ?? 0),
    category('kernel', kernel),
    category('  sendmmsg', send),
    category('    of which loopback delivery', Math.min(loopback, send)),
    category('  recvmmsg', receive),
    category('  epoll wait (sleep, wake-up)', wait),
    category('  other', Math.max(0, kernel - send - receive - wait)),
  ];
  const floorPct = kernel + (shares.get('openssl') ?? 0) + (shares.get('addon') ?? 0) + (shares.get('c libraries') ?? 0);
  const floorUs = perPacket(floorPct);
  return { samples, categories, floorUsPerPacket: round(floorUs, 2), ceilingPpsPerCore: round(1e6 / floorUs, -2) };
}

/** The breakdown as lines under a run's JSON line. */
export function formatBreakdown(b: PerfBreakdown): string {
  const lines = [`  perf, the window (${b.samples} samples at ${FREQUENCY} Hz, every thread): % of the server's samples, µs of CPU per forwarded packet`];
  for (const c of b.categories) lines.push(`  ${c.name.padEnd(42)} ${c.pct.toFixed(1).padStart(5)} %  ${c.usPerPacket.toFixed(2).padStart(6)} µs`);
  lines.push(`  without any JavaScript or V8 work (kernel, OpenSSL, addon, C libraries): ${b.floorUsPerPacket} µs per forwarded packet, at most ${b.ceilingPpsPerCore} per CPU-second`);
  return lines.join('\n');
}

function round(value: number, digits: number): number {
  if (!Number.isFinite(value)) return value;
  if (digits >= 0) return Number(value.toFixed(digits));
  const unit = 10 ** -digits;
  return Math.round(value / unit) * unit;
}
