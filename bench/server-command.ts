// How the benchmarks start Salon: as `npm start` does, with the Node flags of package.json's
// `start` script (the young generation's size among them), so that a change there is measured.

import { readFileSync } from 'node:fs';

const packageJson = new URL('../package.json', import.meta.url);

/**
 * The Node flags `npm start` passes before config/salon.js, e.g. `['--max-semi-space-size=4']`.
 * @throws when the script does not have the form `node [flags…] config/salon.js start`
 */
export function serverNodeFlags(script = (JSON.parse(readFileSync(packageJson, 'utf8')) as { scripts: Record<string, string> }).scripts.start!): string[] {
  const words = script.trim().split(/\s+/);
  const entry = words.indexOf('config/salon.js');
  if (words[0] !== 'node' || entry < 0 || words[entry + 1] !== 'start') throw new Error(`package.json's start script is not "node [flags] config/salon.js start": ${script}`);
  const flags = words.slice(1, entry);
  const notFlag = flags.find((word) => !word.startsWith('--'));
  if (notFlag !== undefined) throw new Error(`package.json's start script passes ${notFlag} to node, not a flag`);
  return flags;
}
