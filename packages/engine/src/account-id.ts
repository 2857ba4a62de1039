/**
 * Account ids are the standard base64 of a 32-byte ed25519 public key: 43
 * characters and one `=`. Only the canonical form is accepted (the two
 * padding bits of the last character are zero), so each key has exactly one
 * id and ids sort and hash consistently.
 */
const accountIdPattern = /^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$/;

export function isCanonicalAccountId(text: string): boolean {
  return accountIdPattern.test(text);
}

export function accountIdOf(publicKey: Uint8Array): string {
  return Buffer.from(publicKey.buffer, publicKey.byteOffset, publicKey.byteLength).toString('base64');
}
