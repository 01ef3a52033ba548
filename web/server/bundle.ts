/**
 * Builds the web client and `/external_api.js` in memory with esbuild, once per server start, and
 * holds the result as immutable assets (each with its gzip and brotli forms, compressed here once)
 * for the HTTP front to serve. Nothing is written to disk and nothing is fetched: every module
 * comes from this repository and node_modules.
 *
 * Two builds run side by side:
 * - the client: entries `web/client/main.tsx` (the app) and `web/client/pad-page.tsx` (the shared
 *   document's own page), ES modules with code splitting, so a dynamic `import()` (the editor)
 *   becomes a chunk fetched on demand; CSS imported from TS becomes .css files; every file name
 *   carries its content hash (`[name]-[hash]`), so it can be cached forever;
 * - the iframe API for integrators and the desktop app: `web/external-api/external-api.ts` as one
 *   classic script (IIFE) that sets `window.JitsiMeetExternalAPI`, under its fixed name.
 */
import { createHash } from 'node:crypto';
import { basename, dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { brotliCompress, constants as zlib, gzip } from 'node:zlib';
import { build, formatMessages, type BuildFailure, type BuildResult, type Message, type Metafile, type OutputFile } from 'esbuild';

const gzipAsync = promisify(gzip);
const brotliAsync = promisify(brotliCompress);

/** The repository root (this file is web/server/bundle.ts). */
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** Where esbuild pretends to write; only the base names reach URLs. */
const OUT_DIR = join(ROOT, 'assets');

export const CLIENT_ENTRIES = { app: 'web/client/main.tsx', pad: 'web/client/pad-page.tsx' } as const;
export const EXTERNAL_API_ENTRY = 'web/external-api/external-api.ts';

/**
 * Browsers the client is built for: current Chromium, Firefox (from the 115 ESR) and Safari 16,
 * which all run ES2022 modules natively; esbuild lowers only what one of them lacks.
 */
export const CLIENT_TARGET = ['chrome110', 'edge110', 'firefox115', 'safari16'];
/** Integrator pages may be older than our own visitors; the API script is plain ES2019. */
const EXTERNAL_API_TARGET = ['es2019'];

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.webp': 'image/webp',
  '.woff2': 'font/woff2',
  '.woff': 'font/woff',
  '.mp3': 'audio/mpeg',
  '.ogg': 'audio/ogg',
  '.wav': 'audio/wav',
  '.txt': 'text/plain; charset=utf-8',
};
/** Files imported from TS or CSS that are copied as hashed assets rather than inlined. */
const FILE_LOADERS = Object.fromEntries(
  ['.svg', '.png', '.jpg', '.webp', '.woff2', '.woff', '.mp3', '.ogg', '.wav'].map((ext) => [ext, 'file' as const]),
);
/** Already-compressed formats gain nothing from gzip or brotli. */
const COMPRESSIBLE = new Set(['.js', '.css', '.json', '.svg', '.txt']);
/** Below this size the compressed forms are not worth a Vary header. */
const MIN_COMPRESS_BYTES = 512;

/** One file the front serves, with its precompressed forms (absent when they would not be smaller). */
export interface Asset {
  /** The URL name: `main-4F2K7Q3A.js` under /assets/, or `external_api.js`. */
  readonly name: string;
  readonly contentType: string;
  readonly body: Buffer;
  readonly gzip: Buffer | undefined;
  readonly brotli: Buffer | undefined;
  /** A strong validator of the body (quoted, as the ETag header carries it). */
  readonly etag: string;
}

/** What an HTML page needs to load one entry: the module, the modules it imports statically, its CSS. */
export interface PageEntry {
  /** Asset name of the entry module. */
  readonly script: string;
  /** Asset names of the chunks the entry imports statically (announced with modulepreload). */
  readonly preloads: readonly string[];
  /** Asset names of the CSS bundles of the entry. */
  readonly styles: readonly string[];
}

/** Size figures of one output, for logs and bench/web-bundle.ts. */
export interface OutputInfo {
  readonly name: string;
  /** `entry`: a page's module; `chunk`: shared or loaded with import(); `css`; `file`: images, fonts, sounds. */
  readonly kind: 'entry' | 'chunk' | 'css' | 'file';
  /** The source it was built from, for an entry or a module loaded with import(). */
  readonly entryPoint: string | undefined;
  readonly bytes: number;
  readonly gzipBytes: number;
  readonly brotliBytes: number;
  /** Asset names this output imports with static `import` statements. */
  readonly staticImports: readonly string[];
  /** Asset names this output loads with `import()`. */
  readonly dynamicImports: readonly string[];
}

