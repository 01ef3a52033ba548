/**
 * Builds the Config from its four layers: defaults < file (--config / SALON_CONFIG, JSON)
 * < environment (docker-jitsi-meet's names) < command-line flags. The only module that reads
 * process.env. A bad value becomes one ConfigError line naming the key, where it came from
 * and what is wrong.
 */
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { configSchema, type Config } from './schema.ts';

export class ConfigError extends Error {
  override name = 'ConfigError';
}

type Kind = 'string' | 'int' | 'bool' | 'list' | 'words' | 'tls' | 'rate';
/** `set`: a flag that takes no value and sets this one (`--no-bridge`). */
interface Setting { path: string; kind: Kind; set?: unknown }

/** Environment variables, named as docker-jitsi-meet names them where it has a name. */
export const envSettings: Record<string, Setting> = {
  PUBLIC_URL: { path: 'publicUrl', kind: 'string' },
  SALON_STATE_DIR: { path: 'stateDir', kind: 'string' },
  LOG_LEVEL: { path: 'log.level', kind: 'string' },
  HTTP_PORT: { path: 'http.port', kind: 'int' },
  HTTPS_PORT: { path: 'http.httpsPort', kind: 'int' },
  HTTP_HOST: { path: 'http.host', kind: 'string' },
  SALON_TLS: { path: 'http.tls', kind: 'tls' },
  TLS_CERT_FILE: { path: 'http.certFile', kind: 'string' },
  TLS_KEY_FILE: { path: 'http.keyFile', kind: 'string' },
  XMPP_DOMAIN: { path: 'xmpp.domain', kind: 'string' },
  XMPP_AUTH_DOMAIN: { path: 'xmpp.authDomain', kind: 'string' },
  XMPP_GUEST_DOMAIN: { path: 'xmpp.guestDomain', kind: 'string' },
  XMPP_MUC_DOMAIN: { path: 'xmpp.mucDomain', kind: 'string' },
  XMPP_INTERNAL_MUC_DOMAIN: { path: 'xmpp.internalMucDomain', kind: 'string' },
  XMPP_PORT: { path: 'xmpp.c2s.port', kind: 'int' },
  XMPP_COMPONENT_PORT: { path: 'xmpp.components.port', kind: 'int' },
  XMPP_RESTRICT_ROOM_CREATION: { path: 'xmpp.restrictRoomCreation', kind: 'bool' },
  XMPP_PASSWORD_STORAGE: { path: 'xmpp.passwordStorage', kind: 'string' },
  ENABLE_AV_MODERATION: { path: 'xmpp.avModeration', kind: 'bool' },
  ENABLE_END_CONFERENCE: { path: 'xmpp.endConference', kind: 'bool' },
  ENABLE_LOBBY: { path: 'xmpp.lobby.enabledByDefault', kind: 'bool' },
  PROSODY_C2S_LIMIT: { path: 'xmpp.limits.c2sBytesPerSecond', kind: 'rate' },
  ENABLE_AUTH: { path: 'auth.enabled', kind: 'bool' },
  ENABLE_GUESTS: { path: 'auth.guests', kind: 'bool' },
  AUTH_TYPE: { path: 'auth.type', kind: 'string' },
  SALON_MODERATORS: { path: 'auth.moderators', kind: 'string' },
  JWT_APP_ID: { path: 'auth.jwt.appId', kind: 'string' },
  JWT_APP_SECRET: { path: 'auth.jwt.appSecret', kind: 'string' },
  JWT_ACCEPTED_ISSUERS: { path: 'auth.jwt.acceptedIssuers', kind: 'list' },
  JWT_ACCEPTED_AUDIENCES: { path: 'auth.jwt.acceptedAudiences', kind: 'list' },
  JWT_PUBLIC_KEY_FILE: { path: 'auth.jwt.publicKeyFile', kind: 'string' },
  JWT_JWKS_FILE: { path: 'auth.jwt.jwksFile', kind: 'string' },
  OIDC_ISSUER: { path: 'auth.oidc.issuer', kind: 'string' },
  OIDC_CLIENT_ID: { path: 'auth.oidc.clientId', kind: 'string' },
  OIDC_CLIENT_SECRET: { path: 'auth.oidc.clientSecret', kind: 'string' },
  OIDC_CLIENT_SECRET_FILE: { path: 'auth.oidc.clientSecretFile', kind: 'string' },
  OIDC_SCOPES: { path: 'auth.oidc.scopes', kind: 'words' },
  OIDC_REDIRECT_URL: { path: 'auth.oidc.redirectUrl', kind: 'string' },
  OIDC_ALLOWED_DOMAINS: { path: 'auth.oidc.allowedDomains', kind: 'list' },
  OIDC_TOKEN_TTL: { path: 'auth.oidc.tokenTtlSeconds', kind: 'int' },
  TURN_CREDENTIALS: { path: 'turn.secret', kind: 'string' },
  TURN_TTL: { path: 'turn.ttlSeconds', kind: 'int' },
  JVB_PORT: { path: 'media.port', kind: 'int' },
  JVB_ADVERTISE_IPS: { path: 'media.advertiseIps', kind: 'list' },
  SALON_BRIDGE_NATIVE: { path: 'media.native', kind: 'string' },
  SALON_BRIDGE_UDP_GSO: { path: 'media.udpSegmentation', kind: 'bool' },
  ENABLE_CODEC_VP9: { path: 'video.vp9', kind: 'bool' },
  ENABLE_CODEC_AV1: { path: 'video.av1', kind: 'bool' },
  ENABLE_CODEC_H264: { path: 'video.h264', kind: 'bool' },
  SALON_BRIDGE: { path: 'bridge.enabled', kind: 'bool' },
  JVB_MUC_NICKNAME: { path: 'bridge.id', kind: 'string' },
  JVB_OCTO_REGION: { path: 'bridge.region', kind: 'string' },
  SALON_BRIDGE_LOUDEST_AUDIO: { path: 'bridge.loudestAudio', kind: 'int' },
  SALON_BRIDGE_LOAD_REDUCER: { path: 'bridge.loadReducer', kind: 'bool' },
  SALON_BRIDGE_HEALTH_CHECK_MS: { path: 'bridge.healthCheckMs', kind: 'int' },
  JVB_BREWERY_MUC: { path: 'bridge.brewery', kind: 'string' },
  JVB_AUTH_USER: { path: 'bridge.user', kind: 'string' },
  JVB_AUTH_PASSWORD: { path: 'bridge.password', kind: 'string' },
  XMPP_SERVER: { path: 'bridge.xmppServer', kind: 'string' },
  SALON_XMPP_TLS: { path: 'bridge.xmppTls', kind: 'string' },
  SALON_XMPP_CA_FILE: { path: 'bridge.xmppCaFile', kind: 'string' },
  SALON_FRAME_ANCESTORS: { path: 'web.frameAncestors', kind: 'words' },
  SALON_CONNECT_SOURCES: { path: 'web.connectSources', kind: 'words' },
};

