/** The messages between SignatureVerifierPool and its worker threads (signature-worker.ts). */
import type { SignatureBatch } from './signature-batch.js';

export type SignatureWorkerRequest =
  /** Verify the batch now and answer with its verdicts. */
  | { readonly type: 'verify'; readonly id: number; readonly batch: SignatureBatch }
  /** Keep the batch for a later 'run' (benchmarks time verification alone this way). */
  | { readonly type: 'load'; readonly id: number; readonly batch: SignatureBatch }
  | { readonly type: 'run'; readonly id: number }
  | { readonly type: 'drop'; readonly id: number };

export type SignatureWorkerReply =
  | {
      readonly type: 'verdicts';
      readonly id: number;
      readonly verdicts: Uint8Array;
      readonly verifyNs: number;
      /** For 'verify' only: each item's message digest (signature-batch.ts, batchMessageDigests). */
      readonly digests?: string;
    }
  | { readonly type: 'loaded'; readonly id: number }
  | { readonly type: 'failed'; readonly id: number; readonly message: string };