/** The built client, made once (see `buildClientBundle`) and shared by every front that serves it. */
export interface ClientBundle {
  /** The hashed files, by URL name (the part after /assets/). */
  readonly assets: ReadonlyMap<string, Asset>;
  readonly app: PageEntry;
  readonly pad: PageEntry;
  /** `/external_api.js`. */
  readonly externalApi: Asset;
  /** Wall-clock milliseconds the builds and the compression took. */
  readonly buildMs: number;
  readonly outputs: readonly OutputInfo[];
  /** esbuild warnings, formatted, for the caller to log. */
  readonly warnings: readonly string[];
}

export class ClientBuildError extends Error {
  override name = 'ClientBuildError';
}

function contentTypeOf(name: string): string {
  return CONTENT_TYPES[extname(name)] ?? 'application/octet-stream';
}

function etagOf(body: Uint8Array): string {
  return `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`;
}

async function makeAsset(name: string, contents: Uint8Array): Promise<Asset> {
  const body = Buffer.from(contents.buffer, contents.byteOffset, contents.byteLength);
  const compressible = COMPRESSIBLE.has(extname(name)) && body.length >= MIN_COMPRESS_BYTES;
  const [gz, br] = compressible
    ? await Promise.all([
      gzipAsync(body, { level: 9 }),
      brotliAsync(body, {
        params: {
          [zlib.BROTLI_PARAM_QUALITY]: zlib.BROTLI_MAX_QUALITY,
          [zlib.BROTLI_PARAM_MODE]: zlib.BROTLI_MODE_TEXT,
          [zlib.BROTLI_PARAM_SIZE_HINT]: body.length,
        },
      }),
    ])
    : [undefined, undefined];
  return {
    name,
    contentType: contentTypeOf(name),
    body,
    gzip: gz && gz.length < body.length ? gz : undefined,
    brotli: br && br.length < body.length ? br : undefined,
    etag: etagOf(body),
  };
}

async function formatted(messages: Message[], kind: 'error' | 'warning'): Promise<string[]> {
  return messages.length ? formatMessages(messages, { kind, color: false }) : [];
}

/** esbuild's failure as one error that names every problem (file, line, what is wrong). */
async function buildError(what: string, err: unknown): Promise<Error> {
  const failure = err as Partial<BuildFailure>;
  if (!Array.isArray(failure.errors)) return err instanceof Error ? err : new Error(String(err));
  const text = (await formatted(failure.errors, 'error')).join('').trim();
  return new ClientBuildError(`${what} does not build:\n${text}`);
}

async function buildClient(): Promise<BuildResult<{ write: false; metafile: true }>> {
  try {
    return await build({
      absWorkingDir: ROOT,
      entryPoints: Object.values(CLIENT_ENTRIES),
      bundle: true,
      write: false,
      metafile: true,
      outdir: OUT_DIR,
      format: 'esm',
      splitting: true,
      platform: 'browser',
      target: CLIENT_TARGET,
      minify: true,
      charset: 'utf8',
      jsx: 'automatic',
      jsxImportSource: 'preact',
      entryNames: '[name]-[hash]',
      chunkNames: '[name]-[hash]',
      assetNames: '[name]-[hash]',
      loader: FILE_LOADERS,
      define: { 'process.env.NODE_ENV': '"production"' },
      logLevel: 'silent',
    });
  } catch (err) {
    throw await buildError('the web client', err);
  }
}

async function buildExternalApi(): Promise<BuildResult<{ write: false }>> {
  try {
    return await build({
      absWorkingDir: ROOT,
      entryPoints: [EXTERNAL_API_ENTRY],
      bundle: true,
      write: false,
      outfile: join(OUT_DIR, 'external_api.js'),
      format: 'iife',
      platform: 'browser',
      target: EXTERNAL_API_TARGET,
      minify: true,
      charset: 'utf8',
      logLevel: 'silent',
    });
  } catch (err) {
    throw await buildError('/external_api.js', err);
  }
}

