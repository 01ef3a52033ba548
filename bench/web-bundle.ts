// Size of the web client as the server builds it (web/server/bundle.ts): raw, gzip and brotli
// bytes of every entry, chunk and style sheet, and what a conference page loads before anyone
// opens the shared document (the app entry, the chunks it imports statically and its CSS; the
// editor's dynamically imported chunk excluded), against the 300 KiB gzip budget.
// Not a test: `npm run bench:web` (or `node --import tsx bench/web-bundle.ts`).
//
// Prints one JSON line (for scripts) then a table. Exits 1 when the budget is exceeded.

import { buildClientBundle, staticClosure, type OutputInfo } from '../web/server/bundle.ts';

const BUDGET_GZIP_BYTES = 300 * 1024;

const bundle = await buildClientBundle();
const outputs = new Map(bundle.outputs.map((o) => [o.name, o]));
const initialNames = [bundle.app.script, ...staticClosure(bundle.app.script, outputs), ...bundle.app.styles];
const initial = initialNames.map((name) => outputs.get(name)).filter((o): o is OutputInfo => o !== undefined);
const padNames = [bundle.pad.script, ...bundle.pad.preloads, ...bundle.pad.styles];
const sum = (list: readonly OutputInfo[], key: 'bytes' | 'gzipBytes' | 'brotliBytes'): number => list.reduce((n, o) => n + o[key], 0);
const api = bundle.externalApi;

const report = {
  bench: 'web-bundle',
  node: process.version,
  buildMs: bundle.buildMs,
  outputs: bundle.outputs.map(({ name, kind, entryPoint, bytes, gzipBytes, brotliBytes, dynamicImports }) => ({
    name, kind, ...(entryPoint ? { entryPoint } : {}), bytes, gzipBytes, brotliBytes, ...(dynamicImports.length ? { dynamicImports } : {}),
  })),
  externalApi: { bytes: api.body.length, gzipBytes: api.gzip?.length ?? api.body.length, brotliBytes: api.brotli?.length ?? api.body.length },
  conferencePageBeforeEditor: {
    files: initialNames,
    bytes: sum(initial, 'bytes'),
    gzipBytes: sum(initial, 'gzipBytes'),
    brotliBytes: sum(initial, 'brotliBytes'),
    budgetGzipBytes: BUDGET_GZIP_BYTES,
  },
};
console.log(JSON.stringify(report));

const kib = (n: number): string => `${(n / 1024).toFixed(1)} KiB`;
const rows: string[][] = [
  ['file', 'kind', 'raw', 'gzip', 'brotli', 'loaded'],
  ...bundle.outputs.map((o) => [
    o.name, o.kind, kib(o.bytes), kib(o.gzipBytes), kib(o.brotliBytes),
    // A lazily loaded module's CSS is already in its importer's sheet: esbuild emits it, no page links it.
    initialNames.includes(o.name) ? 'at start' : padNames.includes(o.name) ? 'pad page' : o.kind === 'css' ? 'not linked' : 'on demand',
  ]),
  ['external_api.js', 'iife', kib(api.body.length), kib(api.gzip?.length ?? api.body.length), kib(api.brotli?.length ?? api.body.length), 'by integrators'],
];
const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
console.log(`\nweb client bundle, built in ${bundle.buildMs} ms (esbuild + gzip/brotli), Node ${process.version}`);
for (const row of rows) console.log(row.map((cell, i) => (i < 2 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  '));
const { gzipBytes } = report.conferencePageBeforeEditor;
console.log(`\nconference page before the editor: ${kib(gzipBytes)} gzip (${initialNames.length} files) — budget ${kib(BUDGET_GZIP_BYTES)}: ${gzipBytes <= BUDGET_GZIP_BYTES ? 'within' : 'OVER'}`);
if (gzipBytes > BUDGET_GZIP_BYTES) process.exitCode = 1;
