/**
 * A worker thread that signs benchmark messages, so that generating a log of
 * a million signed entries takes seconds per core rather than minutes on one.
 *
 * It signs with node:crypto (OpenSSL), several times faster than the
 * engine's signMessage (noble, pure JavaScript). Ed25519 signing is
 * deterministic, so both produce the same bytes for the same seed and
 * message; the generator checks a sample against signMessage, and the replay
 * itself verifies every signature.
 */
import { createPrivateKey, sign, type KeyObject } from 'node:crypto';
import { isMainThread, parentPort, workerData } from 'node:worker_threads';

export interface SigningRequest {
  readonly id: number;
  readonly count: number;
  /** Index into the seeds the worker was started with, one per message. */
  readonly signerIndexes: Uint32Array;
  readonly messageBytes: Uint8Array;
  /** count + 1 offsets into messageBytes. */
  readonly messageOffsets: Uint32Array;
}

export interface SigningReply {
  readonly id: number;
  /** count × 64 bytes. */
  readonly signatures: Uint8Array;
}

/** PKCS#8 DER of an Ed25519 private key, without the 32-byte seed that follows. */
const pkcs8Prefix = Buffer.from('302e020100300506032b657004220420', 'hex');

function serve(): void {
  const seeds = (workerData as { data: { seeds: Uint8Array } }).data.seeds;
  const keys: KeyObject[] = [];
  for (let offset = 0; offset < seeds.length; offset += 32) {
    keys.push(
      createPrivateKey({
        key: Buffer.concat([pkcs8Prefix, seeds.subarray(offset, offset + 32)]),
        format: 'der',
        type: 'pkcs8',
      }),
    );
  }
  const port = parentPort!;
  port.on('message', (request: SigningRequest) => {
    const signatures = new Uint8Array(request.count * 64);
    for (let index = 0; index < request.count; index += 1) {
      const message = request.messageBytes.subarray(request.messageOffsets[index]!, request.messageOffsets[index + 1]!);
      signatures.set(sign(null, message, keys[request.signerIndexes[index]!]!), index * 64);
    }
    port.postMessage({ id: request.id, signatures } satisfies SigningReply, [signatures.buffer]);
  });
}

if (!isMainThread && parentPort !== null) serve();
