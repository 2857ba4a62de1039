/**
 * The worker side of SignatureVerifierPool: verifies batches under the
 * engine's signature rule and answers with one verdict byte per signature.
 * Started by startTypeScriptWorker; it does nothing on the main thread.
 */
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import {
  batchMessageDigests,
  verifySignatureBatch,
  type SignatureBatch,
  type SignatureEquation,
} from './signature-batch.js';
import type { SignatureWorkerReply, SignatureWorkerRequest } from './signature-worker-protocol.js';

function serve(): void {
  const port = parentPort!;
  const equation: SignatureEquation =
    (workerData as { data?: { equation?: SignatureEquation } } | undefined)?.data?.equation ?? 'fastest';
  const loaded = new Map<number, SignatureBatch>();
  // 'verify' (the replay) also answers with the digests its apply needs; 'run' (the limit benchmark) verifies only.
  const answer = (id: number, batch: SignatureBatch, withDigests: boolean): void => {
    const started = process.hrtime.bigint();
    const verdicts = verifySignatureBatch(batch, equation);
    const verifyNs = Number(process.hrtime.bigint() - started);
    const digests = withDigests ? batchMessageDigests(batch) : undefined;
    const reply: SignatureWorkerReply = { type: 'verdicts', id, verdicts, verifyNs, digests };
    port.postMessage(reply, [verdicts.buffer as ArrayBuffer]);
  };
  port.on('message', (request: SignatureWorkerRequest) => {
    try {
      switch (request.type) {
        case 'verify':
          answer(request.id, request.batch, true);
          break;
        case 'load':
          loaded.set(request.id, request.batch);
          port.postMessage({ type: 'loaded', id: request.id } satisfies SignatureWorkerReply);
          break;
        case 'run': {
          const batch = loaded.get(request.id);
          if (batch === undefined) throw new Error(`no batch ${request.id} is loaded`);
          answer(request.id, batch, false);
          break;
        }
        case 'drop':
          loaded.delete(request.id);
          break;
      }
    } catch (error) {
      port.postMessage({
        type: 'failed',
        id: request.id,
        message: error instanceof Error ? error.message : String(error),
      } satisfies SignatureWorkerReply);
    }
  });
}

if (!isMainThread && parentPort !== null) serve();
