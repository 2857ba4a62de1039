/**
 * Attestations: the operator's signed statement of the state after a log
 * entry (docs/attestation.md, "Attestations"). This module builds the exact
 * bytes that are signed, parses and re-encodes the JSON form, and checks the
 * signature.
 *
 * Browser-safe on purpose: it imports only @noble/ed25519 and @noble/hashes,
 * never node: modules or Buffer, so that the client SDK can check attestations
 * in a browser with the very code the node uses to make them. The small byte
 * codecs (hex, base64, u128) live here for the same reason and are shared
 * with inclusion-proof.ts.
 */
import * as ed25519 from '@noble/ed25519';
import { sha256, sha512 } from '@noble/hashes/sha2.js';
import { bytesToLowerHex } from './hex.js';

// noble's synchronous verify needs a synchronous SHA-512; noble v3 ships none
// so that it stays dependency-free. signature.ts sets the same function.
ed25519.hashes.sha512 = sha512;

/** Thrown when an attestation or its fields do not have the shape docs/attestation.md specifies. */
export class AttestationFormatError extends Error {
  override readonly name = 'AttestationFormatError';
}

/** Version 2 added each asset's stress shortfall (docs/attestation.md, "Format versions"). */
export const attestationVersion = 2;

/** One asset's attested totals, decimal strings of integer units of the asset's smallest unit. */
export interface AttestedAsset {
  readonly symbol: string;
  /** The root's claim sum: the exchange's total liabilities in this asset. */
  readonly claims: string;
  /** The root's debt sum: what users owe the exchange in this asset. */
  readonly debts: string;
  /** The reserves the operator last stated for this asset (reservesStatement). */
  readonly reserves: string;
  /**
   * The stress figure's shortfall attributed to this asset's debts, in units
   * of the settlement asset (not of this asset): what borrowers of it would
   * leave unpaid if every price moved against them by the listings' stress
   * shocks (docs/margin.md, section 13; stress.ts). "0" for an asset nobody borrows.
   */
  readonly stressShortfall: string;
}

/**
 * A version-1 asset (docs/attestation.md, "Format versions"): no stress
 * shortfall. Ledgers written before version 2 still hold such attestations,
 * and their logs' attestation records carry their digests, so they stay
 * readable and verifiable.
 */
export interface AttestedAssetVersion1 {
  readonly symbol: string;
  readonly claims: string;
  readonly debts: string;
  readonly reserves: string;
}

/** A version-1 attestation: the version-2 form without the assets' stress shortfalls. */
export interface AttestationVersion1 extends Omit<Attestation, 'version' | 'assets'> {
  readonly version: 1;
  readonly assets: readonly AttestedAssetVersion1[];
}

/** An attestation of either version, as a ledger stores it and a verifier reads it. */
export type AttestationOfAnyVersion = Attestation | AttestationVersion1;

/** A version-1 attestation's signed fields, with its version. */
export type AttestationFieldsVersion1 = Omit<AttestationVersion1, 'operatorKey' | 'signature'>;
type FieldsVersion1 = AttestationFieldsVersion1;

/** The version-1 form of `fields`: the same fields without the stress shortfalls, for a version-1 digest. */
export function attestationFieldsVersion1(
  fields: Omit<AttestationFields, 'assets'> & { readonly assets: readonly AttestedAssetVersion1[] },
): AttestationFieldsVersion1 {
  const assets = fields.assets.map(({ symbol, claims, debts, reserves }) => ({ symbol, claims, debts, reserves }));
  const { sequence, logTimeMs, genesisHash, headHash, stateHash, liabilitiesRoot, accountCount } = fields;
  return { version: 1, sequence, logTimeMs, genesisHash, headHash, stateHash, liabilitiesRoot, accountCount, assets };
}

/** What a message of either version is built from: the signed fields, with the version when it is 1. */
type SignedFieldsOfAnyVersion = AttestationFields | FieldsVersion1;

function isVersion1(value: SignedFieldsOfAnyVersion): value is FieldsVersion1 {
  return (value as { version?: unknown }).version === 1;
}

/** Everything an attestation signs: the attestation without version, key and signature. */
export interface AttestationFields {
  /** The log entry the attestation follows (at least 1). */
  readonly sequence: number;
  /** That entry's log time. */
  readonly logTimeMs: number;
  /** Lower-case hex of 32 bytes, as are the three hashes below. */
  readonly genesisHash: string;
  /** The entry hash of entry `sequence`. */
  readonly headHash: string;
  /** The engine's full-state hash after entry `sequence`. */
  readonly stateHash: string;
  /** The root hash of the liabilities tree. */
  readonly liabilitiesRoot: string;
  /** The number of leaves of the tree (accounts, the fee account included). */
  readonly accountCount: number;
  /** Every listed asset, in listing order. */
  readonly assets: readonly AttestedAsset[];
}