/** The names of the outputs reachable from `start` through static imports, `start` excluded. */
export function staticClosure(start: string, outputs: ReadonlyMap<string, OutputInfo>): string[] {
  const seen = new Set<string>([start]);
  const queue = [start];
  for (let name = queue.shift(); name !== undefined; name = queue.shift()) {
    for (const next of outputs.get(name)?.staticImports ?? []) {
      if (!seen.has(next)) {
        seen.add(next);
        queue.push(next);
      }
    }
  }
  seen.delete(start);
  return [...seen];
}

function pageEntry(metafile: Metafile, entryPoint: string, outputs: ReadonlyMap<string, OutputInfo>): PageEntry {
  const found = Object.entries(metafile.outputs).find(([, out]) => out.entryPoint === entryPoint);
  if (!found) throw new ClientBuildError(`the web client build has no output for ${entryPoint}`);
  const [path, out] = found;
  const script = basename(path);
  const preloads = staticClosure(script, outputs).filter((name) => name.endsWith('.js'));
  const styles = out.cssBundle ? [basename(out.cssBundle)] : [];
  return { script, preloads, styles };
}

function outputKind(name: string, out: Metafile['outputs'][string]): OutputInfo['kind'] {
  // esbuild also names an entry point for each module loaded with import(); those are chunks here.
  const entries: readonly string[] = Object.values(CLIENT_ENTRIES);
  if (out.entryPoint !== undefined && entries.includes(out.entryPoint) && name.endsWith('.js')) return 'entry';
  if (name.endsWith('.js')) return 'chunk';
  if (name.endsWith('.css')) return 'css';
  return 'file';
}

/**
 * Builds the client and the iframe API and compresses every text file: one to three seconds on a
 * two-core machine, most of it brotli at its best quality (the caller logs `buildMs`). Rejects
 * with a ClientBuildError that lists esbuild's errors when a source does not compile, so a broken
 * client stops the server at start, not a visitor later. See `sharedClientBundle` for reuse.
 */
export async function buildClientBundle(): Promise<ClientBundle> {
  const started = performance.now();
  const [client, api] = await Promise.all([buildClient(), buildExternalApi()]);
  const warnings = [
    ...(await formatted(client.warnings, 'warning')),
    ...(await formatted(api.warnings, 'warning')),
  ].map((w) => w.trim());

  const files: OutputFile[] = client.outputFiles;
  const assetList = await Promise.all(files.map((file) => makeAsset(basename(file.path), file.contents)));
  const assets = new Map(assetList.map((asset) => [asset.name, asset]));
  const apiFile = api.outputFiles[0];
  if (!apiFile) throw new ClientBuildError('/external_api.js: esbuild produced no output');
  const externalApi = await makeAsset('external_api.js', apiFile.contents);

  const infos = new Map<string, OutputInfo>();
  for (const [path, out] of Object.entries(client.metafile.outputs)) {
    const name = basename(path);
    const asset = assets.get(name);
    if (!asset) continue; // source maps and the like, which this build does not emit
    infos.set(name, {
      name,
      kind: outputKind(name, out),
      entryPoint: out.entryPoint,
      bytes: asset.body.length,
      gzipBytes: asset.gzip?.length ?? asset.body.length,
      brotliBytes: asset.brotli?.length ?? asset.body.length,
      staticImports: out.imports.filter((i) => i.kind === 'import-statement' && !i.external).map((i) => basename(i.path)),
      dynamicImports: out.imports.filter((i) => i.kind === 'dynamic-import' && !i.external).map((i) => basename(i.path)),
    });
  }
  const app = pageEntry(client.metafile, CLIENT_ENTRIES.app, infos);
  const pad = pageEntry(client.metafile, CLIENT_ENTRIES.pad, infos);
  return {
    assets,
    app,
    pad,
    externalApi,
    buildMs: Math.round(performance.now() - started),
    outputs: [...infos.values()],
    warnings,
  };
}

let shared: Promise<ClientBundle> | undefined;

/**
 * The process's one build, made on first call and shared by every later one: the sources do not
 * change while a process runs, and tests start many servers in one process. A failed build stays
 * failed (the sources would fail again). `startSalon` uses it unless handed a bundle of its own.
 */
export function sharedClientBundle(): Promise<ClientBundle> {
  shared ??= buildClientBundle();
  return shared;
}
