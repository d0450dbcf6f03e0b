/**
 * TypeScript cells: types are stripped by sucrase (bundled into the runner; it keeps every line
 * where it was, so stack traces still point at the user's lines), then the cell runs as JavaScript.
 * There is no type checking. Enums and namespaces are compiled; decorators are not supported.
 */
import { transform } from 'sucrase';

export function isTypeScript(language: string | undefined): boolean {
  const name = (language ?? '').toLowerCase();
  return name === 'ts' || name === 'typescript';
}

export function stripTypes(code: string): string {
  return transform(code, {
    transforms: ['typescript'],
    // Leave modern syntax alone (Node runs it) and keep imports: a name unused in this cell is
    // usually meant for the next one.
    disableESTransforms: true,
    keepUnusedImports: true,
  }).code;
}