/** Command-line flags (`--http-port 8000` or `--http-port=8000`). */
export const flagSettings: Record<string, Setting> = {
  '--public-url': { path: 'publicUrl', kind: 'string' },
  '--state-dir': { path: 'stateDir', kind: 'string' },
  '--log-level': { path: 'log.level', kind: 'string' },
  '--http-port': { path: 'http.port', kind: 'int' },
  '--https-port': { path: 'http.httpsPort', kind: 'int' },
  '--http-host': { path: 'http.host', kind: 'string' },
  '--tls': { path: 'http.tls', kind: 'tls' },
  '--xmpp-port': { path: 'xmpp.c2s.port', kind: 'int' },
  '--component-port': { path: 'xmpp.components.port', kind: 'int' },
  '--media-port': { path: 'media.port', kind: 'int' },
  '--domain': { path: 'xmpp.domain', kind: 'string' },
  '--no-bridge': { path: 'bridge.enabled', kind: 'bool', set: false },
  '--bridge-id': { path: 'bridge.id', kind: 'string' },
  '--region': { path: 'bridge.region', kind: 'string' },
  '--xmpp-server': { path: 'bridge.xmppServer', kind: 'string' },
  '--xmpp-tls': { path: 'bridge.xmppTls', kind: 'string' },
  '--xmpp-ca-file': { path: 'bridge.xmppCaFile', kind: 'string' },
};

