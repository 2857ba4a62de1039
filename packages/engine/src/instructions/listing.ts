/** assetList, marketList and borrowLendMarketList (docs/protocol.md, docs/margin.md). */
import { record } from '../instruction-result.js';
import { listAsset, listMarket } from '../listing.js';
import { listBorrowLendMarket } from '../lending-pool.js';
import { isRejection } from '../result-codes.js';
import type { InstructionHandlers } from './instruction-table.js';

export const listingHandlers: InstructionHandlers<'assetList' | 'marketList' | 'borrowLendMarketList'> = {
  assetList(state, recorder, _signer, instruction, results) {
    const asset = listAsset(state, instruction);
    if (isRejection(asset)) return record(results, asset);
    recorder.events.push({ type: 'assetListed', asset: asset.symbol, decimals: asset.decimals });
    record(results, { kind: 'listed', symbol: asset.symbol });
  },
  marketList(state, recorder, _signer, instruction, results) {
    const market = listMarket(state, instruction);
    if (isRejection(market)) return record(results, market);
    recorder.events.push({ type: 'marketListed', market: market.symbol });
    record(results, { kind: 'listed', symbol: market.symbol });
  },
  borrowLendMarketList(state, recorder, _signer, instruction, results) {
    const asset = listBorrowLendMarket(state, instruction);
    if (isRejection(asset)) return record(results, asset);
    recorder.events.push({ type: 'borrowLendMarketListed', asset: asset.symbol });
    record(results, { kind: 'listed', symbol: asset.symbol });
  },
};
