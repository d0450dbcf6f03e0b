import { ENVD_START_ENV, encodeEnvdStartConfig } from '@sandboxd/protocol';
import type { TemplateBuild } from '../images/template-builds.js';

/** envd's variable naming the template's start command (none for a template without one). */
export function templateStartEnv(template: TemplateBuild): Record<string, string> {
  if (!template.start) return {};
  const { start, ready } = template;
  return {
    [ENVD_START_ENV]: encodeEnvdStartConfig({
      start: { cmd: start.cmd, user: start.user, cwd: start.cwd, ...(start.env ? { env: { ...start.env } } : {}) },
      ...(ready ? { ready: { cmd: ready.cmd, timeoutMs: ready.timeoutMs } } : {}),
    }),
  };
}
