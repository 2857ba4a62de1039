/**
 * The snapshot Backpack sends on a subscription to `account.positionUpdate`
 * (docs/api.md, "WebSocket"): one message per open position of the
 * subscriber (of the stream's market only, for
 * `account.positionUpdate.<symbol>`), with the figures of
 * GET /api/v1/position at that moment and no `e`, so clients that dispatch
 * on the event name (ccxt.pro) pass it by while others start from it.
 */
import type { ExchangeState } from '@vex/engine';
import { positionFigures, wirePositionUpdate } from './perp-wire.js';

const positionStream = 'account.positionUpdate';

/** Whether `stream` is the position stream or one market's. */
export function isPositionStream(stream: string): boolean {
  return stream === positionStream || stream.startsWith(`${positionStream}.`);
}

/** The snapshot's messages for `account` on `stream` (a position stream), in market order. */
export function positionSnapshot(
  state: ExchangeState,
  account: string,
  stream: string,
): Array<{ stream: string; data: Record<string, unknown> }> {
  const symbol = stream === positionStream ? undefined : stream.slice(positionStream.length + 1);
  const micros = state.logTimeMs * 1000;
  return positionFigures(state, state.accounts.get(account))
    .filter((figures) => symbol === undefined || figures.market.symbol === symbol)
    .map((figures) => ({ stream, data: { E: micros, ...wirePositionUpdate(figures), T: micros } }));
}