function convert(raw: string, kind: Kind, label: string): unknown {
  switch (kind) {
    case 'string':
      return raw;
    case 'tls':
      return raw === 'true' || raw === '1' ? 'self-signed' : raw === 'false' || raw === '0' ? 'off' : raw;
    case 'int':
      if (!/^\d+$/.test(raw.trim())) throw new ConfigError(`${label}: expected a whole number, got ${JSON.stringify(raw)}`);
      return Number(raw.trim());
    case 'bool': {
      const v = raw.trim().toLowerCase();
      if (['1', 'true', 'yes', 'on'].includes(v)) return true;
      if (['0', 'false', 'no', 'off', ''].includes(v)) return false;
      throw new ConfigError(`${label}: expected true or false, got ${JSON.stringify(raw)}`);
    }
    case 'rate': {
      // Prosody's notation: "10kb/s", "512b/s", "1mb/s" (kb = 1024 bytes, as mod_limits reads it).
      const m = /^(\d+)\s*(b|kb|mb)?(?:\/s)?$/i.exec(raw.trim());
      if (!m) throw new ConfigError(`${label}: expected a rate such as 10kb/s, got ${JSON.stringify(raw)}`);
      const unit = (m[2] ?? 'b').toLowerCase();
      return Number(m[1]) * (unit === 'mb' ? 1024 * 1024 : unit === 'kb' ? 1024 : 1);
    }
    case 'list':
      return raw.split(',').map((s) => s.trim()).filter(Boolean);
    case 'words':
      // Space-separated, as CSP source lists are written.
      return raw.split(/\s+/).filter(Boolean);
  }
}

/**
 * docker-jitsi-meet's STUN/TURN variables (its Prosody template) as the `turn.servers` list:
 * STUN_HOST with STUN_PORT over UDP; each of the comma-separated TURN_HOST with TURN_PORT, once per
 * transport of the comma-separated TURN_TRANSPORT; each TURNS_HOST with TURNS_PORT over TCP. Ports
 * default to 443 and TURN_TRANSPORT to tcp, as there. Undefined when none of the hosts is set, so
 * a list from the config file stays.
 */
function turnServersFromEnv(env: NodeJS.ProcessEnv, sources: Map<string, string>): unknown[] | undefined {
  const list = (name: string): string[] => convert(env[name] ?? '', 'list', name) as string[];
  const portOf = (name: string): number => (env[name] ? convert(env[name], 'int', name) as number : 443);
  const servers: Array<Record<string, unknown>> = [];
  const add = (server: Record<string, unknown>, hostVar: string, portVar: string, transportVar?: string): void => {
    const at = `turn.servers.${servers.length}`;
    sources.set(`${at}.host`, hostVar);
    sources.set(`${at}.port`, portVar);
    if (transportVar) sources.set(`${at}.transport`, transportVar);
    servers.push(server);
  };
  for (const host of list('STUN_HOST')) add({ type: 'stun', host, port: portOf('STUN_PORT'), transport: 'udp' }, 'STUN_HOST', 'STUN_PORT');
  const transports = env.TURN_TRANSPORT ? list('TURN_TRANSPORT') : ['tcp'];
  for (const host of list('TURN_HOST')) {
    for (const transport of transports) add({ type: 'turn', host, port: portOf('TURN_PORT'), transport }, 'TURN_HOST', 'TURN_PORT', 'TURN_TRANSPORT');
  }
  for (const host of list('TURNS_HOST')) add({ type: 'turns', host, port: portOf('TURNS_PORT'), transport: 'tcp' }, 'TURNS_HOST', 'TURNS_PORT');
  return servers.length ? servers : undefined;
}

function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split('.');
  let node = target;
  for (const key of keys.slice(0, -1)) {
    const next = node[key];
    node = (typeof next === 'object' && next !== null ? next : (node[key] = {})) as Record<string, unknown>;
  }
  node[keys[keys.length - 1]!] = value;
}

