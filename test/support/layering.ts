/**
 * The repository's boundary rules as data, and a scanner that finds every way a file can load
 * another. It reads imports with the TypeScript parser, not with patterns, so that text in strings
 * and comments is never an import and no way of writing one is missed: `import … from`, side-effect
 * `import 'x'`, `import x = require('x')`, `export … from`, `import('x')`, `typeof import('x')`,
 * `require('x')`, `createRequire(…)('x')` (also through a name bound to it) and `*.resolve('x')`.
 * Pure apart from `sourceFiles`: files in, violations out, so that a test can show that each rule
 * fails on a file that breaks it.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

export interface SourceFile {
  /** Path from the repository root, with `/`. */
  readonly path: string;
  readonly text: string;
}

/** How a file names another module. */
export type ImportForm =
  | 'import' // import … from 'x'
  | 'side-effect' // import 'x'
  | 'import-equals' // import x = require('x')
  | 'export-from' // export … from 'x', export * from 'x'
  | 'import()' // import('x'): loaded when the code runs, not when the module loads
  | 'import-type' // typeof import('x'), import('x').T in a type
  | 'require()' // require('x'), createRequire(…)('x'), r('x') with r = createRequire(…)
  | 'resolve'; // import.meta.resolve('x'), require.resolve('x'): finds a module without loading it

export interface FoundImport {
  readonly form: ImportForm;
  /** The module named; when `computed`, the source text of the expression that names it. */
  readonly spec: string;
  /** The name is computed when the code runs (`import(name)`), so no rule can check it. */
  readonly computed: boolean;
  /** `import type`, `export type`, `import type x = require()`, a type position: erased when compiled. */
  readonly typeOnly: boolean;
  readonly line: number;
}

/** Source files the scanner reads: TypeScript and JavaScript of every module flavour (`.d.ts` too). */
export const SOURCE_EXTENSIONS = ['.ts', '.tsx', '.mts', '.cts', '.js', '.jsx', '.mjs', '.cjs'] as const;

/** Dependencies and build output, never source: `dist/` of the root and of the emulator, `.deploy/`. */
export const SKIPPED_DIRECTORIES: ReadonlySet<string> = new Set(['node_modules', 'dist', '.deploy', 'coverage', '.bench', '.bootwarden']);

/** The top-level folders whose imports are checked. */
export const CHECKED_FOLDERS = ['core', 'adapters', 'functions', 'cli', 'slack-app', 'devstack', 'bench', 'test', 'packages'] as const;

