/**
 * The reference model's trigger firing (docs/matching.md section 8.3): after
 * an accepted entry, the pending trigger orders the last prices reached fire,
 * at most 10, each admitted and walked like a new order. Part of the naive
 * reference model (reference-model.ts).
 */
import { unlink, walk } from './reference-book.js';
import { admissionRefusal } from './reference-orders.js';
import { findMarket, type ModelData, type ModelOrder, type ModelTrade } from './reference-state.js';

/** The next trigger order to fire: on the first market (in listing order) where one is reached. */
function nextToFire(data: ModelData): ModelOrder | undefined {
  for (const market of data.markets) {
    const last = data.lastPrices.get(market.symbol);
    if (last === undefined) continue;
    const pending = data.orders.filter((order) => order.status === 'TriggerPending' && order.market === market.symbol);
    const byId = (a: ModelOrder, b: ModelOrder) => a.orderId - b.orderId;
    const rising = pending
      .filter((order) => order.triggerRising && order.triggerPriceTicks! <= last)
      .sort((a, b) =>
        a.triggerPriceTicks! === b.triggerPriceTicks!
          ? byId(a, b)
          : a.triggerPriceTicks! < b.triggerPriceTicks!
            ? -1
            : 1,
      );
    const falling = pending
      .filter((order) => !order.triggerRising && order.triggerPriceTicks! >= last)
      .sort((a, b) =>
        a.triggerPriceTicks! === b.triggerPriceTicks!
          ? byId(a, b)
          : a.triggerPriceTicks! > b.triggerPriceTicks!
            ? -1
            : 1,
      );
    const chosen = rising[0] ?? falling[0];
    if (chosen !== undefined) return chosen;
  }
  return undefined;
}

/** Section 8.3: after an accepted entry, fire what the last prices reached, at most 10. */
export function fireTriggers(data: ModelData, trades: ModelTrade[]): void {
  for (let fired = 0; fired < 10; fired += 1) {
    const chosen = nextToFire(data);
    if (chosen === undefined) return;
    const market = findMarket(data, chosen.market)!;
    const partner = data.orders.find(
      (order) => order.orderId === chosen.linkedOrderId && order.status === 'TriggerPending',
    );
    unlink(data, chosen);
    if (partner !== undefined) partner.status = 'Cancelled';
    chosen.status = 'New';
    if (admissionRefusal(data, market, chosen) !== undefined) {
      chosen.status = 'TriggerFailed';
      continue;
    }
    walk(data, market, chosen, trades);
  }
}