function merge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out = { ...base };
  for (const [key, value] of Object.entries(over)) {
    const prev = out[key];
    out[key] = isPlainObject(prev) && isPlainObject(value) ? merge(prev, value) : value;
  }
  return out;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Names that are never configuration keys and that JavaScript objects give a meaning to. zod skips
 * `__proto__` in a record without a word (`xmpp.components.secrets` took `{"__proto__": …}` and
 * kept nothing), and takes `constructor` or `prototype` there as a component's domain.
 */
const RESERVED_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

/**
 * The parsed file without its reserved keys, at any depth; each one found goes into `found` as the
 * path of the object holding it and the key, so it is refused with the file's other problems.
 */
function withoutReservedKeys(value: unknown, path: string, found: Array<{ path: string; key: string }>): unknown {
  if (Array.isArray(value)) return value.map((item, i) => withoutReservedKeys(item, path ? `${path}.${i}` : String(i), found));
  if (!isPlainObject(value)) return value;
  const kept: Array<[string, unknown]> = [];
  for (const [key, item] of Object.entries(value)) {
    if (RESERVED_KEYS.has(key)) found.push({ path, key });
    else kept.push([key, withoutReservedKeys(item, path ? `${path}.${key}` : key, found)]);
  }
  return Object.fromEntries(kept);
}

/** Where the value at `path` (or the nearest enclosing one) was set. */
function sourceOf(sources: ReadonlyMap<string, string>, path: string): string | undefined {
  for (let at = path; at; at = at.slice(0, Math.max(0, at.lastIndexOf('.')))) {
    const source = sources.get(at);
    if (source) return source;
  }
  return undefined;
}

export function defaultStateDir(env: NodeJS.ProcessEnv): string {
  const dataHome = env.XDG_DATA_HOME || join(homedir(), '.local', 'share');
  return join(dataHome, 'salon');
}

export interface LoadedConfig {
  config: Config;
  /** Arguments that were not configuration flags (sub-command arguments). */
  rest: string[];
}

