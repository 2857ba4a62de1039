/**
 * The account id (base64) of an entry's signing key, remembered for keys seen
 * recently. apply() needs the id of every entry's signer, and a log has far
 * fewer keys than entries; base64 through a Buffer per entry was about 3 % of
 * the replay's main thread. The answer is always accountIdOf(publicKey): a
 * remembered id is returned only when all 32 bytes of its key match, so what
 * is remembered (and when it is forgotten) never changes a result.
 */
import { accountIdOf } from './account-id.js';

const publicKeyBytes = 32;
/** At most this many keys are remembered; past it the memory starts again (a bound, not a tuning). */
const maximumRemembered = 4096;

interface RememberedKey {
  readonly publicKey: Uint8Array;
  readonly accountId: string;
}

/** By the key's first four bytes (a small integer Map key); a key sharing them with another is simply recomputed. */
const remembered = new Map<number, RememberedKey>();

function sameKey(left: Uint8Array, right: Uint8Array): boolean {
  for (let index = 0; index < publicKeyBytes; index += 1) if (left[index] !== right[index]) return false;
  return true;
}

/** accountIdOf(publicKey), without re-encoding a key seen recently. */
export function signerAccountId(publicKey: Uint8Array): string {
  if (publicKey.length !== publicKeyBytes) return accountIdOf(publicKey);
  const prefix = (publicKey[0]! | (publicKey[1]! << 8) | (publicKey[2]! << 16) | (publicKey[3]! << 24)) >>> 0;
  const known = remembered.get(prefix);
  if (known !== undefined && sameKey(known.publicKey, publicKey)) return known.accountId;
  const accountId = accountIdOf(publicKey);
  if (remembered.size >= maximumRemembered) remembered.clear();
  // A copy: the caller's bytes may be a view into a buffer that is reused.
  remembered.set(prefix, { publicKey: publicKey.slice(), accountId });
  return accountId;
}
