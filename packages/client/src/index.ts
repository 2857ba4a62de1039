/**
 * @vex/client: the browser- and Node-ready SDK of the exchange.
 * (The CLI, src/cli.ts, is Node-only and not exported here.)
 */
export { ExchangeClient, type ExchangeClientOptions, type FetchFunction } from './client.js';
export { ExchangeError, ClientInputError, errorFromResponse, isErrorBody } from './errors.js';
export {
  generateKeyPair,
  keyPairFromSecret,
  keyPairFromSeed,
  publicKeyFromSecret,
  decodeSecret,
  isPublicKeyText,
  type KeyPair,
} from './keys.js';
export {
  Signer,
  buildSigningString,
  signInstructions,
  signedHeaders,
  stringifyValue,
  sortedParameters,
  requiresPercentEncoding,
  effectiveEncoding,
  defaultWindowMs,
  maximumWindowMs,
  type InstructionGroup,
  type InstructionParameters,
  type ParameterValue,
  type SignedMessage,
  type SignedHeaders,
  type SignOptions,
  type SigningStringOptions,
  type ValueEncoding,
} from './signing.js';
export { publicRoutes, signedRoutes, operatorInstructions, type Route, type SignedRoute } from './routes.js';
export { encodeBase64, decodeBase64 } from './base64.js';
export * from './types.js';
// Checking the operator's claims needs no trust in the server: the engine's browser-safe verifiers.
export {
  verifyInclusionProof,
  verifyAttestationSignature,
  parseAttestation,
  shortAssets,
  attestationMessage,
  attestationDigestHex,
  verifyProofAgainstPublished,
  compareWithPublished,
  AttestationFormatError,
  type PublishedProofCheck,
  type PublishedComparison,
  type AttestationEquivocation,
  type SignedAttestationEvidence,
  type ProofBasis,
  type InclusionProofVerdict,
  type VerifyInclusionProofOptions,
  type SignatureCheck,
} from '@vex/engine/verify';
