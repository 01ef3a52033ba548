/**
 * The `salon` command. It lives in config/ because turning arguments and environment into a
 * Config is most of its work; it then hands the Config to the roles it starts.
 *
 *   salon start [flags]                  every role in one process (the default)
 *   salon bridge [flags]                 a videobridge alone, joining a Salon on another machine
 *   salon user add|passwd|remove JID     manage accounts (password read from stdin)
 *   salon user list
 */
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { AccountStore } from '../xmpp/accounts.ts';
import { parseJid } from '../xmpp/jid.ts';
import { ConfigError, loadConfig } from './load.ts';
import type { Logger } from 'pino';
import { startStandaloneBridge } from './start-bridge.ts';
import { createLogger, startSalon } from './start.ts';
import { ensureStateDir } from './state.ts';

const USAGE = `usage: salon <command> [flags]
  start                       start every role (XMPP, focus, bridge, web) in one process
                              (--no-bridge: all but the bridge; media goes to remote bridges)
  bridge                      start a videobridge alone: it logs in to the XMPP server at
                              --xmpp-server HOST[:PORT] as JVB_AUTH_USER with JVB_AUTH_PASSWORD
  user add JID                create an account (password read from stdin or prompted;
                              kept as XMPP_PASSWORD_STORAGE says: scrypt, the default, or scram)
  user passwd JID             change its password
  user remove JID             delete it
  user list                   list accounts
flags: --config FILE --state-dir DIR --http-port N --https-port N --tls off|self-signed|files
       --media-port N --xmpp-port N --component-port N --public-url URL --domain D --log-level L
       --no-bridge --bridge-id ID --region R --xmpp-server HOST[:PORT] --xmpp-tls verify|insecure
       --xmpp-ca-file FILE`;

async function readPassword(prompt: string): Promise<string> {
  const rl = createInterface({ input: process.stdin, output: process.stdin.isTTY ? process.stderr : undefined, terminal: Boolean(process.stdin.isTTY) });
  if (process.stdin.isTTY) process.stderr.write(prompt);
  try {
    for await (const line of rl) return line.trim();
    throw new Error('no password given on stdin');
  } finally {
    rl.close();
  }
}

async function userCommand(args: string[], argv: string[]): Promise<void> {
  const { config } = loadConfig(argv);
  const [action, target] = args;
  await ensureStateDir(config.stateDir);
  // New and changed passwords are kept the way the server is configured to keep them.
  const accounts = await AccountStore.open(join(config.stateDir, 'accounts.json'), { storage: config.xmpp.passwordStorage });
  if (action === 'list') {
    for (const jid of accounts.list()) console.log(jid);
    return;
  }
  if (!target) throw new ConfigError(`user ${action ?? ''}: a JID is required`);
  const jid = parseJid(target.includes('@') ? target : `${target}@${config.xmpp.domain}`);
  if (jid.resource || !jid.local) throw new ConfigError(`${target}: expected user@domain`);
  switch (action) {
    case 'add':
      if (accounts.has(jid.bare)) throw new ConfigError(`${jid.bare} already exists (use: salon user passwd)`);
      await accounts.setPassword(jid.bare, await readPassword(`password for ${jid.bare}: `));
      console.log(`created ${jid.bare}`);
      return;
    case 'passwd':
      if (!accounts.has(jid.bare)) throw new ConfigError(`${jid.bare} does not exist`);
      await accounts.setPassword(jid.bare, await readPassword(`new password for ${jid.bare}: `));
      console.log(`changed the password of ${jid.bare}`);
      return;
    case 'remove':
      if (!(await accounts.remove(jid.bare))) throw new ConfigError(`${jid.bare} does not exist`);
      console.log(`removed ${jid.bare}`);
      return;
    default:
      throw new ConfigError(USAGE);
  }
}

/** Runs until SIGINT or SIGTERM, then closes `handle` and exits. */
function stopOnSignals(handle: { close(): Promise<void> }, log: Logger): void {
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping');
    handle.close().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err }, 'stopped with errors');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

async function start(argv: string[]): Promise<void> {
  const { config, rest } = loadConfig(argv);
  if (rest.length) throw new ConfigError(`unknown argument ${rest[0]}\n${USAGE}`);
  const log = createLogger(config);
  const salon = await startSalon(config, log);
  log.info({
    http: salon.ports.http, https: salon.ports.https || undefined, c2s: salon.ports.c2s || undefined,
    components: salon.ports.components || undefined, media: salon.ports.media || undefined, publicUrl: config.publicUrl, stateDir: config.stateDir,
  }, `Salon is listening: open ${config.publicUrl}`);
  stopOnSignals(salon, log);
}

async function bridge(argv: string[]): Promise<void> {
  const { config, rest } = loadConfig(argv);
  if (rest.length) throw new ConfigError(`unknown argument ${rest[0]}\n${USAGE}`);
  const log = createLogger(config);
  const handle = await startStandaloneBridge(config, log);
  stopOnSignals(handle, log);
}

export async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  try {
    if (command === 'start') return await start(rest);
    if (command === 'bridge') return await bridge(rest);
    if (command === 'user') {
      const flagsAt = rest.findIndex((a) => a.startsWith('--'));
      const args = flagsAt === -1 ? rest : rest.slice(0, flagsAt);
      return await userCommand(args, flagsAt === -1 ? [] : rest.slice(flagsAt));
    }
    if (command === 'focus') throw new ConfigError('salon focus: running this role alone is not available yet; use salon start');
    console.error(USAGE);
    process.exitCode = command === undefined || command === 'help' || command === '--help' ? 0 : 2;
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`salon: ${err.message}`);
      process.exitCode = 2;
      return;
    }
    console.error('salon: failed to start:', err instanceof Error ? err.message : err);
    process.exitCode = 1;
  }
}

await main(process.argv.slice(2));