/** An attestation as stored, served and exported: one JSON object. */
export interface Attestation extends AttestationFields {
  readonly version: 2;
  /** Standard base64 (with padding) of the operator's 32-byte public key. */
  readonly operatorKey: string;
  /** Standard base64 (with padding) of the 64-byte Ed25519 signature of attestationMessage. */
  readonly signature: string;
}

/** A signature check over raw bytes; the engine's rule is `verifySignature(…) === 'valid'`. */
export type SignatureCheck = (publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array) => boolean;

// ---------------------------------------------------------------------------
// Byte codecs shared with inclusion-proof.ts
// ---------------------------------------------------------------------------

/** 2^128: every amount of the tree and of attestations is below it. */
export const uint128Limit = 1n << 128n;
const uint64Mask = (1n << 64n) - 1n;
/** 2^128 − 1 has 39 decimal digits; longer strings are refused before any bigint work. */
const maximumUint128DecimalLength = 39;
const canonicalUnsignedDecimalPattern = /^(0|[1-9][0-9]*)$/;

/** Writes `value` (in [0, 2^128)) as 16 big-endian bytes. */
export function writeUint128(view: DataView, offset: number, value: bigint): void {
  if (value < 0n || value >= uint128Limit) throw new RangeError(`${value} is not an unsigned 128-bit integer`);
  view.setBigUint64(offset, value >> 64n);
  view.setBigUint64(offset + 8, value & uint64Mask);
}

export function readUint128(view: DataView, offset: number): bigint {
  return (view.getBigUint64(offset) << 64n) | view.getBigUint64(offset + 8);
}

/**
 * The integer a canonical decimal string denotes (no sign, no leading zeros,
 * digits only) when it is below 2^128; undefined for anything else. A
 * "negative" amount therefore cannot even be written.
 */
export function parseUint128Decimal(text: unknown): bigint | undefined {
  if (
    typeof text !== 'string' ||
    text.length > maximumUint128DecimalLength ||
    !canonicalUnsignedDecimalPattern.test(text)
  ) {
    return undefined;
  }
  const value = BigInt(text);
  return value < uint128Limit ? value : undefined;
}

const hexDigits = '0123456789abcdef';
const lowerHexPattern = /^[0-9a-f]*$/;

export { bytesToLowerHex };

/** The bytes of lower-case hex text of exactly `byteLength` bytes; undefined for anything else. */
export function lowerHexToBytes(text: unknown, byteLength: number): Uint8Array | undefined {
  if (typeof text !== 'string' || text.length !== byteLength * 2 || !lowerHexPattern.test(text)) return undefined;
  const bytes = new Uint8Array(byteLength);
  for (let index = 0; index < byteLength; index += 1) {
    bytes[index] = (hexDigits.indexOf(text[2 * index]!) << 4) | hexDigits.indexOf(text[2 * index + 1]!);
  }
  return bytes;
}

const base64Alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const base64Pattern = /^[A-Za-z0-9+/]*={0,2}$/;

/** Standard base64 with padding. */
export function bytesToBase64(bytes: Uint8Array): string {
  let text = '';
  let index = 0;
  for (; index + 2 < bytes.length; index += 3) {
    const group = (bytes[index]! << 16) | (bytes[index + 1]! << 8) | bytes[index + 2]!;
    text +=
      base64Alphabet[group >>> 18]! +
      base64Alphabet[(group >>> 12) & 63]! +
      base64Alphabet[(group >>> 6) & 63]! +
      base64Alphabet[group & 63]!;
  }
  const rest = bytes.length - index;
  if (rest === 1) {
    const group = bytes[index]! << 16;
    text += base64Alphabet[group >>> 18]! + base64Alphabet[(group >>> 12) & 63]! + '==';
  } else if (rest === 2) {
    const group = (bytes[index]! << 16) | (bytes[index + 1]! << 8);
    text +=
      base64Alphabet[group >>> 18]! + base64Alphabet[(group >>> 12) & 63]! + base64Alphabet[(group >>> 6) & 63]! + '=';
  }
  return text;
}

/**
 * The bytes of standard padded base64 of exactly `byteLength` bytes, only in
 * its canonical form (the unused bits of the last character zero), so that
 * each key has exactly one text; undefined for anything else.
 */
