export { type Clock, systemClock } from './clock.js';
export {
  type ErrorCode,
  type ErrorKind,
  e2bErrorCode,
  errorCatalog,
  SandboxdError,
  type SandboxdErrorOptions,
} from './errors.js';
export { httpStatusForKind } from './http-status.js';
export { isSandboxId, isTemplateId, newSandboxId, randomToken } from './ids.js';
export { createLogger, type Logger, type LogLevel, silentLogger } from './log.js';
export { type Disposer, Scope } from './scope.js';
