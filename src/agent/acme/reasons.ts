/** The revocation reasons an ACME server takes (RFC 8555 §7.6, RFC 5280 §5.3.1 CRLReason codes). */
export const REVOCATION_REASONS = {
  unspecified: 0,
  keyCompromise: 1,
  affiliationChanged: 3,
  superseded: 4,
  cessationOfOperation: 5,
} as const;

export type RevocationReason = keyof typeof REVOCATION_REASONS;

export function isRevocationReason(r: string): r is RevocationReason {
  return Object.hasOwn(REVOCATION_REASONS, r);
}