export function canonicalBase64ToBytes(text: unknown, byteLength: number): Uint8Array | undefined {
  if (typeof text !== 'string' || text.length % 4 !== 0 || !base64Pattern.test(text)) return undefined;
  let padding = 0;
  if (text.endsWith('==')) padding = 2;
  else if (text.endsWith('=')) padding = 1;
  const decodedLength = (text.length >>> 2) * 3 - padding;
  if (decodedLength !== byteLength) return undefined;
  const bytes = new Uint8Array(decodedLength + padding);
  for (let index = 0, out = 0; index < text.length; index += 4, out += 3) {
    let group = 0;
    for (let offset = 0; offset < 4; offset += 1) {
      const character = text[index + offset]!;
      group = (group << 6) | (character === '=' ? 0 : base64Alphabet.indexOf(character));
    }
    bytes[out] = group >>> 16;
    bytes[out + 1] = (group >>> 8) & 0xff;
    bytes[out + 2] = group & 0xff;
  }
  const decoded = bytes.slice(0, decodedLength);
  // Re-encoding gives back the input only when the padding bits were zero.
  return bytesToBase64(decoded) === text ? decoded : undefined;
}

// ---------------------------------------------------------------------------
// The attestation message
// ---------------------------------------------------------------------------

/**
 * "vex/attestation/v2" ‖ 0x00 ‖ 0x0A: 20 bytes (version 1, without the
 * stress shortfalls, had "v1"; a signature of one can never verify as the other). The message then starts with
 * "vex/", never with "instruction=", so no signing string can be mistaken for
 * it, and the zero byte makes it invalid UTF-8 text for the signing-string
 * parser in any case.
 */
const attestationMessageTag: Uint8Array = new TextEncoder().encode('vex/attestation/v2\0\n');
const attestationMessageTagVersion1: Uint8Array = new TextEncoder().encode('vex/attestation/v1\0\n');
/** The engine's asset symbols (docs/protocol.md): 1 to 16 of A–Z and 0–9. */
const assetSymbolPattern = /^[A-Z0-9]{1,16}$/;
const hashLengthBytes = 32;

function fail(message: string): never {
  throw new AttestationFormatError(message);
}

function checkUint64(value: unknown, name: string, minimum: number): number {
  // Safe integers: a JSON number above 2^53 cannot be read back exactly, so it is refused rather than rounded.
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < minimum) {
    fail(`${name} must be a safe integer of at least ${minimum}, got ${shown(value)}.`);
  }
  return value;
}

function checkHash(value: unknown, name: string): string {
  if (lowerHexToBytes(value, hashLengthBytes) === undefined)
    fail(`${name} must be 64 lower-case hex digits, got ${shown(value)}.`);
  return value as string;
}

function checkAmount(value: unknown, name: string): string {
  if (parseUint128Decimal(value) === undefined) {
    fail(`${name} must be a canonical decimal string of an integer in [0, 2^128), got ${shown(value)}.`);
  }
  return value as string;
}

function shown(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null || value === undefined)
    return String(value);
  if (typeof value === 'bigint') return `${value}n`;
  return Array.isArray(value) ? 'an array' : `a ${typeof value}`;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Validates the signed fields and returns a fresh copy holding exactly them (no stress shortfalls for version 1). */
function checkFields(record: Record<string, unknown>): AttestationFields;
function checkFields(record: Record<string, unknown>, version: 1): FieldsVersion1;
function checkFields(record: Record<string, unknown>, version: 1 | 2 = attestationVersion): SignedFieldsOfAnyVersion {
  const sequence = checkUint64(record.sequence, 'sequence', 1);
  const logTimeMs = checkUint64(record.logTimeMs, 'logTimeMs', 0);
  const genesisHash = checkHash(record.genesisHash, 'genesisHash');
  const headHash = checkHash(record.headHash, 'headHash');
  const stateHash = checkHash(record.stateHash, 'stateHash');
  const liabilitiesRoot = checkHash(record.liabilitiesRoot, 'liabilitiesRoot');
  const accountCount = checkUint64(record.accountCount, 'accountCount', 1);
  if (!Array.isArray(record.assets)) fail(`assets must be an array, got ${shown(record.assets)}.`);
  const symbols = new Set<string>();
  const assets = (record.assets as unknown[]).map((item, index): AttestedAssetVersion1 | AttestedAsset => {
    if (!isRecord(item)) fail(`assets[${index}] must be an object, got ${shown(item)}.`);
    const symbol = item.symbol;
    if (typeof symbol !== 'string' || !assetSymbolPattern.test(symbol)) {
      fail(`assets[${index}].symbol must be 1 to 16 characters A-Z or 0-9, got ${shown(symbol)}.`);
    }
    if (symbols.has(symbol)) fail(`assets[${index}].symbol ${symbol} appears twice.`);
    symbols.add(symbol);
    const totals = {
      symbol,
      claims: checkAmount(item.claims, `assets[${index}].claims`),
      debts: checkAmount(item.debts, `assets[${index}].debts`),
      reserves: checkAmount(item.reserves, `assets[${index}].reserves`),
    };
    if (version === 1) return totals;
    return { ...totals, stressShortfall: checkAmount(item.stressShortfall, `assets[${index}].stressShortfall`) };
  });
  const fields = { sequence, logTimeMs, genesisHash, headHash, stateHash, liabilitiesRoot, accountCount };
  return version === 1 ? { version, ...fields, assets } : { ...fields, assets: assets as AttestedAsset[] };
}

