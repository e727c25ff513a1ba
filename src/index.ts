/** certswap's public API: exactly what docs/library.md documents (test/unit/index.test.ts holds the two together). */
export {
  GenerationStore,
  type StoreOptions,
  type InstallResult,
  type VerifyResult,
  type OutputOptions,
} from './store/store.js';
export type { AccessOptions } from './store/access.js';
export type { Format } from './store/formats.js';
export { checkServed, type ServedOptions, type ServedCheck } from './consumers/served.js';
export type { StageResult } from './store/ops/stage.js';
export type { SwitchResult, RollbackResult, Uninstalled, ActivateOptions } from './store/ops/switch.js';
export type { Trial } from './store/records/trial.js';
export type { PruneResult } from './store/ops/prune.js';
export { DEFAULT_KEEP } from './store/ops/prune.js';
export type { RecoverResult, RecoverProblem } from './store/ops/recover.js';
export type { StoreStatus, GenerationStatus, StatusProblem } from './store/ops/status.js';
export type { ActivePair } from './store/read-active.js';
export type { CertInfo } from './pki/cert-info.js';
export type { Log } from './store/context.js';
export type { StorePaths } from './store/layout.js';
export {
  CertswapError,
  ErrorCodes,
  isCertswapError,
  type CertswapCode,
  type ErrorCode,
  type ErrnoCode,
} from './errors.js';
export {
  validatePair,
  type PairInput,
  type ValidatedPair,
  type ValidationOptions,
  type ExtendedKeyUsage,
} from './pki/validate.js';
export { readPairFiles, type PairFiles } from './io/input.js';
export { createLogger, type LoggerOptions } from './log.js';
export {
  StoreWatcher,
  watchStore,
  type WatchOptions,
  type WatchMode,
  type StoreChange,
  type StoreWatcherEvents,
} from './consumers/watch.js';
export { TlsIdentity, type TlsIdentityOptions, type TlsIdentityEvents } from './consumers/tls-identity.js';
export { useBlockingIo } from './io/fs.js';