/** Every source file below the given top-level folders of `root`, sorted; a missing folder (slack-app/) has none. */
export function sourceFiles(root: string, folders: readonly string[] = CHECKED_FOLDERS): SourceFile[] {
  const out: SourceFile[] = [];
  const visit = (rel: string): void => {
    let entries;
    try {
      entries = readdirSync(path.join(root, rel), { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const child = `${rel}/${e.name}`;
      if (e.isDirectory()) {
        if (!SKIPPED_DIRECTORIES.has(e.name)) visit(child);
        continue;
      }
      if (!SOURCE_EXTENSIONS.some((x) => e.name.endsWith(x))) continue;
      // A symlinked file is read through its link; a symlinked folder is not followed (no cycles).
      if (e.isFile() || (e.isSymbolicLink() && statSync(path.join(root, child), { throwIfNoEntry: false })?.isFile() === true))
        out.push({ path: child, text: readFileSync(path.join(root, child), 'utf8') });
    }
  };
  for (const folder of folders) visit(folder);
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

interface Parsed {
  readonly source: ts.SourceFile;
  /** Syntax errors: a file the parser had to guess at may hide an import. */
  readonly errors: readonly { readonly line: number; readonly message: string }[];
}

/** Parses one file; the script kind (TS, TSX, JS, JSX) follows from the extension. */
function parse(fileName: string, text: string): Parsed {
  const name = `/${fileName}`;
  const source = ts.createSourceFile(name, text, ts.ScriptTarget.Latest, true);
  // A program of this one file, with nothing resolved, is the public way to ask for its syntax
  // errors (transpileModule cannot take a .d.ts).
  const options: ts.CompilerOptions = { noLib: true, noResolve: true, allowJs: true, noEmit: true, types: [] };
  const host = ts.createCompilerHost(options);
  host.getSourceFile = (n) => (n === name ? source : undefined);
  host.fileExists = (n) => n === name;
  host.readFile = (n) => (n === name ? text : undefined);
  host.getCurrentDirectory = () => '/';
  const program = ts.createProgram({ rootNames: [name], options, host });
  const errors = program.getSyntacticDiagnostics(source).map((d) => ({
    line: d.start === undefined ? 1 : source.getLineAndCharacterOfPosition(d.start).line + 1,
    message: ts.flattenDiagnosticMessageText(d.messageText, ' '),
  }));
  return { source, errors };
}

const isStringLiteral = (e: ts.Node | undefined): e is ts.StringLiteral | ts.NoSubstitutionTemplateLiteral =>
  e !== undefined && (ts.isStringLiteral(e) || ts.isNoSubstitutionTemplateLiteral(e));

const isImportMeta = (e: ts.Expression): boolean =>
  ts.isMetaProperty(e) && e.keywordToken === ts.SyntaxKind.ImportKeyword && e.name.text === 'meta';

function findImports(source: ts.SourceFile): FoundImport[] {
  const found: FoundImport[] = [];
  const add = (at: ts.Node, form: ImportForm, name: ts.Node | undefined, typeOnly: boolean): void => {
    const line = source.getLineAndCharacterOfPosition(at.getStart(source)).line + 1;
    if (isStringLiteral(name)) found.push({ form, spec: name.text, computed: false, typeOnly, line });
    else found.push({ form, spec: name === undefined ? '' : name.getText(source), computed: true, typeOnly, line });
  };

  // First pass: the names `createRequire` goes by (`import { createRequire as cr }`,
  // `const { createRequire: cr } = …`) and the names bound to what it returns
  // (`const r = createRequire(…)`). Scopes are ignored: an unrelated `r` elsewhere in the file is
  // then read as a require too, which can only report more, never less.
  const createRequireNames = new Set(['createRequire']);
  const requireNames = new Set(['require']);
  const boundRequires = new Set<string>();
  const collectAliases = (node: ts.Node): void => {
    if ((ts.isImportSpecifier(node) || ts.isBindingElement(node)) && ts.isIdentifier(node.name)) {
      const imported = node.propertyName ?? node.name;
      if (ts.isIdentifier(imported) && imported.text === 'createRequire') createRequireNames.add(node.name.text);
    }
    ts.forEachChild(node, collectAliases);
  };
  collectAliases(source);
  const isCreateRequireCall = (e: ts.Node): e is ts.CallExpression =>
    ts.isCallExpression(e) &&
    ((ts.isIdentifier(e.expression) && createRequireNames.has(e.expression.text)) ||
      (ts.isPropertyAccessExpression(e.expression) && e.expression.name.text === 'createRequire'));
  const collectBindings = (node: ts.Node): void => {
    if (ts.isVariableDeclaration(node) && ts.isIdentifier(node.name) && node.initializer && isCreateRequireCall(node.initializer))
      boundRequires.add(node.name.text);
    if (
      ts.isBinaryExpression(node) &&
      node.operatorToken.kind === ts.SyntaxKind.EqualsToken &&
      ts.isIdentifier(node.left) &&
      isCreateRequireCall(node.right)
    )
      boundRequires.add(node.left.text);
    ts.forEachChild(node, collectBindings);
  };
  collectBindings(source);
  for (const n of boundRequires) requireNames.add(n);

  /** `require`, a name bound to `createRequire(…)`, or `createRequire(…)` itself. */
  const isRequire = (e: ts.Expression): boolean => (ts.isIdentifier(e) && requireNames.has(e.text)) || isCreateRequireCall(e);
  /** `x.resolve` for `x` a require or `import.meta`. */
  const isResolve = (e: ts.Expression): boolean =>
    ts.isPropertyAccessExpression(e) && e.name.text === 'resolve' && (isImportMeta(e.expression) || isRequire(e.expression));
  /** A require that is called (or resolves) right where it is written, or is bound to a name. */
  const usedInPlace = (e: ts.Node): boolean => {
    const p = e.parent;
    return (
      (ts.isCallExpression(p) && p.expression === e) ||
      (ts.isPropertyAccessExpression(p) && p.expression === e && p.name.text === 'resolve' && ts.isCallExpression(p.parent)) ||
      (ts.isVariableDeclaration(p) && p.initializer === e && ts.isIdentifier(p.name)) ||
      (ts.isBinaryExpression(p) && p.right === e && p.operatorToken.kind === ts.SyntaxKind.EqualsToken && ts.isIdentifier(p.left))
    );
  };

  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node)) {
      // Only `import type` is erased. Under verbatimModuleSyntax (tsconfig.json)
      // `import { type A } from 'x'` compiles to `import {} from 'x'`, which still loads x.
      add(node, node.importClause ? 'import' : 'side-effect', node.moduleSpecifier, node.importClause?.isTypeOnly ?? false);
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
      add(node, 'import-equals', node.moduleReference.expression, node.isTypeOnly);
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier) {
      add(node, 'export-from', node.moduleSpecifier, node.isTypeOnly);
    } else if (ts.isImportTypeNode(node)) {
      add(node, 'import-type', ts.isLiteralTypeNode(node.argument) ? node.argument.literal : node.argument, true);
    } else if (ts.isCallExpression(node)) {
      if (node.expression.kind === ts.SyntaxKind.ImportKeyword) add(node, 'import()', node.arguments[0], false);
      else if (isRequire(node.expression)) add(node, 'require()', node.arguments[0], false);
      else if (isResolve(node.expression)) add(node, 'resolve', node.arguments[0], false);
    }
    // A require handed on (`export const load = createRequire(…)`, `f(r)`) loads modules that no
    // call here names: report it as unnamed. (The global `require` is left out: `typeof require`
    // is common in JavaScript and names nothing.)
    if (isCreateRequireCall(node) && !usedInPlace(node)) add(node, 'require()', node, false);
    if (ts.isIdentifier(node) && boundRequires.has(node.text) && !usedInPlace(node) && !isDeclarationName(node))
      add(node, 'require()', node, false);
    // `export const load = createRequire(…)` hands it on too.
    if (ts.isVariableDeclaration(node) && node.initializer && isCreateRequireCall(node.initializer)) {
      if (ts.getCombinedModifierFlags(node) & ts.ModifierFlags.Export) add(node.initializer, 'require()', node.initializer, false);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

/** `r` in `const r = …`, `x.r` or `{ r: … }`: a name being defined or a property, not a use of the binding. */
function isDeclarationName(id: ts.Identifier): boolean {
  const p = id.parent;
  if (ts.isVariableDeclaration(p) || ts.isPropertyAssignment(p) || ts.isPropertyAccessExpression(p)) return p.name === id;
  return ts.isBinaryExpression(p) && p.left === id && p.operatorToken.kind === ts.SyntaxKind.EqualsToken;
}

/** Every module the file names, in source order. `fileName` (from the repository root) picks the parser: TS, TSX, JS or JSX. */
export function importsOf(text: string, fileName = 'file.ts'): FoundImport[] {
  return findImports(parse(fileName, text).source);
}

export const EMULATOR_PACKAGE = '@bootwarden/workflows-emulator';
const EMULATOR_DIR = ['packages', 'workflows-emulator'];

/** The area a repository path belongs to. */
export type Area =
  'core' | 'adapters' | 'functions' | 'cli' | 'slack-app' | 'devstack' | 'bench' | 'test' | 'emulator-src' | 'emulator-test' | 'other';

const TOP_LEVEL_AREAS: readonly Area[] = ['core', 'adapters', 'functions', 'cli', 'slack-app', 'devstack', 'bench', 'test'];

/** By whole path segments: `core-extra/x.ts` is not in core/, `packages/workflows-emulator-x/` not in the emulator. */
export function areaOf(file: string): Area {
  const segments = file.split('/');
  if (segments.length < 2) return 'other'; // a file at the root, or a folder's own name
  if (segments[0] === EMULATOR_DIR[0] && segments[1] === EMULATOR_DIR[1])
    return segments.length < 3 ? 'other' : segments[2] === 'src' ? 'emulator-src' : 'emulator-test';
  const top = segments[0] as Area;
  return TOP_LEVEL_AREAS.includes(top) ? top : 'other';
}

/** What an import points at: an area of the repository, the emulator's public API, a package or a built-in. */
type Target =
  | { kind: 'area'; area: Area; path: string }
  | { kind: 'emulator' }
  | { kind: 'node' }
  | { kind: 'package'; name: string }
  | { kind: 'unknown' };

function targetOf(file: string, spec: string): Target {
  if (spec === '.' || spec === '..' || spec.startsWith('./') || spec.startsWith('../')) {
    // Resolved against the importing file, so `../core-extra/y.js` from core/ is core-extra/y.js.
    const resolved = path.posix.normalize(path.posix.join(path.posix.dirname(file), spec));
    // The trailing `/` counts the path as a folder's content: `'..'` from core/a/x.ts names core/'s index.
    return { kind: 'area', area: areaOf(`${resolved}/`), path: resolved };
  }
  if (spec.startsWith('node:')) return { kind: 'node' };
  // An absolute path, a file: or data: URL: where it points is not known from the text.
  if (spec.startsWith('/') || spec.startsWith('\\') || /^[a-z][a-z0-9+.-]*:/i.test(spec)) return { kind: 'unknown' };
  if (spec === EMULATOR_PACKAGE || spec === `${EMULATOR_PACKAGE}/testing`) return { kind: 'emulator' };
  const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : (spec.split('/')[0] ?? spec);
  return { kind: 'package', name };
}

/** The areas each area may import (relative paths), and whether it may use npm packages. */
const RULES: Record<
  Exclude<Area, 'other'>,
  { readonly areas: readonly Area[]; readonly packages: boolean; readonly emulator: 'yes' | 'no' | 'lazy' }
> = {
  core: { areas: ['core'], packages: false, emulator: 'no' },
  adapters: { areas: ['core', 'adapters'], packages: true, emulator: 'no' },
  functions: { areas: ['core', 'adapters', 'functions'], packages: true, emulator: 'no' },
  cli: { areas: ['core', 'adapters', 'cli'], packages: true, emulator: 'lazy' },
  'slack-app': { areas: ['core', 'adapters', 'slack-app'], packages: true, emulator: 'no' },
  devstack: { areas: ['core', 'adapters', 'functions', 'slack-app', 'devstack'], packages: true, emulator: 'yes' },
  bench: { areas: ['core', 'adapters', 'functions', 'cli', 'slack-app', 'devstack', 'bench'], packages: true, emulator: 'yes' },
  test: {
    areas: ['core', 'adapters', 'functions', 'cli', 'slack-app', 'devstack', 'bench', 'test', 'emulator-test'],
    packages: true,
    emulator: 'yes',
  },
  'emulator-src': { areas: ['emulator-src'], packages: true, emulator: 'no' },
  'emulator-test': { areas: ['emulator-src', 'emulator-test'], packages: true, emulator: 'no' },
};

/** The one CLI module that may load the emulator, and only lazily (`import()`). */
export const CLI_EMULATOR_COMMAND = 'cli/commands/workflows.ts';

export interface Violation {
  /** Path from the repository root. */
  readonly file: string;
  readonly line: number;
  /** The module named, or the source text of the expression that computes it. */
  readonly spec: string;
  /** The rule broken. */
  readonly rule: string;
}

export const UNCHECKABLE = 'the module is named at run time, so it cannot be checked';
export const UNKNOWN_LOCATION = 'an absolute path or URL: where it points cannot be checked';

/** One line per violation, for a failure message. */
export const formatViolation = (v: Violation): string => `${v.file}:${v.line} imports ${v.spec}: ${v.rule}`;

/** The rule an import breaks, or undefined. */
function ruleBroken(file: string, area: Exclude<Area, 'other'>, imp: FoundImport): string | undefined {
  const rule = RULES[area];
  if (imp.computed) return UNCHECKABLE;
  const target = targetOf(file, imp.spec);
  // Type-only imports are checked like any other: erased at run time, they still tie the code to
  // what they name, so `import type { Firestore } from '@google-cloud/firestore'` is as forbidden
  // in core/ as the import of the class. The one use of their erasure is the CLI's workflows
  // command below, which names the emulator's types eagerly and loads it lazily.
  switch (target.kind) {
    case 'unknown':
      return UNKNOWN_LOCATION;
    case 'node':
      return undefined;
    case 'emulator':
      if (rule.emulator === 'no') return `${area} may not use the Workflows emulator`;
      if (rule.emulator === 'lazy' && !(file === CLI_EMULATOR_COMMAND && (imp.form === 'import()' || imp.typeOnly)))
        return `only ${CLI_EMULATOR_COMMAND} may load the emulator, and only with import()`;
      return undefined;
    case 'package':
      if (target.name.startsWith('@bootwarden/')) return `import the emulator as ${EMULATOR_PACKAGE} (its index.ts), nothing deeper`;
      if (!rule.packages) return `${area}/ imports only node: built-ins and ${area}/ itself`;
      return undefined;
    case 'area':
      if (target.area === 'emulator-src' && !area.startsWith('emulator'))
        return `reach the emulator through ${EMULATOR_PACKAGE}, never its src/ files`;
      if (!rule.areas.includes(target.area)) return `${area} may not import ${target.area === 'other' ? target.path : `${target.area}/`}`;
      return undefined;
  }
}

/** Every import in the given files that crosses a boundary. Files outside the checked areas have no rules. */
export function violations(files: readonly SourceFile[]): Violation[] {
  const out: Violation[] = [];
  for (const file of files) {
    const area = areaOf(file.path);
    if (area === 'other') continue;
    const { source, errors } = parse(file.path, file.text);
    for (const e of errors)
      out.push({ file: file.path, line: e.line, spec: '', rule: `cannot be parsed (${e.message}), so it cannot be checked` });
    for (const imp of findImports(source)) {
      const rule = ruleBroken(file.path, area, imp);
      if (rule !== undefined) out.push({ file: file.path, line: imp.line, spec: imp.spec, rule });
    }
  }
  return out;
}
