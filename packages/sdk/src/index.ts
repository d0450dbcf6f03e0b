// Everything e2b exports, unchanged, with our Sandbox in place of e2b's (an explicit export
// shadows the star export of the same name).
export * from 'e2b';
export { E2B } from './client.js';
export { DEFAULT_URL } from './config.js';
export { MetadataValidationError } from './errors.js';
export { EventStreamError } from './event-stream.js';
export type { CloseReason, SandboxEvent, SandboxEventHandler, SandboxEventName } from './events.js';
export type { MetadataUpdate } from './metadata.js';
export { SandboxPool } from './pool.js';
export { createSandboxWithRetry, isFinalCreateError } from './retry.js';
export {
  Sandbox,
  type SandboxdApiOpts,
  type SandboxdListOpts,
  type SandboxdRequestOpts,
  type SandboxStatus,
} from './sandbox.js';

import { Sandbox } from './sandbox.js';
export default Sandbox;
