/**
 * `npm run bench:bridge` as a newcomer runs it, made short: the synthetic participants join a real
 * server (its own process, through the focus, Jingle and the bridge channel), send simulcast video
 * and audio for two seconds, and the benchmark prints its JSON line and its table. What is checked
 * is the shape of the output and that media went through the bridge, not any speed.
 */
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';

const root = new URL('../../', import.meta.url);
const scripts = (JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as { scripts: Record<string, string> }).scripts;

/** The figures the issue asks the benchmark to print, each a number. */
const FIGURES = ['forwardedPps', 'cpuSeconds', 'ppsPerCore', 'p50ms', 'p99ms', 'lossPct'] as const;

describe('npm run bench:bridge (a short run of one room of three)', function () {
  this.timeout(90_000);

  it('prints one JSON line with the figures, then the table, with packets forwarded and none lost', async () => {
    // The npm script's own command, with its Node flags, arguments appended as `npm run … --` would.
    const words = scripts['bench:bridge']!.trim().split(/\s+/);
    assert.equal(words[0], 'node', `bench:bridge runs node: ${scripts['bench:bridge']}`);
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [...words.slice(1), '--scenario', '1x3', '--warmup', '1', '--duration', '2'], {
      cwd: root,
      env: { ...process.env, NODE_OPTIONS: '' },
      maxBuffer: 8 * 1024 * 1024,
      timeout: 80_000,
    });
    const lines = stdout.split('\n').filter((l) => l.length > 0);
    const json = lines.filter((l) => l.startsWith('{'));
    assert.equal(json.length, 1, `one JSON line for one scenario run once:\n${stdout}\n${stderr}`);
    const result = JSON.parse(json[0]!) as Record<string, unknown>;
    assert.equal(result.scenario, '1x3');
    for (const key of FIGURES) assert.ok(typeof result[key] === 'number' && Number.isFinite(result[key]), `${key} is a number: ${json[0]}`);
    const figures = result as Record<(typeof FIGURES)[number], number>;
    // Three participants each sending three layers and audio: each receiver gets one layer of each
    // other and their audio, some hundreds of packets a second in all.
    assert.ok(figures.forwardedPps > 200, `the bridge forwarded packets: ${json[0]}`);
    assert.ok(figures.cpuSeconds > 0 && figures.ppsPerCore > figures.forwardedPps, `CPU measured, under a core: ${json[0]}`);
    assert.ok(figures.p50ms >= 0 && figures.p99ms >= figures.p50ms, `delays ordered: ${json[0]}`);
    assert.equal(figures.lossPct, 0, `no loss on loopback at this load: ${json[0]}`);
    // The table: a header naming the scenario, then a row per figure.
    const header = lines.findIndex((l) => /^\s+1x3\s*$/.test(l));
    assert.ok(header > lines.indexOf(json[0]!), `the table follows the JSON line:\n${stdout}`);
    for (const key of FIGURES) assert.ok(lines.slice(header + 1).some((l) => new RegExp(`^${key}\\s+\\S`).test(l)), `the table has a ${key} row:\n${stdout}`);
  });
});
