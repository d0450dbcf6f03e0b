/**
 * Turns one notebook cell into a script that behaves like a REPL input when run in the main realm:
 * top-level declarations become globals (so later cells see them and re-running a cell that says
 * `const x = …` does not fail), and a cell with top-level `await` or `import` runs inside an async
 * wrapper whose last expression comes back as the result.
 *
 * Cells without top-level await stay plain scripts on purpose: they run synchronously inside the
 * SIGINT watchdog, and the script's completion value is exactly what a REPL shows.
 * Every edit keeps line breaks where they were, so stack traces point at the user's lines.
 */
import { type Node, parse } from 'acorn';

export interface PreparedCell {
  source: string;
  /** The script evaluates to a Promise of `{ value }` (the async wrapper) instead of the value itself. */
  isAsync: boolean;
}

// acorn's ESTree nodes, seen through the few fields this module reads.
type AnyNode = Node & Record<string, unknown>;
interface Edit {
  start: number;
  end: number;
  text: string;
}

/**
 * Applied from the end of the source backwards. At one position a replacement goes first, then the
 * insertions, so that the insertions end up in the order they were made.
 */

/** The global that `import()` in a cell is rewritten to call (see modules.ts for why). */
export const IMPORT_FUNCTION = '__sandboxdImport';

const FUNCTION_TYPES = new Set(['FunctionDeclaration', 'FunctionExpression', 'ArrowFunctionExpression']);

function parseScript(code: string): AnyNode {
  return parse(code, {
    ecmaVersion: 'latest',
    sourceType: 'script',
    allowAwaitOutsideFunction: true,
    // Lets `import x from 'y'` parse in a script; it is rewritten to `await import('y')` below.
    allowImportExportEverywhere: true,
    allowHashBang: true,
  }) as unknown as AnyNode;
}

function children(node: AnyNode): AnyNode[] {
  const out: AnyNode[] = [];
  for (const [key, value] of Object.entries(node)) {
    if (key === 'loc' || key === 'range') continue;
    if (Array.isArray(value)) {
      for (const item of value) if (item && typeof item === 'object' && 'type' in item) out.push(item as AnyNode);
    } else if (value && typeof value === 'object' && 'type' in value) {
      out.push(value as AnyNode);
    }
  }
  return out;
}

/** Visits every node that runs in the cell's own scope (not inside a nested function or static block). */
function walkCellScope(
  node: AnyNode,
  visit: (node: AnyNode, parent: AnyNode | null) => void,
  parent: AnyNode | null = null,
) {
  visit(node, parent);
  for (const child of children(node)) {
    if (FUNCTION_TYPES.has(child.type) || child.type === 'StaticBlock') continue;
    walkCellScope(child, visit, node);
  }
}

/**
 * A vm.Script's own `import()` needs --experimental-vm-modules on Node 18 and 20, so every
 * `import(…)` in the cell, nested functions included, becomes a call of our loader instead.
 */
function rewriteDynamicImports(node: AnyNode, edits: Edit[]): void {
  if (node.type === 'ImportExpression') {
    edits.push({ start: node.start, end: node.start + 'import'.length, text: IMPORT_FUNCTION });
  }
  for (const child of children(node)) rewriteDynamicImports(child, edits);
}

function boundNames(pattern: AnyNode | null, out: string[]): string[] {
  if (!pattern) return out;
  switch (pattern.type) {
    case 'Identifier':
      out.push(pattern.name as string);
      break;
    case 'ObjectPattern':
      for (const prop of pattern.properties as AnyNode[]) {
        boundNames((prop.type === 'RestElement' ? prop.argument : prop.value) as AnyNode, out);
      }
      break;
    case 'ArrayPattern':
      for (const element of pattern.elements as (AnyNode | null)[]) boundNames(element, out);
      break;
    case 'RestElement':
      boundNames(pattern.argument as AnyNode, out);
      break;
    case 'AssignmentPattern':
      boundNames(pattern.left as AnyNode, out);
      break;
  }
  return out;
}

