import { SandboxdError } from '@sandboxd/common';
import { builtInRecipes, canonicalTemplateName, isTemplateBuilt } from '@sandboxd/runtime';

/**
 * The template a create names, as this server will start it: an alias (`code-interpreter`) is
 * its target (`code-interpreter-v1`). A built-in template that is not built here yet answers
 * TEMPLATE_NOT_BUILT with the command that builds it; anything else unknown TEMPLATE_NOT_FOUND.
 */
export async function resolveTemplate(templatesDir: string, requested: string): Promise<string> {
  const name = canonicalTemplateName(requested);
  if (await isTemplateBuilt(templatesDir, name)) return name;
  if (builtInRecipes[name]) {
    throw new SandboxdError(
      'TEMPLATE_NOT_BUILT',
      `template '${requested}' is not built on this server yet: build it with \`sandboxd template build ${name}\` ` +
        `(or \`npm run setup -- --templates ${name}\`), then create again`,
    );
  }
  throw new SandboxdError('TEMPLATE_NOT_FOUND', `template '${requested}' not found`);
}
