/**
 * @vex/replayer: the standalone verifier. It depends on the engine only and
 * re-checks a log export from its genesis: the chain, every signature, every
 * transition, every attestation (and optionally a snapshot); it also checks
 * inclusion proofs offline. docs/replayer.md describes it; src/cli.ts is its
 * command line.
 */
export {
  replayLog,
  type ReplayOptions,
  type ReplayProgress,
  type ReplayReport,
  type ReplayVerified,
  type ReplayDiverged,
  type FlaggedAttestation,
} from './replay-log.js';
export type {
  Divergence,
  DivergenceCheck,
  LogCheck,
  AttestationCheck,
  RecordCheck,
  SnapshotCheck,
  Equivocation,
  EquivocationEvidence,
} from './divergence.js';
export { ReplayInputError } from './replay-input-error.js';
export {
  defaultLiquidationGraceMs,
  type LateLiquidation,
  type LiquidationTimelinessReport,
} from './liquidation-timeliness.js';
export {
  checkInclusionProof,
  shortAssetsOfProof,
  type InclusionProofCheck,
  type InclusionProofCheckOptions,
  type OpenedLog,
} from './inclusion-proof-check.js';
export {
  openByteSource,
  openAttestationLines,
  readJsonLines,
  logExportUrl,
  attestationsExportUrl,
  isHttpUrl,
  type ByteSource,
} from './input-source.js';
export {
  SignatureVerifierPool,
  SignatureWorkerError,
  type BatchVerdicts,
  type PreloadedSignatureBatch,
} from './signature-verifier-pool.js';
export {
  SignatureBatchBuilder,
  verifySignatureBatch,
  verdictNames,
  verdictName,
  type SignatureBatch,
  type SignatureEquation,
} from './signature-batch.js';
export { startTypeScriptWorker } from './typescript-worker.js';
export { ChainCheckCollector, checkChain, type ChainCheckResult } from './chain-check.js';
export { forcedExitServedBy } from './chain-check-forced-exits.js';
export { committedPrices } from './committed-prices.js';
export {
  commitDigest,
  commitDivergence,
  signingRefusal,
  signatureRequestToJson,
  signatureRequestFromJson,
  type CommitPayout,
  type SignatureRequest,
  type VaultIdentity,
} from './commit-check.js';
export { LogFollower, type LogFollowerOptions } from './follow-source.js';
export {
  FollowingWatchtower,
  serveWatchtower,
  type SigningAnswer,
  type WatchtowerOptions as FollowingWatchtowerOptions,
} from './watchtower.js';
