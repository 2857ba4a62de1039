/**
 * `pnpm start`: one exchange node with its HTTP and WebSocket API.
 *
 *   PORT (default 8080; 0 picks a free port), HOST (default 127.0.0.1),
 *   DATA_DIR (default ./data), CONFIG or --config <file> (default: the
 *   embedded demo), LOG_LEVEL (default info), SNAPSHOT_EVERY (entries
 *   between snapshots, default 10000), ATTEST_EVERY_ENTRIES (entries between
 *   attestations, default 10000), ATTEST_EVERY_MS (log time between
 *   attestations while there is activity, default 1000), MAXIMUM_PENDING
 *   (transactions in flight in the node before it answers 429, default
 *   4096), RATE_LIMITS (`off` disables the per-IP and per-key limits, for
 *   benchmarks on loopback; default on), MAX_CONNECTIONS (open connections
 *   in total, default 10000, lowered to what the open-file limit leaves after
 *   DESCRIPTOR_RESERVE, default 1200, descriptors kept for storage),
 *   MAX_CONNECTIONS_PER_IP (default 256), --demo or DEMO (`spot`, the
 *   default, or `margin`: the demo with USDC, SOL and BTC borrowable, the
 *   built-in price feed and keeper; `pnpm start` passes --demo margin),
 *   PRICE_FEED, PRICE_FEED_INTERVAL_MS and KEEPER (margin-services.ts),
 *   CUSTODY (`local` or `off`; unset: a local chain for the embedded margin
 *   demo if anvil starts, the config file's custody section's chain if it
 *   has one, none otherwise; local-custody.ts, external-custody.ts),
 *   CUSTODY_OPERATOR_KEY_FILE or CUSTODY_OPERATOR_KEY (the vault operator's
 *   chain key for the config file's chain).
 *
 * On start it prints the URL and the operator public key. SIGTERM or SIGINT
 * shuts down gracefully: no new requests, in-flight ones finish, the node
 * syncs everything it acknowledged and closes, the log is flushed, exit 0.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { pino, type Logger } from 'pino';
import { ExchangeNode, RecoveryError } from '@vex/ledger';
import { applyListings, BootstrapError } from './bootstrap.js';
import { custodyInfoOf } from './custody-config.js';
import { openConfiguredCustody } from './external-custody.js';
import type { LocalCustody } from './local-custody.js';
import { assetInfoOf, ConfigError, demoConfig, genesisOf, parseConfig, type ExchangeConfig } from './config.js';
import { defaultConnectionLimits } from './connection-guard.js';
import {
  connectionBudget,
  defaultDescriptorReserve,
  readOpenFileLimit,
  type OpenFileLimit,
} from './descriptor-budget.js';
import { demoMarginSettings } from './margin-config.js';
import { startMarginServices, type MarginServices } from './margin-services.js';
import { keeperKeyFileName, loadOrCreateOperatorKey, OperatorKeyError } from './operator-key.js';
import { buildServer } from './server.js';

const shutdownTimeoutMs = 30_000;

async function loadConfig(file: string | undefined, demo: string): Promise<ExchangeConfig> {
  if (file === undefined) return demo === 'margin' ? demoMarginSettings() : demoConfig();
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new ConfigError(`Cannot read the config file ${file}: ${(error as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`The config file ${file} is not valid JSON: ${(error as Error).message}`);
  }
  return parseConfig(json, file);
}

function parsePort(text: string | undefined): number {
  if (text === undefined || text === '') return 8080;
  const port = Number(text);
  if (!Number.isInteger(port) || port < 0 || port > 65_535)
    throw new ConfigError(`PORT must be 0 to 65535, not ${text}.`);
  return port;
}

/**
 * A positive whole-number setting (SNAPSHOT_EVERY, ATTEST_EVERY_ENTRIES, ATTEST_EVERY_MS, MAXIMUM_PENDING);
 * undefined keeps the node's default.
 */
