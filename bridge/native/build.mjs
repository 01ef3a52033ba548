// Builds the bridge's native media path (salon_media.cc) with node-gyp, as `npm install` runs it.
// A machine without a C++ compiler still installs: the bridge then uses its TypeScript path
// (bridge/native/index.ts says which one runs, and the test suite checks the native one is there
// unless SALON_BRIDGE_NATIVE=off).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
if (process.env.SALON_BRIDGE_NATIVE === 'off') {
  console.log('salon: SALON_BRIDGE_NATIVE=off, the native media path is not built');
  process.exit(0);
}
// Build against the headers installed with the running Node when they are there (no download);
// otherwise node-gyp's own choice (npm's nodedir setting, or its header cache).
const prefix = resolve(process.execPath, '..', '..');
const nodedir = existsSync(join(prefix, 'include', 'node', 'node_api.h')) ? [`--nodedir=${prefix}`] : [];
// npm puts its own node-gyp on the PATH of the scripts it runs.
const result = spawnSync('node-gyp', ['rebuild', '--loglevel=warn', ...nodedir], { cwd: here, stdio: 'inherit', shell: process.platform === 'win32' });
if (result.status !== 0) {
  console.warn('salon: the native media path did not build (a C++ compiler, make and python3 are needed); the bridge will use its TypeScript path');
}