/**
 * The bytes the operator signs, exactly the table of docs/attestation.md: the
 * version-2 message for fields without a version, the version-1 message for
 * a version-1 attestation. Throws AttestationFormatError when a field is out
 * of its range, so a message is never built from values a verifier would refuse.
 */
export function attestationMessage(fields: SignedFieldsOfAnyVersion): Uint8Array {
  const record = fields as unknown as Record<string, unknown>;
  const checked: SignedFieldsOfAnyVersion = isVersion1(fields) ? checkFields(record, 1) : checkFields(record);
  const tag = isVersion1(fields) ? attestationMessageTagVersion1 : attestationMessageTag;
  const amountsPerAsset = isVersion1(fields) ? 3 : 4;
  const symbolBytes = checked.assets.map((asset) => new TextEncoder().encode(asset.symbol));
  let length = tag.length + 8 + 8 + 4 * hashLengthBytes + 8 + 4;
  for (const symbol of symbolBytes) length += 1 + symbol.length + amountsPerAsset * 16;
  const bytes = new Uint8Array(length);
  const view = new DataView(bytes.buffer);
  let offset = 0;
  bytes.set(tag, offset);
  offset += tag.length;
  view.setBigUint64(offset, BigInt(checked.sequence));
  offset += 8;
  view.setBigUint64(offset, BigInt(checked.logTimeMs));
  offset += 8;
  for (const hash of [checked.genesisHash, checked.headHash, checked.stateHash, checked.liabilitiesRoot]) {
    bytes.set(lowerHexToBytes(hash, hashLengthBytes)!, offset);
    offset += hashLengthBytes;
  }
  view.setBigUint64(offset, BigInt(checked.accountCount));
  offset += 8;
  view.setUint32(offset, checked.assets.length);
  offset += 4;
  checked.assets.forEach((asset, index) => {
    const symbol = symbolBytes[index]!;
    bytes[offset] = symbol.length;
    bytes.set(symbol, offset + 1);
    offset += 1 + symbol.length;
    const amounts: string[] = [asset.claims, asset.debts, asset.reserves];
    if ('stressShortfall' in asset) amounts.push((asset as AttestedAsset).stressShortfall);
    for (const amount of amounts) {
      writeUint128(view, offset, BigInt(amount));
      offset += 16;
    }
  });
  if (offset !== length) throw new Error(`attestation message length ${offset} differs from the planned ${length}`);
  return bytes;
}

/**
 * The attestation digest: SHA-256 of the signed message (attestationMessage).
 * An attestation record in the log carries it (docs/attestation.md,
 * "Attestation records"); two attestations for one sequence with different
 * digests are operator equivocation.
 */
export function attestationDigest(fields: SignedFieldsOfAnyVersion): Uint8Array {
  return sha256(attestationMessage(fields));
}

/** attestationDigest as 64 lower-case hex digits, the form the record's `digest` parameter takes. */
export function attestationDigestHex(fields: SignedFieldsOfAnyVersion): string {
  return bytesToLowerHex(attestationDigest(fields));
}

/**
 * Parses an attestation object (as from JSON.parse) strictly: every field the
 * specification names must be present with its exact type and range. Members
 * it does not know (such as the API's derived `short`) are ignored, as the
 * specification requires, and left out of the result.
 */
