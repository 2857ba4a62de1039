/**
 * The prices a vault commit carries (docs/custody.md, "Root commitments"):
 * per asset in listing order, the value of one smallest unit of the asset in
 * 10^-36 settlement units, p_i = indexPrice_i · 10^(18 − decimals_i), from
 * the engine's index prices (wad, settlement asset per whole unit) at the
 * attested state. The settlement asset's is its unit price (1 by definition,
 * even before margin lists it); an asset with no index price is 0. Exact
 * (decimals are at most 18), so the node and every watchtower derive the
 * same vector from the same state; the vault's escape values a borrower's
 * deficit with them (Vault.sol, `_exitAmounts`: one scale for all assets).
 */
import { settlementAssetSymbol, wad, type ExchangeState } from '@vex/engine';

export function committedPrices(state: ExchangeState): bigint[] {
  return state.assets.map((asset) => {
    const indexPrice = asset.symbol === settlementAssetSymbol ? wad : (asset.margin?.indexPrice ?? 0n);
    return indexPrice * 10n ** BigInt(18 - asset.decimals);
  });
}
