/**
 * The account id (base64) of an entry's signing key, remembered for keys seen
 * recently. apply() needs the id of every entry's signer, and a log has far
 * fewer keys than entries; base64 through a Buffer per entry was about 3 % of
 * the replay's main thread. The answer is always accountIdOf(publicKey): a
 * remembered id is returned only when all 32 bytes of its key match, so what
 * is remembered (and when it is forgotten) never changes a result.
 *
 * The keys are remembered in one flat table of bytes, two per set, and the ids
 * in an array beside it. A Map from the key's first four bytes to an object
 * holding a copy of the key (as before) made a lookup four dependent reads of
 * memory (the Map's table, the object, the key's array, its bytes), which a
 * state too large for the cache turned into misses: on the entry bench
 * (packages/engine/bench/entry-apply.bench.ts) about 0.6 µs per entry in the
 * profile. Here a lookup reads the 64 bytes of its set, then the id.
 */
import { accountIdOf } from './account-id.js';

const publicKeyBytes = 32;
/** Sets of two keys each (a power of two): 4,096 keys remembered at most, as before (a bound, not a tuning). */
const setCount = 2048;

/** Key bytes by slot (set × 2 + way), made on first use; way 0 holds the newer key of its set. */
let rememberedKeys: Uint8Array | undefined;
/** The account id of each slot's key, undefined for a slot never filled: every slot present, so a packed array. */
let rememberedIds: (string | undefined)[] = [];

/**
 * The set of a key: its first four bytes folded, so that keys made up in tests and benches (an index in the
 * leading bytes, zeros after) spread as well as real ed25519 keys. Any set is correct; this only spreads them.
 */
function setOf(publicKey: Uint8Array): number {
  const prefix = publicKey[0]! | (publicKey[1]! << 8) | (publicKey[2]! << 16) | (publicKey[3]! << 24);
  return (prefix ^ (prefix >>> 11) ^ (prefix >>> 22)) & (setCount - 1);
}

function matchesSlot(keys: Uint8Array, slot: number, publicKey: Uint8Array): boolean {
  const start = slot * publicKeyBytes;
  for (let index = 0; index < publicKeyBytes; index += 1) if (keys[start + index] !== publicKey[index]) return false;
  return true;
}

/** accountIdOf(publicKey), without re-encoding a key seen recently. */
export function signerAccountId(publicKey: Uint8Array): string {
  if (publicKey.length !== publicKeyBytes) return accountIdOf(publicKey);
  if (rememberedKeys === undefined) {
    rememberedKeys = new Uint8Array(setCount * 2 * publicKeyBytes);
    rememberedIds = Array.from({ length: setCount * 2 }, () => undefined);
  }
  const keys = rememberedKeys;
  const newer = 2 * setOf(publicKey);
  const newerId = rememberedIds[newer];
  if (newerId !== undefined && matchesSlot(keys, newer, publicKey)) return newerId;
  const olderId = rememberedIds[newer + 1];
  if (olderId !== undefined && matchesSlot(keys, newer + 1, publicKey)) return olderId;
  const accountId = accountIdOf(publicKey);
  // The newer key of the set becomes the older; the older is forgotten. The bytes are copied: the caller's may
  // be a view into a buffer that is reused.
  if (newerId !== undefined) {
    keys.copyWithin((newer + 1) * publicKeyBytes, newer * publicKeyBytes, (newer + 1) * publicKeyBytes);
    rememberedIds[newer + 1] = newerId;
  }
  keys.set(publicKey, newer * publicKeyBytes);
  rememberedIds[newer] = accountId;
  return accountId;
}
