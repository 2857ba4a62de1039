/**
 * The tree's TypeScript sources as the tidy test sees them: every tracked
 * .ts file under packages/, read once, with its functions measured by the
 * TypeScript compiler's own parser (no regular expressions over code).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

export const repositoryRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

export interface SourceFile {
  /** Relative to the repository root, with forward slashes. */
  readonly path: string;
  readonly text: string;
  readonly lineCount: number;
}

/** Every .ts file git tracks (or is about to: untracked but not ignored) under packages/. */
export function listSourceFiles(): SourceFile[] {
  const output = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '--', 'packages'], {
    cwd: repositoryRoot,
    encoding: 'utf8',
  });
  return output
    .split('\n')
    .filter((file) => file.endsWith('.ts') && !file.endsWith('.d.ts'))
    .sort()
    .flatMap((file) => {
      let text: string;
      try {
        text = readFileSync(path.join(repositoryRoot, file), 'utf8');
      } catch {
        return []; // listed by git but deleted in the work tree
      }
      return [{ path: file, text, lineCount: text.split('\n').length - (text.endsWith('\n') ? 1 : 0) }];
    });
}

/** Test code: test files, their helpers, benchmarks, the simulation and scripts are held to the file rule only. */
export function isTestCode(file: string): boolean {
  return file.endsWith('.test.ts') || /\/(test|bench|sim|scripts)\//.test(file) || file.endsWith('/test-support.ts');
}

export interface MeasuredFunction {
  /** `file#name`: the name is the function's, qualified by its class or enclosing function. */
  readonly key: string;
  readonly lines: number;
}

function nameOfProperty(name: ts.PropertyName | ts.BindingName | undefined, source: ts.SourceFile): string {
  if (name === undefined) return '<anonymous>';
  if (ts.isIdentifier(name) || ts.isPrivateIdentifier(name)) return name.text;
  if (ts.isStringLiteral(name) || ts.isNumericLiteral(name)) return name.text;
  return name.getText(source);
}

/** A readable name for a function: its declared name, the variable or property it is assigned to, or its call. */
function nameOfFunction(node: ts.FunctionLikeDeclaration, source: ts.SourceFile): string {
  if (ts.isConstructorDeclaration(node)) return 'constructor';
  if (node.name !== undefined) return nameOfProperty(node.name, source);
  const parent = node.parent;
  if (ts.isVariableDeclaration(parent) || ts.isPropertyAssignment(parent) || ts.isPropertyDeclaration(parent)) {
    return nameOfProperty(parent.name, source);
  }
  if (ts.isCallExpression(parent)) {
    const callee = parent.expression.getText(source).replace(/\s+/g, '');
    const first = parent.arguments[0];
    const label = first !== undefined && ts.isStringLiteralLike(first) ? `'${first.text}'` : '';
    return `${callee}(${label})`;
  }
  return '<anonymous>';
}

function isFunctionWithBody(node: ts.Node): node is ts.FunctionLikeDeclaration {
  return (
    (ts.isFunctionDeclaration(node) ||
      ts.isMethodDeclaration(node) ||
      ts.isConstructorDeclaration(node) ||
      ts.isGetAccessorDeclaration(node) ||
      ts.isSetAccessorDeclaration(node) ||
      ts.isFunctionExpression(node) ||
      ts.isArrowFunction(node)) &&
    node.body !== undefined
  );
}

/**
 * Every function of a file with its length in lines, from its first token
 * (leading comments excluded) to its closing brace. A nested function counts
 * in its own length and in its parent's, as TigerBeetle's tidy counts.
 */
export function measureFunctions(file: SourceFile): MeasuredFunction[] {
  const source = ts.createSourceFile(file.path, file.text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const measured: MeasuredFunction[] = [];
  const seen = new Map<string, number>();
  const visit = (node: ts.Node, scope: string): void => {
    let childScope = scope;
    if (ts.isClassDeclaration(node) || ts.isClassExpression(node)) {
      childScope = `${scope}${node.name?.text ?? '<class>'}.`;
    } else if (isFunctionWithBody(node)) {
      const name = `${scope}${nameOfFunction(node, source)}`;
      const count = (seen.get(name) ?? 0) + 1;
      seen.set(name, count);
      const start = source.getLineAndCharacterOfPosition(node.getStart(source)).line;
      const end = source.getLineAndCharacterOfPosition(node.getEnd()).line;
      measured.push({ key: `${file.path}#${name}${count > 1 ? `@${count}` : ''}`, lines: end - start + 1 });
      childScope = `${name}/`;
    }
    ts.forEachChild(node, (child) => visit(child, childScope));
  };
  visit(source, '');
  return measured;
}

/** The names a file exports: declarations marked `export` and the local names of `export { … }` lists. */
export function exportedNames(file: SourceFile): string[] {
  const source = ts.createSourceFile(file.path, file.text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const names: string[] = [];
  for (const statement of source.statements) {
    const exported = ts.canHaveModifiers(statement)
      ? (ts.getModifiers(statement) ?? []).some((modifier) => modifier.kind === ts.SyntaxKind.ExportKeyword)
      : false;
    if (ts.isExportDeclaration(statement) && statement.moduleSpecifier === undefined) {
      const clause = statement.exportClause;
      if (clause !== undefined && ts.isNamedExports(clause))
        names.push(...clause.elements.map((item) => item.name.text));
      continue;
    }
    if (!exported) continue;
    if (ts.isVariableStatement(statement)) {
      for (const declaration of statement.declarationList.declarations) {
        if (ts.isIdentifier(declaration.name)) names.push(declaration.name.text);
      }
    } else if (
      (ts.isFunctionDeclaration(statement) ||
        ts.isClassDeclaration(statement) ||
        ts.isInterfaceDeclaration(statement) ||
        ts.isTypeAliasDeclaration(statement) ||
        ts.isEnumDeclaration(statement)) &&
      statement.name !== undefined
    ) {
      names.push(statement.name.text);
    }
  }
  return names;
}

/** An identifier's words: `parseHttpURLValue` → parse, http, url, value; `MAX_ORDER_COUNT` → max, order, count. */
export function wordsOf(identifier: string): string[] {
  return identifier
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2')
    .split(/[\s_$]+/)
    .filter((word) => word !== '')
    .map((word) => word.toLowerCase());
}
