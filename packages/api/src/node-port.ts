/**
 * What the HTTP API needs from the durable node: the part of @vex/ledger's
 * ExchangeNode (docs/node-interface.md) that the routes and streams use. The
 * record types are the ledger's own, so the two can never drift apart.
 */
import type { ExchangeNode } from '@vex/ledger';

export type {
  CommittedEntry,
  FillRecord,
  ProofAnswer,
  StoredSnapshot,
  HistoryIndex,
  NodeHead,
  Page,
  PublicTrade,
  SubmitResult,
  TradeRange,
} from '@vex/ledger';

/** The node as the API uses it. */
export type ExchangeNodePort = Pick<
  ExchangeNode,
  | 'submit'
  | 'state'
  | 'history'
  | 'head'
  | 'subscribe'
  | 'readEntries'
  | 'exportLog'
  | 'close'
  | 'haltedBy'
  | 'latestAttestation'
  | 'attestationAt'
  | 'readAttestations'
  | 'exportAttestations'
  | 'proof'
  | 'readLatestSnapshot'
  | 'statistics'
  | 'subscribeCommits'
>;
