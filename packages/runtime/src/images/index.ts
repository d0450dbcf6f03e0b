export {
  type BuildTemplateOptions,
  type BuildTemplateResult,
  buildTemplate,
  isTemplateCurrent,
  type TemplateProgress,
} from './build-template.js';
export { defaultTemplatesDir, isTemplateBuilt, templateRootfs } from './template-paths.js';
export { baseRecipe, recipeHash, type TemplateRecipe } from './template-recipe.js';
