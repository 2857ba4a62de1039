/**
 * The node's operator key: `${DATA_DIR}/operator-key.json`, JSON
 * `{"secret": base64 seed, "publicKey": base64}`, mode 0600. Generated on
 * first start; the CLI (`pnpm exchange … --operator-key`) reads the same file.
 */
import { randomBytes } from 'node:crypto';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { accountIdOf, publicKeyFromSeed } from '@vex/engine';

export interface OperatorKey {
  readonly secret: string;
  readonly publicKey: string;
  readonly seed: Uint8Array;
}

export const operatorKeyFileName = 'operator-key.json';
/**
 * The built-in keeper's own key (docs/operator.md, "The keeper"), in the same
 * format: it signs only `liquidate`, which any key may sign, so a leak of it
 * cannot post prices, credit deposits or sign attestations.
 */
export const keeperKeyFileName = 'keeper-key.json';

export class OperatorKeyError extends Error {
  override readonly name = 'OperatorKeyError';
}

export function operatorKeyFromSeed(seed: Uint8Array): OperatorKey {
  return { secret: Buffer.from(seed).toString('base64'), publicKey: accountIdOf(publicKeyFromSeed(seed)), seed };
}

export async function readOperatorKey(file: string): Promise<OperatorKey> {
  let json: unknown;
  try {
    json = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    throw new OperatorKeyError(`${file} is not a readable JSON key file: ${(error as Error).message}`);
  }
  const fields = json as { secret?: unknown; publicKey?: unknown };
  if (typeof fields.secret !== 'string') throw new OperatorKeyError(`${file} has no "secret".`);
  const seed = Buffer.from(fields.secret, 'base64');
  if (seed.length !== 32 || seed.toString('base64') !== fields.secret)
    throw new OperatorKeyError(`${file}: "secret" must be the base64 of a 32-byte seed.`);
  const key = operatorKeyFromSeed(new Uint8Array(seed));
  if (fields.publicKey !== undefined && fields.publicKey !== key.publicKey) {
    throw new OperatorKeyError(`${file}: "publicKey" does not belong to "secret".`);
  }
  return key;
}

/**
 * Reads the operator key of a data directory (or another key file of it, as
 * the keeper's), generating it on first start. An absolute `fileName` is used as is.
 */
export async function loadOrCreateOperatorKey(
  dataDirectory: string,
  fileName: string = operatorKeyFileName,
): Promise<{ key: OperatorKey; file: string; created: boolean; warning?: string }> {
  const file = resolve(dataDirectory, fileName);
  const key = operatorKeyFromSeed(new Uint8Array(randomBytes(32)));
  try {
    // 'wx': never overwrite; if two processes race, one of them reads the other's key.
    await writeFile(file, `${JSON.stringify({ secret: key.secret, publicKey: key.publicKey }, null, 2)}\n`, {
      mode: 0o600,
      flag: 'wx',
    });
    return { key, file, created: true };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  const existing = await readOperatorKey(file);
  const mode = (await stat(file)).mode & 0o777;
  return {
    key: existing,
    file,
    created: false,
    ...(mode & 0o077
      ? { warning: `${file} is readable by other users (mode ${mode.toString(8)}); chmod 600 it.` }
      : {}),
  };
}
