/** The attestation maker's work timed part by part (margin-attest.bench.ts, perp-attest.bench.ts). */
import {
  attestationFieldsOf,
  signAttestation,
  type ExchangeState,
  type LiabilitiesTree,
  type StateCommitment,
} from '../src/index.js';
import { timeCall } from './bench-support.js';

const signingSeed = new Uint8Array(32).fill(7);
const headHash = new Uint8Array(32).fill(1);
const genesisHash = new Uint8Array(32).fill(2);

export interface PartTime {
  wallMs: number;
  cpuMs: number;
}

export interface AttestationTimes {
  readonly tree: PartTime;
  readonly commitment: PartTime;
  readonly fields: PartTime;
  readonly signature: PartTime;
}

/**
 * What the node's attestation maker does at `sequence`, on this thread, after
 * a collection: the tree's update, the state commitment's update, the fields
 * and the signature, each timed (wall clock and process CPU).
 */
export function timedAttestation(
  state: ExchangeState,
  tree: LiabilitiesTree,
  commitment: StateCommitment,
  sequence: number,
): AttestationTimes {
  global.gc?.();
  let root = tree.root();
  let stateCommitment: Uint8Array = new Uint8Array(32);
  let fields: ReturnType<typeof attestationFieldsOf> | undefined;
  const treeTime = timeCall(() => (root = tree.update(state, sequence)));
  const commitmentTime = timeCall(() => (stateCommitment = commitment.update(state)));
  const fieldsTime = timeCall(
    () => (fields = attestationFieldsOf(state, root, sequence, headHash, genesisHash, stateCommitment)),
  );
  const signatureTime = timeCall(() => signAttestation(fields!, signingSeed));
  return { tree: treeTime, commitment: commitmentTime, fields: fieldsTime, signature: signatureTime };
}