/** Reads every layer and validates once; throws ConfigError with one line. */
export function loadConfig(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): LoadedConfig {
  const sources = new Map<string, string>(); // config path → where it was set
  let layer: Record<string, unknown> = {};
  const reserved: Array<{ path: string; key: string }> = [];
  const rest: string[] = [];

  // Flags first (to find --config), applied last.
  const flagLayer: Record<string, unknown> = {};
  let configFile = env.SALON_CONFIG;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const eq = arg.indexOf('=');
    const name = arg.startsWith('--') && eq !== -1 ? arg.slice(0, eq) : arg;
    const takeValue = (): string => {
      if (eq !== -1) return arg.slice(eq + 1);
      const value = argv[++i];
      if (value === undefined) throw new ConfigError(`${name}: a value is required`);
      return value;
    };
    if (name === '--config') {
      configFile = takeValue();
      continue;
    }
    const setting = flagSettings[name];
    if (!setting) {
      rest.push(arg);
      continue;
    }
    if (setting.set !== undefined) {
      if (eq !== -1) throw new ConfigError(`${name} takes no value`);
      setPath(flagLayer, setting.path, setting.set);
      sources.set(setting.path, name);
      continue;
    }
    setPath(flagLayer, setting.path, convert(takeValue(), setting.kind, name));
    sources.set(setting.path, name);
  }

  if (configFile) {
    let text: string;
    try {
      text = readFileSync(resolve(configFile), 'utf8');
    } catch (err) {
      throw new ConfigError(`config file ${configFile}: ${(err as Error).message}`);
    }
    try {
      const parsed: unknown = JSON.parse(text);
      if (!isPlainObject(parsed)) throw new Error('not a JSON object');
      layer = withoutReservedKeys(parsed, '', reserved) as Record<string, unknown>;
    } catch (err) {
      throw new ConfigError(`config file ${configFile}: ${(err as Error).message}`);
    }
  }

  const envLayer: Record<string, unknown> = {};
  for (const [name, setting] of Object.entries(envSettings)) {
    const raw = env[name];
    if (raw === undefined || raw === '') continue;
    setPath(envLayer, setting.path, convert(raw, setting.kind, name));
    sources.set(setting.path, name);
  }

  const turnServers = turnServersFromEnv(env, sources);
  if (turnServers) setPath(envLayer, 'turn.servers', turnServers);

  let input = merge(merge(layer, envLayer), flagLayer);
  if (input.stateDir === undefined) input = { ...input, stateDir: defaultStateDir(env) };

  const result = configSchema.safeParse(input);
  if (!result.success || reserved.length) {
    const problems = reserved.map(({ path, key }) => `${path || '(top)'} (in ${configFile}): Unrecognized key: ${JSON.stringify(key)}`);
    for (const issue of result.error?.issues ?? []) {
      const path = issue.path.join('.');
      const where = sourceOf(sources, path) ?? (configFile ? `in ${configFile}` : undefined);
      const keys = issue.code === 'unrecognized_keys' ? ` ${issue.keys.join(', ')}` : '';
      problems.push(`${path || '(top)'}${where ? ` (${where})` : ''}: ${issue.message}${keys}`);
    }
    throw new ConfigError(`bad configuration: ${problems.join('; ')}`);
  }
  const value = result.data;
  if (value.http.tls === 'files' && (!value.http.certFile || !value.http.keyFile)) {
    const where = sources.get('http.tls') ?? (configFile ? `in ${configFile}` : undefined);
    throw new ConfigError(`http.tls${where ? ` (${where})` : ''}: 'files' requires http.certFile and http.keyFile`);
  }
  const jwt = value.auth.jwt;
  if (value.auth.enabled && value.auth.type === 'jwt') {
    const where = sources.get('auth.type') ?? (configFile ? `in ${configFile}` : undefined);
    if (!jwt.appSecret && !jwt.publicKeyFile && !jwt.jwksFile) {
      throw new ConfigError(`auth.type${where ? ` (${where})` : ''}: 'jwt' requires JWT_APP_SECRET, JWT_PUBLIC_KEY_FILE or JWT_JWKS_FILE`);
    }
    if (!jwt.appId && jwt.acceptedIssuers.length === 0) {
      throw new ConfigError(`auth.type${where ? ` (${where})` : ''}: 'jwt' requires JWT_APP_ID or JWT_ACCEPTED_ISSUERS`);
    }
  }
  const config: Config = {
    ...value,
    publicUrl: (value.publicUrl ?? `http://localhost:${value.http.port}`).replace(/\/+$/, ''),
    xmpp: { ...value.xmpp, focusDomain: value.xmpp.focusDomain ?? `focus.${value.xmpp.domain}` },
  };
  return { config, rest };
}

/**
 * The shortest shared secret an HS256 token may be signed with: the hash's size (RFC 7518 §3.2,
 * "a key of the same size as the hash output … or larger MUST be used").
 */
export const MIN_JWT_SECRET_BYTES = 32;

/**
 * What a valid configuration still gets wrong, one sentence each, for the start to log as warnings:
 * values Jitsi deployments carry over (so refusing them would stop a migration) but that weaken
 * the service.
 */
export function configWarnings(config: Config): string[] {
  const warnings: string[] = [];
  const { auth } = config;
  const secret = auth.jwt.appSecret;
  // With AUTH_TYPE=oidc it signs the tokens Salon mints for every agent who signs in.
  if (auth.enabled && (auth.type === 'jwt' || auth.type === 'oidc') && secret !== undefined && secret !== '') {
    const bytes = Buffer.byteLength(secret, 'utf8');
    if (bytes < MIN_JWT_SECRET_BYTES) {
      warnings.push(`JWT_APP_SECRET has ${bytes} bytes, HS256 needs ${MIN_JWT_SECRET_BYTES} at least (RFC 7518 §3.2): whoever holds one token `
        + 'can try secrets offline until one verifies it, then sign moderator tokens for any room; use a random one (openssl rand -hex 32)');
    }
  }
  if (!config.turn.secret && config.turn.servers.some((s) => s.type !== 'stun')) {
    warnings.push('TURN servers are announced without credentials: set TURN_CREDENTIALS to the TURN server\'s shared secret');
  }
  return warnings;
}