function parsePositiveSetting(name: string, text: string | undefined, unit: string): number | undefined {
  if (text === undefined || text === '') return undefined;
  const value = Number(text);
  if (!/^[0-9]+$/.test(text) || !Number.isSafeInteger(value) || value < 1) {
    throw new ConfigError(`${name} must be a positive whole number of ${unit}, not ${text}.`);
  }
  return value;
}

/**
 * SIGNATURE_HANDOFF is read by the signature pool itself (signature-pool.ts); checked here so that a typo stops
 * start-up.
 */
function checkSignatureHandoff(text: string | undefined): void {
  if (text === undefined || text === '' || text === 'ring' || text === 'messages') return;
  throw new ConfigError(`SIGNATURE_HANDOFF must be ring or messages, not ${text}.`);
}

function parseRateLimits(text: string | undefined): false | undefined {
  if (text === undefined || text === '' || text === 'on') return undefined;
  if (text === 'off') return false;
  throw new ConfigError(`RATE_LIMITS must be on or off, not ${text}.`);
}

/** The node's settings from the command line and the environment (see the header). */
function readSettings() {
  // `pnpm start -- --config x` may pass the `--` through.
  const args = process.argv.slice(2).filter((arg) => arg !== '--');
  const { values } = parseArgs({
    args,
    options: { config: { type: 'string' }, demo: { type: 'string' } },
    allowPositionals: false,
  });
  const environment = process.env;
  // `pnpm start` passes --demo margin: the demo with borrowable assets, the price feed and the keeper.
  const demo = values.demo ?? environment.DEMO ?? 'spot';
  if (demo !== 'spot' && demo !== 'margin') throw new ConfigError(`--demo must be spot or margin, not ${demo}.`);
  const setting = (name: string, unit: string) => parsePositiveSetting(name, environment[name], unit);
  checkSignatureHandoff(environment.SIGNATURE_HANDOFF);
  return {
    demo,
    configFile:
      values.config ?? (environment.CONFIG !== undefined && environment.CONFIG !== '' ? environment.CONFIG : undefined),
    dataDirectory: resolve(environment.DATA_DIR ?? './data'),
    host: environment.HOST ?? '127.0.0.1',
    port: parsePort(environment.PORT),
    snapshotEveryEntries: setting('SNAPSHOT_EVERY', 'entries'),
    attestEveryEntries: setting('ATTEST_EVERY_ENTRIES', 'entries'),
    attestEveryMs: setting('ATTEST_EVERY_MS', 'milliseconds'),
    maximumPendingTransactions: setting('MAXIMUM_PENDING', 'transactions'),
    rateLimits: parseRateLimits(environment.RATE_LIMITS),
    maximumConnectionsWanted: setting('MAX_CONNECTIONS', 'connections') ?? defaultConnectionLimits.maximumConnections,
    maximumConnectionsPerIp:
      setting('MAX_CONNECTIONS_PER_IP', 'connections') ?? defaultConnectionLimits.maximumConnectionsPerIp,
    descriptorReserve: setting('DESCRIPTOR_RESERVE', 'descriptors') ?? defaultDescriptorReserve,
  };
}

type Settings = ReturnType<typeof readSettings>;

/** MAX_CONNECTIONS as far as the open-file limit allows it, after DESCRIPTOR_RESERVE. */
function connectionBounds(settings: Settings): {
  maximumConnections: number;
  openFileLimit: OpenFileLimit | undefined;
} {
  const openFileLimit = readOpenFileLimit();
  try {
    const maximumConnections = connectionBudget(
      openFileLimit,
      settings.descriptorReserve,
      settings.maximumConnectionsWanted,
    );
    return { maximumConnections, openFileLimit };
  } catch (error) {
    throw new ConfigError((error as Error).message);
  }
}

function logConnectionBounds(
  logger: Logger,
  settings: Settings,
  { maximumConnections, openFileLimit }: ReturnType<typeof connectionBounds>,
): void {
  const { descriptorReserve, maximumConnectionsPerIp, maximumConnectionsWanted } = settings;
  logger.info(
    {
      openFileLimit: openFileLimit?.soft,
      openFileHardLimit: openFileLimit?.hard,
      descriptorReserve,
      maximumConnections,
      maximumConnectionsPerIp,
    },
    'connection bounds',
  );
  if (maximumConnections < maximumConnectionsWanted) {
    logger.warn(
      { maximumConnectionsWanted, maximumConnections },
      'the open-file limit lowers MAX_CONNECTIONS; raise the hard limit (docs/operator.md)',
    );
  }
}

