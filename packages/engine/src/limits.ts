/**
 * Protocol-wide limits. They are part of the protocol (docs/protocol.md):
 * changing one changes which logs are valid.
 */

/** Backpack's maximum X-Window. */
export const maximumWindowMs = 60_000;
/** Backpack's default X-Window, signed even when the header is absent. */
export const defaultWindowMs = 5_000;
/** The largest quantity of any single deposit, withdrawal or order, in base units. */
export const maximumAmountUnits = (1n << 96n) - 1n;
/** The largest total supply of one asset the exchange will hold, in base units. */
export const maximumAssetSupplyUnits = (1n << 112n) - 1n;
/** Fees are whole basis points in [0, maximumFeeBasisPoints]. */
export const maximumFeeBasisPoints = 1_000n;
/** The largest unsigned 32-bit integer, the range of Backpack client ids. */
export const maximumClientId = 4_294_967_295;
/** Asset decimals are bounded so that bigint scaling stays cheap. */
export const maximumAssetDecimals = 18;
/** Chain transaction ids, addresses and blockchain names are bounded printable text. */
export const maximumTextLength = 256;
/**
 * Per-market order limits (docs/matching.md, section 4.6). A listing may set
 * each within its bound; a listing that leaves one out gets the default.
 * The open-order limit also bounds the work of one cancel-all.
 */
export const maximumOpenOrdersLimit = 1_000;
export const defaultMaxOpenOrders = 500;
/** Makers one order may meet (fill, or cancel by self-trade prevention) before the rest of it expires. */
export const maximumMakersPerOrderLimit = 100;
export const defaultMaxMakersPerOrder = 100;
/** Trigger orders fired by one entry at most; the rest fire at the following entries (docs/matching.md, section 8). */
export const maximumTriggersPerEntry = 10;