export function parseAttestation(json: unknown): Attestation {
  if (!isRecord(json)) fail(`an attestation must be a JSON object, got ${shown(json)}.`);
  if (json.version !== attestationVersion) fail(`version must be ${attestationVersion}, got ${shown(json.version)}.`);
  const fields = checkFields(json);
  if (canonicalBase64ToBytes(json.operatorKey, 32) === undefined) {
    fail(`operatorKey must be the canonical base64 of a 32-byte public key, got ${shown(json.operatorKey)}.`);
  }
  if (canonicalBase64ToBytes(json.signature, 64) === undefined) {
    fail(`signature must be the canonical base64 of 64 bytes, got ${shown(json.signature)}.`);
  }
  return assembleAttestation(fields, json.operatorKey as string, json.signature as string);
}

/**
 * Parses an attestation of either version (version 1: docs/attestation.md,
 * "Format versions"), as strictly as parseAttestation parses version 2. For
 * what a ledger written before version 2 holds, and a verifier of its log.
 */
export function parseAttestationOfAnyVersion(json: unknown): AttestationOfAnyVersion {
  if (!isRecord(json) || json.version !== 1) return parseAttestation(json);
  const fields = checkFields(json, 1);
  const { operatorKey, signature } = json;
  if (canonicalBase64ToBytes(operatorKey, 32) === undefined) {
    fail(`operatorKey must be the canonical base64 of a 32-byte public key, got ${shown(operatorKey)}.`);
  }
  if (canonicalBase64ToBytes(signature, 64) === undefined) {
    fail(`signature must be the canonical base64 of 64 bytes, got ${shown(signature)}.`);
  }
  return { ...fields, operatorKey: operatorKey as string, signature: signature as string };
}

/** An attestation from its fields, key and signature, members in the specification's order. */
export function assembleAttestation(fields: AttestationFields, operatorKey: string, signature: string): Attestation {
  return {
    version: attestationVersion,
    sequence: fields.sequence,
    logTimeMs: fields.logTimeMs,
    genesisHash: fields.genesisHash,
    headHash: fields.headHash,
    stateHash: fields.stateHash,
    liabilitiesRoot: fields.liabilitiesRoot,
    accountCount: fields.accountCount,
    assets: fields.assets.map((asset) => ({
      symbol: asset.symbol,
      claims: asset.claims,
      debts: asset.debts,
      reserves: asset.reserves,
      stressShortfall: asset.stressShortfall,
    })),
    operatorKey,
    signature,
  };
}

/**
 * The canonical JSON text of an attestation: members in the order of the
 * specification's example, no whitespace. The ledger stores and serves this
 * text and the export is JSON Lines of it, so it is one fixed string per
 * attestation.
 */
export function encodeAttestationJson(attestation: AttestationOfAnyVersion): string {
  if (attestation.version === 1) {
    const { operatorKey, signature } = attestation;
    return JSON.stringify({ ...attestationFieldsVersion1(attestation), operatorKey, signature });
  }
  return JSON.stringify(assembleAttestation(attestation, attestation.operatorKey, attestation.signature));
}

/**
 * The strict Ed25519 check available in a browser: noble's RFC 8032 branch
 * (canonical encodings, S below the group order, small-order keys refused).
 * It differs from the engine's rule (docs/signature.md) only in using the
 * cofactored equation, which matters only for signatures crafted with
 * small-order components; honest signatures verify identically. Node callers
 * pass the engine's rule instead.
 */
export function verifyWithNobleStrict(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  try {
    return ed25519.verify(signature, message, publicKey, { zip215: false });
  } catch {
    return false;
  }
}

/**
 * Whether the attestation was signed by one of `trustedOperatorKeys` (base64,
 * from the genesis). Never throws: anything malformed is simply not valid.
 */
export function verifyAttestationSignature(
  attestation: AttestationOfAnyVersion,
  trustedOperatorKeys: readonly string[],
  verifySignature: SignatureCheck = verifyWithNobleStrict,
): boolean {
  try {
    if (!trustedOperatorKeys.includes(attestation.operatorKey)) return false;
    const publicKey = canonicalBase64ToBytes(attestation.operatorKey, 32);
    const signature = canonicalBase64ToBytes(attestation.signature, 64);
    if (publicKey === undefined || signature === undefined) return false;
    return verifySignature(publicKey, attestationMessage(attestation), signature) === true;
  } catch {
    return false;
  }
}

/**
 * The symbols of the assets that are short at this attestation: claims −
 * debts > reserves. Computed from signed fields; the flag itself is not signed.
 */
export function shortAssets(attestation: AttestationFields | AttestationVersion1): string[] {
  return attestation.assets
    .filter((asset) => BigInt(asset.claims) - BigInt(asset.debts) > BigInt(asset.reserves))
    .map((asset) => asset.symbol);
}
