export type {
  RuntimeSandbox,
  RuntimeSandboxStatus,
  SandboxEndpoint,
  SandboxLimits,
  SandboxRuntime,
  SandboxSpec,
} from './runtime.js';
