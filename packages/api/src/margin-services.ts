/**
 * What `pnpm start` runs beside the API for margin (docs/operator.md,
 * "Prices and the keeper"): the price feed the operator chose and the
 * built-in keeper. Settings (environment):
 *   PRICE_FEED: `demo` (the built-in walk; the default for the embedded demo)
 *     or `off` (the default with a config file: prices come from
 *     `pnpm exchange price` or the operator's own tool);
 *   PRICE_FEED_INTERVAL_MS: between the demo feed's rounds (default 2000);
 *   KEEPER: `on` (default) or `off`;
 *   KEEPER_KEY_FILE: the keeper's key file (default `${DATA_DIR}/keeper-key.json`, generated on first start).
 */
import type { ExchangeNodePort } from './node-port.js';
import { Keeper, type KeeperLogger } from './keeper.js';
import { startDemoPriceFeed } from './price-feed.js';

export interface MarginServicesOptions {
  readonly node: ExchangeNodePort;
  /** The node's operator key seed: signs prices (when it is a genesis operator key). */
  readonly seed: Uint8Array;
  /** The keeper's own key seed (keeper-key.json), separate from the operator key: signs liquidations. */
  readonly keeperSeed: Uint8Array;
  readonly isOperator: boolean;
  /** Started without a config file (the embedded demo). */
  readonly demo: boolean;
  readonly environment: Readonly<Record<string, string | undefined>>;
  readonly logger: KeeperLogger;
}

export interface MarginServices {
  readonly keeper: Keeper | undefined;
  stop(): Promise<void>;
}

export function startMarginServices(options: MarginServicesOptions): MarginServices {
  const { environment, logger } = options;
  const feedSetting = environment.PRICE_FEED ?? (options.demo ? 'demo' : 'off');
  if (feedSetting !== 'demo' && feedSetting !== 'off')
    throw new Error(`PRICE_FEED must be demo or off, not ${feedSetting}.`);
  const keeperSetting = environment.KEEPER ?? 'on';
  if (keeperSetting !== 'on' && keeperSetting !== 'off')
    throw new Error(`KEEPER must be on or off, not ${keeperSetting}.`);
  const intervalMs = Number(environment.PRICE_FEED_INTERVAL_MS ?? '2000');
  if (!Number.isSafeInteger(intervalMs) || intervalMs < 10)
    throw new Error('PRICE_FEED_INTERVAL_MS must be a whole number of milliseconds, at least 10.');
  const keeper =
    keeperSetting === 'on' ? new Keeper({ node: options.node, seed: options.keeperSeed, logger }).start() : undefined;
  let stopFeed: (() => void) | undefined;
  if (feedSetting === 'demo') {
    if (options.isOperator)
      stopFeed = startDemoPriceFeed({ node: options.node, seed: options.seed, intervalMs, logger });
    else logger.warn({}, 'price feed: off, this node’s operator key is not a genesis operator key');
  }
  logger.info({ priceFeed: stopFeed !== undefined ? 'demo' : 'off', keeper: keeperSetting }, 'margin services started');
  return {
    keeper,
    async stop() {
      stopFeed?.();
      await keeper?.stop();
    },
  };
}
