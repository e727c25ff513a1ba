/** Types for naive-swap.mjs (the seed design), for the benchmark that times it. */
export function naiveInstall(dir: string, cert: Uint8Array | string, key: Uint8Array | string, step: (op: string, path: string) => void): void;
