import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { serverNodeFlags } from '../../../bench/server-command.ts';

const root = new URL('../../../', import.meta.url);
const scripts = (JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as { scripts: Record<string, string> }).scripts;

/** The Node flags of a `node [flags…] config/salon.js …` command line. */
function flagsBefore(command: string): string[] {
  const words = command.trim().split(/\s+/);
  const entry = words.indexOf('config/salon.js');
  assert.ok(words[0] === 'node' && entry > 0, `"node [flags] config/salon.js": ${command}`);
  return words.slice(1, entry);
}

describe('the server\'s Node flags', () => {
  it('are the same for npm start, npm run salon and the salon executable\'s shebang', () => {
    const start = serverNodeFlags();
    assert.ok(start.some((flag) => flag.startsWith('--max-semi-space-size=')), `npm start sets the young generation: ${start.join(' ')}`);
    assert.deepEqual(flagsBefore(scripts.salon!), start);
    const shebang = readFileSync(new URL('config/salon.js', root), 'utf8').split('\n', 1)[0]!;
    const match = /^#!\/usr\/bin\/env -S node((?: --\S+)*)$/.exec(shebang);
    assert.ok(match, `config/salon.js starts with "#!/usr/bin/env -S node [flags]": ${shebang}`);
    assert.deepEqual(match[1]!.trim().split(/\s+/).filter(Boolean), start);
  });

  it('are read from a start script of the expected form only', () => {
    assert.deepEqual(serverNodeFlags('node --a=1 --b config/salon.js start'), ['--a=1', '--b']);
    assert.deepEqual(serverNodeFlags('node config/salon.js start'), []);
    assert.throws(() => serverNodeFlags('tsx config/salon.js start'), /not "node \[flags\] config\/salon.js start"/);
    assert.throws(() => serverNodeFlags('node --a config/salon.js bridge'), /not "node/);
    assert.throws(() => serverNodeFlags('node --a x config/salon.js start'), /passes x to node/);
  });
});