/** What runs once the node is open; the shutdown closes whatever of it has started. */
interface Running {
  readonly node: ExchangeNode;
  readonly localCustody: LocalCustody | undefined;
  app?: ReturnType<typeof buildServer>;
  margin?: MarginServices;
}

/** On SIGTERM or SIGINT: stop the margin services, the HTTP server, the local chain and the node, then exit. */
function handleShutdownSignals(running: Running, logger: Logger): void {
  const { node, localCustody } = running;
  let shuttingDown = false;
  const shutdown = async (signal: string): Promise<void> => {
    if (shuttingDown) return;
    shuttingDown = true;
    logger.info({ signal }, 'shutting down: finishing in-flight requests');
    const timer = setTimeout(() => {
      const exit = (openConnections?: number): void => {
        logger.error({ openConnections, head: node.head() }, 'shutdown took too long; exiting');
        logger.flush();
        process.exit(1);
      };
      if (running.app === undefined) exit();
      else running.app.server.getConnections((_error, count) => exit(count));
    }, shutdownTimeoutMs);
    timer.unref();
    let exitCode = 0;
    await running.margin?.stop();
    try {
      await running.app?.close();
    } catch (error) {
      exitCode = 1;
      logger.error({ err: error }, 'closing the HTTP server failed');
    }
    await localCustody
      ?.stop()
      .catch((error: unknown) => logger.error({ err: error }, 'stopping the local chain failed'));
    try {
      await node.close();
    } catch (error) {
      exitCode = 1;
      logger.error({ err: error }, 'closing the node failed');
    }
    logger.info({ head: node.head() }, 'stopped');
    logger.flush((error) => {
      if (error !== undefined && error !== null) exitCode = 1;
      process.exit(exitCode);
    });
  };
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));
}

/** The operator key (created on first start), the custody chain (local or the config's), and the node. */
async function openNode(settings: Settings, config: ExchangeConfig, logger: Logger) {
  const { dataDirectory } = settings;
  await mkdir(dataDirectory, { recursive: true });
  const operator = await loadOrCreateOperatorKey(dataDirectory);
  if (operator.created) logger.info({ file: operator.file }, 'generated a new operator key');
  if (operator.warning !== undefined) logger.warn(operator.warning);

  const genesis = genesisOf(config, operator.key.publicKey);
  // Attestations are signed with this node's operator key; one that is not a genesis operator key would sign
  // attestations no verifier accepts, so the node then makes none (and says so).
  const canAttest = genesis.operatorKeys.includes(operator.key.publicKey);
  if (!canAttest) {
    logger.warn(
      { operatorKey: operator.key.publicKey },
      "attestations are off: this node's operator key is not a genesis operator key",
    );
  }
  // A local anvil with demo tokens and the vault, and the custody service (local-custody.ts): on by default in the
  // embedded margin demo (`pnpm start`), CUSTODY=local requires it, CUSTODY=off turns it off. Otherwise the config
  // file's custody section, if any, names an external chain the service runs against (external-custody.ts).
  const embeddedMarginDemo = settings.configFile === undefined && settings.demo === 'margin';
  const localCustody = await openConfiguredCustody(process.env, embeddedMarginDemo, config, (why) => logger.warn(why));
  const { snapshotEveryEntries, attestEveryEntries, attestEveryMs, maximumPendingTransactions } = settings;
  const node = await ExchangeNode.open({
    dataDirectory,
    genesis,
    logger,
    ...(localCustody !== undefined ? { onAttestationMade: localCustody.onAttestationMade } : {}),
    ...(snapshotEveryEntries !== undefined ? { snapshotEveryEntries } : {}),
    ...(attestEveryEntries !== undefined ? { attestEveryEntries } : {}),
    ...(attestEveryMs !== undefined ? { attestEveryMs } : {}),
    ...(maximumPendingTransactions !== undefined ? { maximumPendingTransactions } : {}),
    ...(canAttest ? { attestationSigningSeed: operator.key.seed } : {}),
  });
  return { node, operator, canAttest, localCustody };
}

