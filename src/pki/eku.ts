/**
 * Extended key usages: the names certswap takes (configuration, --require-eku) and their OIDs.
 * The one list: validation checks against it, the CSR and the local CA write from it, and the
 * configuration and the CLI parse with it.
 */

export const EKU_OIDS = { serverAuth: '1.3.6.1.5.5.7.3.1', clientAuth: '1.3.6.1.5.5.7.3.2' } as const;

export type ExtendedKeyUsage = keyof typeof EKU_OIDS;

export const EXTENDED_KEY_USAGES = Object.keys(EKU_OIDS) as ExtendedKeyUsage[];

/** Whether `name` is an extended key usage certswap knows. */
export function isExtendedKeyUsage(name: unknown): name is ExtendedKeyUsage {
  return typeof name === 'string' && Object.hasOwn(EKU_OIDS, name);
}
