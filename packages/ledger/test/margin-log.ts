/**
 * A margin log for the ledger's tests: manual borrows and lends, a margin
 * order's autoBorrow and autoBorrowRepay, a Lend that repays a debt and lends
 * the rest in one entry, and a liquidation whose debt the lenders bear, over
 * fifty days of log time (so interest accrues). Each entry is signed with its
 * parameters in sorted order.
 */
import type { LogEntry } from '@vex/engine';
import { demoListing } from '../../engine/test/random-log.js';
import { genesisOf, signedEntry, signerFromByte, type Signer } from './helpers.js';

export const operator = signerFromByte(1);
export const [alice, bob, carol, dave, erin, keeper] = [2, 3, 4, 5, 6, 7].map(signerFromByte) as [
  Signer,
  Signer,
  Signer,
  Signer,
  Signer,
  Signer,
];
export const genesis = genesisOf(operator, 'margin-history-test');
export const dayMs = 86_400_000;
// The demo SOL_USDC market without fees, so that a sale's proceeds are exact.
const feeFreeSolMarket = {
  ...demoListing.find(([name, params]) => name === 'marketList' && params.symbol === 'SOL_USDC')![1],
  makerFeeBps: '0',
  takerFeeBps: '0',
};

/** A borrowLendMarketList's parameters for `symbol` (collateral weight 1, no price-move limit), `extra` on top. */
export const listingParams = (symbol: string, extra: Record<string, string>) => ({
  symbol,
  collateralWeight: '1',
  haircutPenalty: '0',
  imfBase: '0.2',
  imfFactor: '0',
  mmfBase: '0.1',
  mmfFactor: '0',
  minimumBorrowRate: '0.05',
  optimalUtilization: '0.8',
  optimalBorrowRate: '0.1',
  maximumBorrowRate: '1',
  maxUtilization: '0.95',
  lendFee: '0.1',
  maxPriceMove: '0',
  liquidationFee: '0.01',
  liquidationBand: '0.1',
  stressShock: '0',
  coveragePoolWithdrawalDelayMs: '1000',
  ...extra,
});

/** The log: [signer, instruction, params, log time]. */
export function marginLog(): LogEntry[] {
  const deposit = (who: Signer, symbol: string, quantity: string, id: string) =>
    [
      operator,
      'depositCredit',
      { account: who.accountId, symbol, quantity, blockchain: 'Solana', chainTransactionId: id },
    ] as const;
  const order = (side: string, quantity: string, price: string, flags: Record<string, string> = {}) => ({
    symbol: 'SOL_USDC',
    side,
    orderType: 'Limit',
    quantity,
    price,
    ...flags,
  });
  const rows: Array<readonly [Signer, string, Record<string, string>, number]> = [
    [operator, 'assetList', { symbol: 'USDC', decimals: '6' }, 1_000],
    [operator, 'assetList', { symbol: 'SOL', decimals: '9' }, 1_000],
    [operator, 'marketList', feeFreeSolMarket, 1_000],
    [operator, 'borrowLendMarketList', listingParams('USDC', {}), 1_000],
    [operator, 'borrowLendMarketList', listingParams('SOL', { collateralWeight: '0.8', maxPriceMove: '0.5' }), 1_000],
    [operator, 'indexPriceUpdate', { symbol: 'SOL', price: '100', publishedAtMs: '2000' }, 2_000],
    [...deposit(alice, 'USDC', '1000', 'a1'), 2_000],
    [...deposit(bob, 'SOL', '10', 'b1'), 2_000],
    [...deposit(carol, 'USDC', '5000', 'c1'), 2_000],
    [...deposit(dave, 'SOL', '100', 'd1'), 2_000],
    [...deposit(erin, 'SOL', '10', 'e1'), 2_000],
    [alice, 'borrowLendExecute', { symbol: 'USDC', side: 'Lend', quantity: '1000' }, 3_000],
    [bob, 'borrowLendExecute', { symbol: 'USDC', side: 'Borrow', quantity: '300' }, 4_000],
    // Thirty days on, bob repays a third: the first interest record.
    [bob, 'borrowLendExecute', { symbol: 'USDC', side: 'Lend', quantity: '100' }, 4_000 + 30 * dayMs],
    [dave, 'orderExecute', order('Ask', '3', '100'), 5_000 + 30 * dayMs],
    // Bob buys 3 SOL for 300 USDC holding about 200: the order borrows the rest.
    [bob, 'orderExecute', order('Bid', '3', '100', { autoBorrow: 'true' }), 6_000 + 30 * dayMs],
    [carol, 'orderExecute', order('Bid', '3', '100'), 7_000 + 40 * dayMs],
    // He sells them back; the proceeds repay his borrow.
    [bob, 'orderExecute', order('Ask', '3', '100', { autoBorrowRepay: 'true' }), 8_000 + 40 * dayMs],
    [...deposit(bob, 'USDC', '50', 'b2'), 9_000 + 40 * dayMs],
    // One Lend repays what is left of the debt and lends the rest: the borrow closes, a lend opens.
    [bob, 'borrowLendExecute', { symbol: 'USDC', side: 'Lend', quantity: '50' }, 10_000 + 40 * dayMs],
    // Erin borrows against 10 SOL and takes the USDC out; SOL halves; the keeper liquidates her.
    [erin, 'borrowLendExecute', { symbol: 'USDC', side: 'Borrow', quantity: '600' }, 11_000 + 40 * dayMs],
    [erin, 'withdraw', { symbol: 'USDC', quantity: '600', address: 'erin', blockchain: 'Solana' }, 12_000 + 40 * dayMs],
    [
      operator,
      'indexPriceUpdate',
      { symbol: 'SOL', price: '50', publishedAtMs: String(13_000 + 40 * dayMs) },
      13_000 + 40 * dayMs,
    ],
    [carol, 'orderExecute', order('Bid', '10', '46'), 14_000 + 40 * dayMs],
    [keeper, 'liquidate', { account: erin.accountId }, 15_000 + 40 * dayMs],
    // Alice redeems what she can after the loss: her lend interest over the whole span, the loss included.
    [alice, 'borrowLendExecute', { symbol: 'USDC', side: 'Borrow', quantity: '10' }, 16_000 + 50 * dayMs],
  ];
  return rows.map(([signer, instruction, params, timeMs]) => {
    const sorted = Object.fromEntries(Object.entries(params).sort(([a], [b]) => (a < b ? -1 : 1)));
    return signedEntry(signer, instruction, sorted, timeMs);
  });
}
