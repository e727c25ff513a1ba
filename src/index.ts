/** certswap's public API. */
export { GenerationStore, type StoreOptions, type InstallResult, type VerifyResult } from './store.js';
export type { StageResult } from './stage.js';
export type { SwitchResult, RollbackResult, Uninstalled, ActivateOptions } from './switch.js';
export type { Trial } from './trial.js';
export type { PruneResult } from './prune.js';
export { DEFAULT_KEEP } from './prune.js';
export type { RecoverResult } from './recover.js';
export type { StoreStatus, GenerationStatus } from './status.js';
export type { ActivePair } from './read-active.js';
export type { CertInfo } from './cert-info.js';
export type { Log } from './context.js';
export { CertswapError, ErrorCodes, isCertswapError, type CertswapCode } from './errors.js';
export { validatePair, type PairInput, type ValidatedPair, type ValidationOptions, type ExtendedKeyUsage } from './validate.js';
export { readPairFiles, readInputFile, type PairFiles } from './input.js';
export { parseGeneration, StorePaths } from './layout.js';
export { createLogger, type LoggerOptions } from './log.js';
export { StoreWatcher, watchStore, type WatchOptions, type WatchMode, type StoreChange, type StoreWatcherEvents } from './watch.js';
export { TlsIdentity, type TlsIdentityOptions, type TlsIdentityEvents } from './tls-identity.js';
