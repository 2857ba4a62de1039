/**
 * The canonical encoding of the whole engine state, its hash, and decoding.
 *
 * One encoding serves three purposes: the full-state hash (SHA-256 of the
 * encoding), snapshots (the ledger stores the encoding) and proofs that a
 * rejected entry changed nothing (the encodings are byte-identical). Every
 * collection is written in a defined order, zero balances are omitted, and
 * derivable fields (book levels, statuses of resting orders, indexes) are
 * rebuilt on decoding rather than stored. The layout is in docs/protocol.md,
 * "State encoding".
 */
import { ByteDecodeError, ByteReader, ByteWriter, IntegerFields } from './byte-codec.js';
import type { SelfTradePrevention, Side, TimeInForce } from './instruction.js';
import { formatDecimal } from './decimal.js';
import { enumValues } from './instruction-catalogue.js';
import { formatPrice, formatQuantity, listAsset, listMarket } from './listing.js';
import { isRejection } from './result-codes.js';
import { Account, Order, createState, type Asset, type ExchangeState, type Genesis, type Withdrawal } from './state.js';
import { checkInvariants } from './invariants.js';
import {
  decodeAccountSettings,
  decodeAssetMargin,
  decodeCoveragePools,
  encodeAccountSettings,
  encodeAssetMargin,
  encodeCoveragePools,
  rebuildBorrowers,
} from './margin-codec.js';
import { decodeAccountExitAddress, encodeAccountExitAddress } from './exit-address.js';
import { sha256 } from './log-format.js';
import { decodePerpListing, decodePerpState, encodePerpListing, encodePerpState } from './perps/perp-codec.js';
import { decodeAccountPositions, encodeAccountPositions } from './perps/position-codec.js';
import { perpOrderRested, reduceOnlyCapacitySteps } from './perps/resting-perp-orders.js';

const magic = new TextEncoder().encode('VEXSTATE');
export const stateEncodingVersion = 8;

// Enum bytes are indexes into the instruction catalogue's value lists.
const sides: readonly Side[] = enumValues.side;
const timesInForce: readonly TimeInForce[] = enumValues.timeInForce;
const selfTradePreventions: readonly SelfTradePrevention[] = enumValues.selfTradePrevention;

function keyBytes(accountId: string): Uint8Array {
  const bytes = Buffer.from(accountId, 'base64');
  if (bytes.length !== 32 || bytes.toString('base64') !== accountId) {
    throw new ByteDecodeError(`account id ${accountId.slice(0, 50)} is not a canonical base64 32-byte key`);
  }
  return bytes;
}

const base64Alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
/** Each character code's base64 value, 255 for a character outside the standard alphabet. */
const base64Values = new Uint8Array(128).fill(255);
for (let index = 0; index < 64; index += 1) base64Values[base64Alphabet.charCodeAt(index)] = index;
const keyScratch = new Uint8Array(32);

/**
 * Writes the 32 bytes keyBytes(accountId) returns, decoded in place: the
 * state commitment writes a key per changed account and per open order, and
 * Buffer's decoding and re-encoding check cost more than the key. Anything
 * but canonical base64 of 32 bytes (44 characters, one '=' last, the last
 * digit's two spare bits zero) goes to keyBytes, which refuses it.
 */
function writeKey(writer: ByteWriter, accountId: string): void {
  if (accountId.length !== 44 || accountId.charCodeAt(43) !== 0x3d) {
    writer.bytes(keyBytes(accountId));
    return;
  }
  let bits = 0;
  let bitCount = 0;
  let written = 0;
  for (let index = 0; index < 43; index += 1) {
    const code = accountId.charCodeAt(index);
    const value = code < 128 ? base64Values[code]! : 255;
    if (value === 255) {
      writer.bytes(keyBytes(accountId));
      return;
    }
    bits = ((bits << 6) | value) & 0xfff;
    bitCount += 6;
    if (bitCount >= 8) {
      bitCount -= 8;
      keyScratch[written++] = (bits >>> bitCount) & 0xff;
    }
  }
  if ((bits & ((1 << bitCount) - 1)) !== 0) {
    writer.bytes(keyBytes(accountId));
    return;
  }
  writer.bytes(keyScratch);
}