/** The built-in keeper signs liquidations with its own key, never the operator's (docs/operator.md). */
async function loadKeeperKey(dataDirectory: string, logger: Logger) {
  const keeperKey = await loadOrCreateOperatorKey(dataDirectory, process.env.KEEPER_KEY_FILE ?? keeperKeyFileName);
  if (keeperKey.created) logger.info({ file: keeperKey.file }, 'generated a new keeper key');
  if (keeperKey.warning !== undefined) logger.warn(keeperKey.warning);
  return keeperKey;
}

async function main(): Promise<void> {
  const settings = readSettings();
  const { dataDirectory, host, port } = settings;
  const bounds = connectionBounds(settings);
  const logger = pino({ level: process.env.LOG_LEVEL ?? 'info' });
  logConnectionBounds(logger, settings, bounds);

  const config = await loadConfig(settings.configFile, settings.demo);
  const { node, operator, canAttest, localCustody } = await openNode(settings, config, logger);
  const running: Running = { node, localCustody };
  handleShutdownSignals(running, logger);

  const listenBacklog = 4_096;
  let app: ReturnType<typeof buildServer> | undefined;
  try {
    const listed = await applyListings(node, operator.key, config);
    if (listed.length > 0) logger.info({ listed }, 'listed assets and markets');
    const onCustodyError = (error: unknown) => logger.warn({ err: error }, 'custody service');
    const custodyOn =
      (await localCustody?.start(node, operator.key.seed, onCustodyError, (why) => logger.warn(why))) ?? false;
    if (custodyOn)
      logger.info(
        localCustody!.info,
        config.custody !== undefined && process.env.CUSTODY !== 'local' ? 'custody chain' : 'local custody chain',
      );
    app = buildServer({
      node,
      logger,
      assets: assetInfoOf(config),
      ...(config.depositAddresses !== undefined ? { depositAddresses: config.depositAddresses } : {}),
      ...(config.custody !== undefined ? { custody: custodyInfoOf(config.custody) } : {}),
      ...(custodyOn ? { custody: localCustody!.info } : {}),
      connectionLimits: {
        maximumConnections: bounds.maximumConnections,
        maximumConnectionsPerIp: settings.maximumConnectionsPerIp,
      },
      ...(settings.rateLimits === false ? { rateLimits: settings.rateLimits } : {}),
    });
    running.app = app;
    // Node's default accept backlog (511) overflows when a thousand clients
    // connect at once, and the overflow waits on TCP retransmits (seconds);
    // Linux caps the figure at net.core.somaxconn.
    await app.listen({ host, port, backlog: listenBacklog });
    const keeperKey = await loadKeeperKey(dataDirectory, logger);
    running.margin = startMarginServices({
      node,
      seed: operator.key.seed,
      keeperSeed: keeperKey.key.seed,
      isOperator: canAttest,
      demo: settings.configFile === undefined && settings.demo === 'margin',
      environment: process.env,
      logger,
    });
  } catch (error) {
    // Start-up failed after the ledger opened: release it cleanly before exiting.
    await app?.close().catch(() => undefined);
    await localCustody?.stop().catch(() => undefined);
    await node.close().catch(() => undefined);
    throw error;
  }
  const address = app.server.address();
  const boundPort = typeof address === 'object' && address !== null ? address.port : port;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${boundPort}`;
  process.stdout.write(
    `exchange listening on ${url}\noperator public key ${operator.key.publicKey}\ndata directory ${dataDirectory}\n`,
  );
}

main().catch((error: unknown) => {
  if (error instanceof RecoveryError) process.stderr.write(`${error.describe()}\n`);
  else if (error instanceof ConfigError || error instanceof OperatorKeyError || error instanceof BootstrapError) {
    process.stderr.write(`error: ${error.message}\n`);
  } else process.stderr.write(`error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