function needsAsync(program: AnyNode): boolean {
  let found = false;
  walkCellScope(program, (node) => {
    if (node.type === 'AwaitExpression' || node.type === 'ImportDeclaration') found = true;
    if (node.type === 'ForOfStatement' && node.await) found = true;
  });
  return found;
}

/** A node REPL reads `{ a: 1 }` as an object literal, not a block; so do we. */
function objectLiteralCell(code: string): string | null {
  if (!/^\s*\{/.test(code) || /;\s*$/.test(code)) return null;
  const wrapped = `(${code}\n)`;
  try {
    const program = parseScript(wrapped);
    const body = program.body as AnyNode[];
    return body.length === 1 && body[0]?.type === 'ExpressionStatement' ? wrapped : null;
  } catch {
    return null;
  }
}

function applyEdits(code: string, edits: Edit[]): string {
  let out = code;
  const ordered = edits.map((edit, index) => ({ edit, index }));
  ordered.sort((a, b) => b.edit.start - a.edit.start || b.edit.end - a.edit.end || b.index - a.index);
  for (const { edit } of ordered) {
    out = out.slice(0, edit.start) + edit.text + out.slice(edit.end);
  }
  return out;
}

/** Strips `export` so declarations in a pasted module still run; bare `export { … }` lists are dropped. */
function unexport(statement: AnyNode, edits: Edit[]): AnyNode | null {
  if (statement.type === 'ExportNamedDeclaration' || statement.type === 'ExportDefaultDeclaration') {
    const declaration = statement.declaration as AnyNode | null;
    if (!declaration) {
      edits.push({ start: statement.start, end: statement.end, text: '' });
      return null;
    }
    edits.push({ start: statement.start, end: declaration.start, text: '' });
    return declaration;
  }
  if (statement.type === 'ExportAllDeclaration') {
    edits.push({ start: statement.start, end: statement.end, text: '' });
    return null;
  }
  return statement;
}

function prepareSync(program: AnyNode, code: string): PreparedCell {
  const edits: Edit[] = [];
  rewriteDynamicImports(program, edits);
  for (const statement of program.body as AnyNode[]) {
    const node = unexport(statement, edits);
    if (!node) continue;
    if (node.type === 'VariableDeclaration' && node.kind !== 'var') {
      // Global lexical bindings cannot be declared twice; a var can, which is what re-running a cell needs.
      edits.push({ start: node.start, end: node.start + (node.kind as string).length, text: 'var' });
    } else if (node.type === 'ClassDeclaration' && node.id) {
      const name = (node.id as AnyNode).name as string;
      edits.push({ start: node.start, end: node.start, text: `var ${name} = ` });
      edits.push({ start: node.end, end: node.end, text: ';' });
    }
  }
  return { source: applyEdits(code, edits), isAsync: false };
}

/** `const a = 1, {b} = o` → `void (a = 1, {b} = o)`: the names are declared outside the wrapper. */
function declarationToAssignment(node: AnyNode, source: string, edits: Edit[], inForInit: boolean): void {
  const declarators = node.declarations as AnyNode[];
  const first = declarators[0];
  const last = declarators[declarators.length - 1];
  if (!first || !last) return;
  edits.push({ start: node.start, end: first.start, text: 'void (' });
  for (const declarator of declarators) {
    if (!declarator.init && node.kind !== 'var') {
      const id = declarator.id as AnyNode;
      edits.push({ start: id.end, end: id.end, text: ' = undefined' });
    }
  }
  const hasSemicolon = source.slice(node.start, node.end).endsWith(';');
  edits.push({ start: last.end, end: last.end, text: inForInit || hasSemicolon ? ')' : ');' });
}

function importToAssignment(node: AnyNode, edits: Edit[], names: string[]): void {
  const source = JSON.stringify((node.source as AnyNode).value);
  const load = `await ${IMPORT_FUNCTION}(${source})`;
  const parts: string[] = [];
  let namespace: string | null = null;
  for (const specifier of node.specifiers as AnyNode[]) {
    const local = (specifier.local as AnyNode).name as string;
    names.push(local);
    if (specifier.type === 'ImportNamespaceSpecifier') namespace = local;
    else if (specifier.type === 'ImportDefaultSpecifier') parts.push(`default: ${local}`);
    else {
      const imported = specifier.imported as AnyNode;
      const key = imported.type === 'Literal' ? JSON.stringify(imported.value) : (imported.name as string);
      parts.push(`${key}: ${local}`);
    }
  }
  let text: string;
  if (namespace) {
    text = `void (${namespace} = ${load}${parts.length ? `, {${parts.join(', ')}} = ${namespace}` : ''});`;
  } else if (parts.length) {
    text = `void ({${parts.join(', ')}} = ${load});`;
  } else {
    text = `${load};`;
  }
  edits.push({ start: node.start, end: node.end, text });
}

function prepareAsync(program: AnyNode, source: string): PreparedCell {
  const edits: Edit[] = [];
  rewriteDynamicImports(program, edits);
  const names: string[] = [];
  const functions: string[] = [];
  const body = program.body as AnyNode[];
  const topLevel = new Set<AnyNode>();

  body.forEach((statement, index) => {
    const node = unexport(statement, edits);
    if (!node) return;
    topLevel.add(node);
    if (node.type === 'VariableDeclaration') {
      for (const declarator of node.declarations as AnyNode[]) boundNames(declarator.id as AnyNode, names);
      declarationToAssignment(node, source, edits, false);
    } else if (node.type === 'ClassDeclaration' && node.id) {
      const name = (node.id as AnyNode).name as string;
      names.push(name);
      edits.push({ start: node.start, end: node.start, text: `${name} = ` });
      edits.push({ start: node.end, end: node.end, text: ';' });
    } else if (node.type === 'FunctionDeclaration' && node.id) {
      // Stays hoisted inside the wrapper; copied to the global at the wrapper's start.
      functions.push((node.id as AnyNode).name as string);
    } else if (node.type === 'ImportDeclaration') {
      importToAssignment(node, edits, names);
    } else if (node.type === 'ExpressionStatement' && index === body.length - 1) {
      const expression = node.expression as AnyNode;
      edits.push({ start: expression.start, end: expression.start, text: 'return { value: (' });
      edits.push({ start: expression.end, end: expression.end, text: ') };' });
    }
  });

  // `var` inside top-level blocks and loops belongs to the cell too, not to the wrapper function.
  walkCellScope(program, (node, parent) => {
    if (node.type !== 'VariableDeclaration' || node.kind !== 'var' || topLevel.has(node)) return;
    for (const declarator of node.declarations as AnyNode[]) boundNames(declarator.id as AnyNode, names);
    const inForHead = parent && (parent.type === 'ForInStatement' || parent.type === 'ForOfStatement');
    if (inForHead && parent.left === node) {
      edits.push({ start: node.start, end: (node.declarations as AnyNode[])[0]?.start ?? node.start, text: '' });
    } else {
      declarationToAssignment(node, source, edits, parent?.type === 'ForStatement' && parent.init === node);
    }
  });

  const unique = [...new Set([...names, ...functions])];
  const declare = unique.length ? `var ${unique.join(', ')}; ` : '';
  const publish = functions.map((name) => `globalThis[${JSON.stringify(name)}] = ${name}; `).join('');
  return { source: `${declare}(async () => { ${publish}${applyEdits(source, edits)}\n})()`, isAsync: true };
}

/**
 * Code acorn cannot parse is returned unchanged, so V8 reports the syntax error in its own words
 * (and syntax newer than acorn still runs).
 */
export function prepareCell(input: string): PreparedCell {
  const source = objectLiteralCell(input) ?? input;
  let program: AnyNode;
  try {
    program = parseScript(source);
  } catch {
    return { source: input, isAsync: false };
  }
  return needsAsync(program) ? prepareAsync(program, source) : prepareSync(program, source);
}