function keyText(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

function compareText(left: string, right: string): number {
  return left < right ? -1 : left > right ? 1 : 0;
}

export function encodeState(state: ExchangeState): Uint8Array {
  const writer = new ByteWriter();
  writer.bytes(magic);
  writer.unsigned(stateEncodingVersion);
  for (const section of wholeStateSections) section.encode(writer, state);

  // Accounts in ordinal (creation) order, the liabilities tree's leaf order.
  const accounts = state.accountList;
  writer.unsigned(accounts.length);
  for (const account of accounts) encodeAccount(writer, account);

  // Open orders (resting and pending trigger orders) by id; id order is also
  // time priority within a price level and within equal trigger prices.
  const orders = [...state.orders.values()].sort((left, right) => left.id - right.id);
  writer.unsigned(orders.length);
  for (const order of orders) encodeOrder(writer, order);

  const withdrawals = [...state.pendingWithdrawals.values()].sort((left, right) => left.id - right.id);
  writer.unsigned(withdrawals.length);
  for (const withdrawal of withdrawals) encodeWithdrawal(writer, withdrawal);

  coveragePoolsSection.encode(writer, state);

  const deposits = [...state.creditedDeposits].sort(compareText);
  writer.unsigned(deposits.length);
  for (const deposit of deposits) encodeCreditedDeposit(writer, deposit);

  // Remembered messages in acceptance order, which is the order they are forgotten in.
  const replay = state.replayProtection;
  writer.unsigned(replay.size);
  for (let position = 0; position < replay.size; position += 1) {
    encodeRememberedMessage(writer, replay.digestBytesAt(position), replay.acceptedAtMsAt(position));
  }
  return writer.finish();
}

/**
 * The state's small global sections, in encoding order, each written whole.
 * The state commitment (state-commitment.ts) hashes each of them as one part,
 * so a new small section added here is committed to with no further change.
 * Per-account state belongs in encodeAccount; a collection that grows with
 * use (like the orders or the remembered messages) needs a keyed part in the
 * commitment instead (docs/attestation.md, "State commitment").
 */
export interface WholeStateSection {
  readonly name: string;
  readonly encode: (writer: ByteWriter, state: ExchangeState) => void;
}

export const wholeStateSections: readonly WholeStateSection[] = [
  { name: 'header', encode: encodeHeaderSection },
  { name: 'assets', encode: encodeAssetsSection },
  { name: 'markets', encode: encodeMarketsSection },
];

function encodeHeaderSection(writer: ByteWriter, state: ExchangeState): void {
  const genesis = state.genesis;
  writer.string(genesis.exchangeName);
  writer.unsigned(genesis.operatorKeys.length);
  for (const key of genesis.operatorKeys) writer.bytes(keyBytes(key));
  writer.bytes(keyBytes(genesis.feeAccount));

  headerCounters.write(writer, state);
  writer.bytes(state.attestationDigest);
}

/** The header's counters, then (from version 3) the attestation digest follows them. */
const headerCounters = new IntegerFields<ExchangeState>([
  ['logTimeMs', 'safeInteger'],
  ['nextOrderId', 'safeInteger'],
  ['nextTradeId', 'safeInteger'],
  ['nextWithdrawalId', 'safeInteger'],
  ['nextDepositId', 'safeInteger'],
  // Version 3: the head sequence and the last attestation record (docs/attestation.md, "Attestation records").
  ['headSequence', 'safeInteger'],
  ['attestedSequence', 'safeInteger'],
]);

/** An asset's totals, after its symbol and decimals. */
const assetTotals = new IntegerFields<Asset>([
  ['depositedUnits', 'unsigned'],
  ['withdrawnUnits', 'unsigned'],
  ['reservesUnits', 'unsigned'],
  ['reservesStatedAtMs', 'safeInteger'],
]);

function encodeAssetsSection(writer: ByteWriter, state: ExchangeState): void {
  writer.unsigned(state.assets.length);
  for (const asset of state.assets) {
    writer.string(asset.symbol);
    writer.unsigned(asset.decimals);
    assetTotals.write(writer, asset);
    // Version 4: the asset's margin listing, price and lending pool (docs/margin.md).
    encodeAssetMargin(writer, asset);
  }
}

function encodeMarketsSection(writer: ByteWriter, state: ExchangeState): void {
  writer.unsigned(state.markets.length);
  for (const market of state.markets) {
    writer.string(market.base.symbol);
    writer.string(market.quote.symbol);
    writer.string(market.tickSize);
    writer.string(market.stepSize);
    writer.string(formatQuantity(market, market.minQuantitySteps));
    writer.string(formatQuantity(market, market.maxQuantitySteps));
    writer.string(formatPrice(market, market.minPriceTicks));
    writer.string(formatPrice(market, market.maxPriceTicks));
    writer.unsigned(market.makerFeeBasisPoints);
    writer.unsigned(market.takerFeeBasisPoints);
    writer.unsigned(market.maxOpenOrders);
    writer.unsigned(market.maxMakersPerOrder);
    writer.string(formatDecimal(market.minOrderValueUnits, market.quote.decimals));
    // Version 5: the perpetual's listing and state (perps/perp-codec.ts).
    encodePerpListing(writer, market);
    writer.unsigned(market.lastPriceTicks);
    encodePerpState(writer, market);
  }
}

/** One account: key, salt, balances by asset index (zero ones left out), settings, exit address, positions. */
export function encodeAccount(writer: ByteWriter, account: Account): void {
  writeKey(writer, account.id);
  writer.bytes(account.salt);
  const held = account.balances.filter(
    (balance) =>
      balance !== undefined &&
      (balance.available !== 0n ||
        balance.locked !== 0n ||
        balance.pendingWithdrawal !== 0n ||
        balance.lendScaled !== 0n ||
        balance.borrowScaled !== 0n),
  );
  writer.unsigned(held.length);
  for (const balance of held) {
    // Written field by field, not through an IntegerFields list: this is the state hash's hottest loop.
    writer.unsigned(balance!.asset.index);
    writer.unsigned(balance!.available);
    writer.unsigned(balance!.locked);
    writer.unsigned(balance!.pendingWithdrawal);
    // Version 4: the scaled lend and borrow positions.
    writer.unsigned(balance!.lendScaled);
    // Version 6: a lend's supply epoch, only when there is a lend (docs/margin.md, "Supply epochs").
    if (balance!.lendScaled !== 0n) writer.unsigned(balance!.lendEpoch);
    writer.unsigned(balance!.borrowScaled);
  }
  encodeAccountSettings(writer, account);
  encodeAccountExitAddress(writer, account);
  encodeAccountPositions(writer, account);
}

/** One open order (resting or pending trigger). */
export function encodeOrder(writer: ByteWriter, order: Order): void {
  writer.unsigned(order.id);
  writeKey(writer, order.account.id);
  writer.unsigned(order.market.index);
  writer.byte(sides.indexOf(order.side));
  writer.unsigned(order.priceTicks);
  writer.unsigned(order.quantitySteps);
  writer.unsigned(order.executedSteps);
  writer.unsigned(order.executedQuoteUnits);
  writer.byte(timesInForce.indexOf(order.timeInForce));
  writer.byte(order.postOnly ? 1 : 0);
  // Version 8: whether the order is reduce-only (a resting order on a perpetual only; docs/perps.md, section 4a).
  writer.byte(order.reduceOnly ? 1 : 0);
  writer.byte(selfTradePreventions.indexOf(order.selfTradePrevention));
  if (order.clientId === undefined) writer.byte(0);
  else {
    writer.byte(1);
    writer.unsigned(order.clientId);
  }
  writer.unsigned(order.createdAtMs);
  writer.unsigned(order.triggerPriceTicks ?? 0n);
  if (order.status !== 'TriggerPending') writer.byte(0);
  else {
    writer.byte(1);
    writer.byte(order.orderType === 'Limit' ? 0 : 1);
    writer.byte(order.triggerRising ? 1 : 0);
    writer.unsigned(order.linkedTrigger?.id ?? 0);
  }
}

/** One pending withdrawal. */
export function encodeWithdrawal(writer: ByteWriter, withdrawal: Withdrawal): void {
  writer.unsigned(withdrawal.id);
  writer.bytes(keyBytes(withdrawal.account.id));
  writer.unsigned(withdrawal.asset.index);
  writer.unsigned(withdrawal.quantityUnits);
  writer.string(withdrawal.address);
  writer.string(withdrawal.blockchain);
  writer.unsigned(withdrawal.createdAtMs);
}

/**
 * Version 4: the coverage pools, written after the pending withdrawals because
 * they name underwriters by account ordinal. The state commitment hashes this
 * section whole, like the small sections at the start.
 */
export const coveragePoolsSection: WholeStateSection = { name: 'coveragePools', encode: encodeCoveragePools };

/** One credited deposit, `blockchain:chainTransactionId`. */
export function encodeCreditedDeposit(writer: ByteWriter, deposit: string): void {
  writer.string(deposit);
}

/** One remembered message: its 32-byte digest (a latin1 string, or the bytes) and the log time it was accepted at. */
export function encodeRememberedMessage(writer: ByteWriter, digest: string | Uint8Array, acceptedAtMs: number): void {
  if (typeof digest === 'string') writer.latin1(digest);
  else writer.bytes(digest);
  writer.unsigned(acceptedAtMs);
}

export function stateHash(state: ExchangeState): Uint8Array {
  return sha256(encodeState(state));
}

export function stateHashHex(state: ExchangeState): string {
  return Buffer.from(stateHash(state)).toString('hex');
}

export class StateDecodeError extends Error {
  override readonly name = 'StateDecodeError';
}

/**
 * Rebuilds a state from its encoding. Any malformed, non-canonical or
 * inconsistent input is refused with a StateDecodeError; a decoded state is
 * re-encoded and must give back exactly the input bytes.
 */
/**
 * Decodes a state. The genesis' custodians (deposit tokens) are not in the
 * encoding: they are bound by the genesis hash, and a caller restoring a
 * snapshot passes those of its genesis.
 */
export function decodeState(bytes: Uint8Array, custodians?: Genesis['custodians']): ExchangeState {
  try {
    const state = decodeStateUnchecked(bytes, custodians);
    checkInvariants(state);
    const again = encodeState(state);
    if (Buffer.compare(Buffer.from(again), Buffer.from(bytes)) !== 0)
      throw new StateDecodeError('the encoding is not canonical');
    return state;
  } catch (error) {
    if (error instanceof StateDecodeError) throw error;
    const reason = error instanceof Error ? error.message : String(error);
    throw new StateDecodeError(`invalid state encoding: ${reason}`);
  }
}

function decodeStateUnchecked(bytes: Uint8Array, custodians: Genesis['custodians']): ExchangeState {
  const reader = new ByteReader(bytes);
  const state = decodeHeader(reader, custodians);
  decodeAssets(reader, state);
  decodeMarkets(reader, state);
  decodeAccounts(reader, state);
  rebuildBorrowers(state);
  decodeOrders(reader, state);
  decodeWithdrawals(reader, state);
  decodeCoveragePools(reader, state);
  for (let count = reader.safeInteger(); count > 0; count -= 1) state.creditedDeposits.add(reader.string());
  decodeRememberedMessages(reader, state);
  reader.expectEnd();
  return state;
}

/** The magic, the version and the header section: a fresh state from the genesis, with its counters. */
function decodeHeader(reader: ByteReader, custodians: Genesis['custodians']): ExchangeState {
  const header = reader.bytes(magic.length);
  if (Buffer.compare(Buffer.from(header), Buffer.from(magic)) !== 0)
    throw new StateDecodeError('not a state encoding (bad magic)');
  const version = reader.unsigned();
  if (version !== BigInt(stateEncodingVersion))
    throw new StateDecodeError(`unsupported state encoding version ${version}`);

  const exchangeName = reader.string();
  const operatorKeys: string[] = [];
  for (let count = reader.safeInteger(); count > 0; count -= 1) operatorKeys.push(keyText(reader.bytes(32)));
  const genesis: Genesis = {
    exchangeName,
    operatorKeys,
    feeAccount: keyText(reader.bytes(32)),
    ...(custodians === undefined ? {} : { custodians }),
  };
  const state = createState(genesis);
  headerCounters.read(reader, state);
  state.attestationDigest = new Uint8Array(reader.bytes(32));
  const noRecord = state.attestedSequence === 0;
  if (!noRecord && state.attestedSequence >= state.headSequence)
    throw new StateDecodeError('the recorded attestation is not before the head');
  if (noRecord !== state.attestationDigest.every((byte) => byte === 0)) {
    throw new StateDecodeError('the attestation digest must be all zero exactly when no attestation is recorded');
  }
  return state;
}

function decodeAssets(reader: ByteReader, state: ExchangeState): void {
  for (let count = reader.safeInteger(); count > 0; count -= 1) {
    const symbol = reader.string();
    const decimals = reader.safeInteger();
    const asset = listAsset(state, { kind: 'assetList', symbol, decimals });
    if (isRejection(asset)) throw new StateDecodeError(`asset ${symbol}: ${asset.message}`);
    assetTotals.read(reader, asset);
    decodeAssetMargin(reader, asset);
  }
}

/** Each market is listed again from its stored listing, so decoding checks it as listing did. */
function decodeMarkets(reader: ByteReader, state: ExchangeState): void {
  for (let count = reader.safeInteger(); count > 0; count -= 1) {
    const baseSymbol = reader.string();
    const quoteSymbol = reader.string();
    const listing = {
      kind: 'marketList' as const,
      symbol: `${baseSymbol}_${quoteSymbol}`,
      baseSymbol,
      quoteSymbol,
      tickSize: reader.string(),
      stepSize: reader.string(),
      minQuantity: reader.string(),
      maxQuantity: reader.string(),
      minPrice: reader.string(),
      maxPrice: reader.string(),
      makerFeeBps: reader.safeInteger(),
      takerFeeBps: reader.safeInteger(),
      maxOpenOrders: reader.safeInteger(),
      maxMakersPerOrder: reader.safeInteger(),
      minOrderValue: reader.string(),
      ...decodePerpListing(reader),
    };
    if (listing.marketType === 'PERP') listing.symbol += '_PERP';
    const market = listMarket(state, listing);
    if (isRejection(market)) throw new StateDecodeError(`market ${listing.symbol}: ${market.message}`);
    market.lastPriceTicks = reader.unsigned();
    decodePerpState(reader, market);
  }
}

function decodeAccounts(reader: ByteReader, state: ExchangeState): void {
  const accountCount = reader.safeInteger();
  if (accountCount < 1) throw new StateDecodeError('the fee account is missing');
  for (let ordinal = 0; ordinal < accountCount; ordinal += 1) {
    const account = decodeAccountKey(reader, state, ordinal);
    let previousAsset = -1;
    for (let held = reader.safeInteger(); held > 0; held -= 1) {
      const assetIndex = reader.safeInteger();
      const asset = state.assets[assetIndex];
      if (asset === undefined || assetIndex <= previousAsset)
        throw new StateDecodeError('balance of an unknown or repeated asset');
      previousAsset = assetIndex;
      const balance = account.balance(asset);
      balance.available = reader.unsigned();
      balance.locked = reader.unsigned();
      balance.pendingWithdrawal = reader.unsigned();
      balance.lendScaled = reader.unsigned();
      if (balance.lendScaled !== 0n) balance.lendEpoch = reader.safeInteger();
      balance.borrowScaled = reader.unsigned();
    }
    decodeAccountSettings(reader, account);
    decodeAccountExitAddress(reader, account);
    decodeAccountPositions(reader, state, account);
  }
}

/** The account at `ordinal` from its key and salt: the genesis fee account first, then new ones. */
function decodeAccountKey(reader: ByteReader, state: ExchangeState, ordinal: number): Account {
  const id = keyText(reader.bytes(32));
  const salt = reader.bytes(32);
  if (ordinal === 0) {
    // createState made the fee account; its salt is fixed by the genesis.
    const account = state.feeAccount;
    if (id !== account.id || Buffer.compare(Buffer.from(salt), Buffer.from(account.salt)) !== 0) {
      throw new StateDecodeError('the first account is not the genesis fee account');
    }
    return account;
  }
  if (state.accounts.has(id)) throw new StateDecodeError(`account ${id} appears twice`);
  const account = new Account(id, ordinal, new Uint8Array(salt));
  state.accounts.set(id, account);
  state.accountList.push(account);
  return account;
}

/** The open orders: resting ones rebuild the books, pending trigger ones their markets' lists and links. */
function decodeOrders(reader: ByteReader, state: ExchangeState): void {
  let previousOrderId = 0;
  const links = new Map<number, number>();
  const pendingTriggers: Order[] = [];
  for (let count = reader.safeInteger(); count > 0; count -= 1) {
    const id = reader.safeInteger();
    if (id <= previousOrderId || id >= state.nextOrderId)
      throw new StateDecodeError('order ids out of order or out of range');
    previousOrderId = id;
    const { order, linkedId } = decodeOrder(reader, state, id);
    const { account, market, clientId } = order;
    if (clientId !== undefined && account.openOrdersByClientId.has(clientId))
      throw new StateDecodeError(`client id ${clientId} names two open orders`);
    if (linkedId !== undefined) {
      // Ids ascend, so appending keeps ties in id order; the invariants check the rest.
      (order.triggerRising ? market.risingTriggers : market.fallingTriggers).push(order);
      pendingTriggers.push(order);
      links.set(id, linkedId);
      order.status = 'TriggerPending';
      state.pendingTriggerCount += 1;
    } else {
      order.status = order.executedSteps === 0n ? 'New' : 'PartiallyFilled';
      (order.side === 'Bid' ? market.bids : market.asks).add(order);
      if (market.perp !== undefined) perpOrderRested(order);
    }
    state.orders.set(id, order);
    account.addOpenOrder(order);
    if (clientId !== undefined) account.openOrdersByClientId.set(clientId, order);
  }
  for (const market of state.markets) {
    market.risingTriggers.sort(compareRisingTriggers);
    market.fallingTriggers.sort(compareFallingTriggers);
  }
  linkTriggers(state, pendingTriggers, links);
}

/**
 * One order's fields (after its id); `linkedId` is set for a pending trigger
 * order: the id of its linked take-profit or stop-loss, 0 for none.
 */
function decodeOrder(reader: ByteReader, state: ExchangeState, id: number): { order: Order; linkedId?: number } {
  const account = state.accounts.get(keyText(reader.bytes(32)));
  const market = state.markets[reader.safeInteger()];
  const side = sides[reader.byte()];
  if (account === undefined || market === undefined || side === undefined)
    throw new StateDecodeError(`order ${id} refers to nothing`);
  const priceTicks = reader.unsigned();
  const quantitySteps = reader.unsigned();
  const executedSteps = reader.unsigned();
  const executedQuoteUnits = reader.unsigned();
  const timeInForce = timesInForce[reader.byte()];
  const postOnly = reader.byte();
  const reduceOnly = reader.byte();
  const selfTradePrevention = selfTradePreventions[reader.byte()];
  const hasClientId = reader.byte();
  const clientId = hasClientId === 1 ? reader.safeInteger() : undefined;
  const flags = postOnly | reduceOnly | hasClientId;
  if (timeInForce === undefined || selfTradePrevention === undefined || flags > 1) {
    throw new StateDecodeError(`order ${id} has an invalid flag`);
  }
  const createdAtMs = reader.safeInteger();
  const triggerPriceTicks = reader.unsigned();
  const pending = reader.byte();
  if (pending > 1) throw new StateDecodeError(`order ${id} has an invalid flag`);
  let orderType: 'Limit' | 'Market' = 'Limit';
  let rising = false;
  let linkedId: number | undefined;
  if (pending === 1) {
    const typeByte = reader.byte();
    const risingByte = reader.byte();
    if (typeByte > 1 || risingByte > 1 || triggerPriceTicks === 0n)
      throw new StateDecodeError(`trigger order ${id} has an invalid flag`);
    orderType = typeByte === 0 ? 'Limit' : 'Market';
    rising = risingByte === 1;
    linkedId = reader.safeInteger();
  }
  const order = new Order(
    id,
    account,
    market,
    side,
    orderType,
    priceTicks,
    quantitySteps,
    undefined,
    timeInForce,
    postOnly === 1,
    selfTradePrevention,
    clientId,
    createdAtMs,
  );
  if (triggerPriceTicks !== 0n) order.triggerPriceTicks = triggerPriceTicks;
  if (executedSteps >= quantitySteps) throw new StateDecodeError(`order ${id} has nothing remaining`);
  order.remainingSteps = quantitySteps - executedSteps;
  order.executedSteps = executedSteps;
  order.executedQuoteUnits = executedQuoteUnits;
  if (pending === 1) order.triggerRising = rising;
  if (reduceOnly === 1) checkReduceOnly(order, pending === 1);
  return linkedId === undefined ? { order } : { order, linkedId };
}

/**
 * A reduce-only order is a resting order on a perpetual that faces its
 * account's position and remains within its size (docs/perps.md, section
 * 4a): the accounts, decoded before the orders, hold the positions.
 */
function checkReduceOnly(order: Order, pending: boolean): void {
  const { market, account } = order;
  const position = account.positions.get(market.index)?.quantityUnits ?? 0n;
  if (
    pending ||
    market.perp === undefined ||
    order.remainingSteps > reduceOnlyCapacitySteps(market, order.side, position)
  )
    throw new StateDecodeError(`order ${order.id} is reduce-only but does not reduce a position`);
  order.reduceOnly = true;
}

/** Rising triggers fire lowest price first, ties in id order. */
function compareRisingTriggers(left: Order, right: Order): number {
  const leftTicks = left.triggerPriceTicks!;
  const rightTicks = right.triggerPriceTicks!;
  return leftTicks < rightTicks ? -1 : leftTicks > rightTicks ? 1 : left.id - right.id;
}

/** Falling triggers fire highest price first, ties in id order. */
function compareFallingTriggers(left: Order, right: Order): number {
  const leftTicks = left.triggerPriceTicks!;
  const rightTicks = right.triggerPriceTicks!;
  return leftTicks > rightTicks ? -1 : leftTicks < rightTicks ? 1 : left.id - right.id;
}

/** Links each pending trigger order to its partner; a link must be returned by a pending order. */
function linkTriggers(
  state: ExchangeState,
  pendingTriggers: readonly Order[],
  links: ReadonlyMap<number, number>,
): void {
  for (const order of pendingTriggers) {
    const linkedId = links.get(order.id)!;
    if (linkedId === 0) continue;
    const linked = state.orders.get(linkedId);
    if (
      linked === undefined ||
      linked.status !== 'TriggerPending' ||
      links.get(linkedId) !== order.id ||
      linkedId === order.id
    ) {
      throw new StateDecodeError(`trigger order ${order.id} is linked to ${linkedId}, which is not linked back`);
    }
    order.linkedTrigger = linked;
  }
}

function decodeWithdrawals(reader: ByteReader, state: ExchangeState): void {
  let previousWithdrawalId = 0;
  for (let count = reader.safeInteger(); count > 0; count -= 1) {
    const id = reader.safeInteger();
    if (id <= previousWithdrawalId || id >= state.nextWithdrawalId)
      throw new StateDecodeError('withdrawal ids out of order or out of range');
    previousWithdrawalId = id;
    const account = state.accounts.get(keyText(reader.bytes(32)));
    const asset = state.assets[reader.safeInteger()];
    if (account === undefined || asset === undefined) throw new StateDecodeError(`withdrawal ${id} refers to nothing`);
    state.pendingWithdrawals.set(id, {
      id,
      account,
      asset,
      quantityUnits: reader.unsigned(),
      address: reader.string(),
      blockchain: reader.string(),
      createdAtMs: reader.safeInteger(),
    });
  }
}

function decodeRememberedMessages(reader: ByteReader, state: ExchangeState): void {
  for (let count = reader.safeInteger(); count > 0; count -= 1) {
    const digest = Buffer.from(reader.bytes(32)).toString('latin1');
    const acceptedAtMs = reader.safeInteger();
    if (state.replayProtection.has(digest)) throw new StateDecodeError('a remembered message appears twice');
    state.replayProtection.add(digest, acceptedAtMs);
  }
}
