export { checkHost, type HostCheck } from './host/check-host.js';
export { criuCheck, defaultCriuBinary } from './host/criu.js';
export { defaultHelpersDir, ensureHelpers, type HelperPaths } from './host/ensure-helpers.js';
export {
  type BuildTemplateOptions,
  type BuildTemplateResult,
  buildTemplate,
  builtInRecipes,
  canonicalTemplateName,
  currentTemplateBuild,
  defaultTemplatesDir,
  interpreterPort,
  isTemplateBuilt,
  isTemplateCurrent,
  jsRunnerBundle,
  recipeChain,
  type TemplateProgress,
  templateRootfs,
} from './images/index.js';
export { isAlive } from './process/is-alive.js';
export { RuncRuntime, type RuncRuntimeOptions } from './runc/index.js';
export type {
  PausedSandbox,
  PauseOptions,
  ResumeOptions,
  RuntimeSandbox,
  RuntimeSandboxStatus,
  SandboxEndpoint,
  SandboxLimits,
  SandboxRuntime,
  SandboxSpec,
} from './runtime.js';
export { defaultSnapshotsDir } from './snapshots/snapshot-record.js';
