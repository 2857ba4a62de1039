/**
 * Bad input: a file that cannot be read or is malformed (not an export, a
 * truncated frame, an attestation line that is not JSON, …), a partial export
 * the replayer cannot start from, or a node that does not answer. The CLI
 * exits with code 2 for it. A well-formed input whose content disagrees with
 * the replay is not an input error but a divergence (ReplayDivergence).
 */
export class ReplayInputError extends Error {
  override readonly name = 'ReplayInputError';
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
