/**
 * `@vex/engine/verify`: what a browser needs to check the operator's claims,
 * attestations and inclusion proofs, and nothing that needs Node. Only
 * browser-safe modules may be re-exported here (no node: imports, no Buffer).
 */
export * from './attestation.js';
export * from './inclusion-proof.js';
export * from './proof-basis.js';
