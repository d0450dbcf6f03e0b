export {
  type BuildTemplateOptions,
  type BuildTemplateResult,
  buildTemplate,
  builtInTemplateHash,
  isTemplateCurrent,
  type TemplateProgress,
} from './build-template.js';
export {
  builtInRecipes,
  canonicalTemplateName,
  interpreterPort,
  jsRunnerBundle,
  recipeChain,
} from './built-in-templates.js';
export { currentTemplateBuild } from './template-builds.js';
export { defaultTemplatesDir, isTemplateBuilt, templateRootfs } from './template-paths.js';
export { baseRecipe, type ReadyCheck, recipeHash, type StartCommand, type TemplateRecipe } from './template-recipe.js';
