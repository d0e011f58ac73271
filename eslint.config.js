// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// ---------------------------------------------------------------------------------------------
// Layers (docs/architecture.md, "Layers"): which layer may import which, as lint rules.
//
// A dependency is `ALL` (every module, values included), `{ modules }` (only those modules),
// `{ typesOnly: true }` (`import type` of any module: erased from the build, so a browser layer
// may name a server-side record without loading server code), or `{ modules, typesOnly: true }`
// (those modules, and type imports of the others). A layer not listed may not be imported at all.
// Tests (`*.test.ts`) may wire anything and are not checked.
// ---------------------------------------------------------------------------------------------

const ALL = Object.freeze({});
/** @param {string[]} layers every module of each of `layers` */
const all = (...layers) => Object.fromEntries(layers.map((layer) => [layer, ALL]));
/** The ledger's modules without I/O or workers: tx envelope, block, proof, codes, state keys, types. */
const LEDGER_PURE = ['block', 'codes', 'contract', 'keys', 'proof', 'tx', 'types'];
/** What the node wires together: every layer below it. */
const BELOW_NODE = ['crypto', 'wallet', 'store', 'ordering', 'ledger', 'contracts', 'vault', 'fhir', 'wire'];

/** @typedef {{ modules?: string[], typesOnly?: boolean }} Dependency */
/**
 * @type {Record<string, { dependsOn: Record<string, Dependency>, noBuiltins?: string }>}
 * `noBuiltins`: why the layer imports no `node:` module.
 */
const LAYERS = {
  crypto: { dependsOn: {} },
  wallet: { dependsOn: all('crypto') },
  store: { dependsOn: all('crypto') },
  ordering: { dependsOn: all('crypto') },
  ledger: { dependsOn: all('crypto', 'store') },
  contracts: {
    dependsOn: { crypto: ALL, ledger: { modules: LEDGER_PURE } },
    noBuiltins: 'contracts are deterministic: no I/O',
  },
  vault: { dependsOn: { ...all('crypto', 'store'), ledger: { modules: LEDGER_PURE } } },
  fhir: { dependsOn: all('crypto') },
  wire: {
    dependsOn: { ledger: { typesOnly: true }, contracts: { typesOnly: true } },
    noBuiltins: 'the wire types are shared with the browser',
  },
  node: { dependsOn: all(...BELOW_NODE) },
  network: { dependsOn: all('crypto', 'ordering', 'node') },
  client: {
    dependsOn: {
      ...all('crypto', 'wire'),
      ledger: { modules: LEDGER_PURE },
      contracts: { typesOnly: true },
      // The emergency escrow is built where the wallet is (CLI, browser): pure crypto, portable.
      vault: { modules: ['escrow'] },
    },
    noBuiltins: 'the client runs in browsers (fetch only)',
  },
  cli: { dependsOn: all(...BELOW_NODE, 'node', 'network', 'client') },
  web: {
    dependsOn: {
      ...all('crypto', 'wallet', 'client', 'wire'),
      // The IPS builder and its labels are pure (type imports of @medplum/fhirtypes only): the
      // portal builds the patient's own summary in the browser. The rest of src/fhir is server code.
      fhir: { modules: ['ips/index'] },
      vault: { modules: ['envelope', 'grants', 'keys', 'escrow'] },
      ledger: { modules: LEDGER_PURE },
      contracts: { modules: ['consent', 'emergency'], typesOnly: true },
    },
    noBuiltins: 'the web app runs in browsers',
  },
};
/** The layers under `src/` (`web/` is beside it). */
const SRC_LAYERS = Object.keys(LAYERS).filter((layer) => layer !== 'web');

/** @param {string[]} names */
const oneOf = (names) => `(?:${names.join('|')})`;

/**
 * The `no-restricted-imports` patterns of `layer` for a file whose imports reach `src/` through
 * `toSrc` (a regex source: `(?:\.\./){2}` for `src/<layer>/<folder>/x.ts`).
 * @param {string} layer
 * @param {string} toSrc
 */
function layerPatterns(layer, toSrc) {
  const { dependsOn, noBuiltins } = LAYERS[layer];
  const self = layer === 'web' ? 'web/' : `src/${layer}`;
  const table = 'see "Layers" in docs/architecture.md';
  const forbidden = SRC_LAYERS.filter((other) => other !== layer && !(other in dependsOn));
  /** @type {Array<{ regex?: string, group?: string[], allowTypeImports?: boolean, message: string }>} */
  const patterns = [];
  if (forbidden.length > 0) {
    const allowed = Object.keys(dependsOn);
    patterns.push({
      regex: `^${toSrc}${oneOf(forbidden)}(?:/|$)`,
      message: `${self} may import ${allowed.length > 0 ? `only ${allowed.join(', ')}` : 'no other layer'} (${table}).`,
    });
  }
  for (const [other, { modules, typesOnly }] of Object.entries(dependsOn)) {
    if (modules === undefined && !typesOnly) continue;
    const rest = modules === undefined ? '' : `(?!${oneOf(modules)}\\.js$)`;
    const allowed = [modules && `its modules ${modules.join(', ')}`, typesOnly && 'type imports'];
    patterns.push({
      regex: `^${toSrc}${other}/${rest}`,
      allowTypeImports: Boolean(typesOnly),
      message: `${self} may use of src/${other} only ${allowed.filter(Boolean).join(', and otherwise ')} (${table}).`,
    });
  }
  if (noBuiltins !== undefined) patterns.push({ group: ['node:*'], message: `${self}: ${noBuiltins}.` });
  return patterns;
}

/**
 * One config per folder depth, since a relative import's `../` count says which layer it reaches.
 * @returns {import('eslint').Linter.Config[]}
 */
function layerRules() {
  /** @type {import('eslint').Linter.Config[]} */
  const configs = [];
  for (const layer of Object.keys(LAYERS)) {
    for (let depth = 1; depth <= 4; depth++) {
      const folders = '*/'.repeat(depth - 1);
      // web/src/**: its imports of src/ name `src/` itself; src/<layer>/**: `depth` times `../`
      // reach src/, one more reaches the repository (web/, test/, bench/: never imported).
      const toSrc = layer === 'web' ? '(?:\\.\\./)+src/' : `(?:\\.\\./){${depth}}`;
      const patterns = layerPatterns(layer, toSrc);
      if (layer !== 'web') {
        patterns.push({
          regex: `^(?:\\.\\./){${depth + 1}}`,
          message: `src/${layer} imports nothing outside src/ (web/, test/, bench/)`,
        });
      }
      configs.push({
        files: layer === 'web' ? [`web/src/${folders}*.{ts,tsx}`] : [`src/${layer}/${folders}*.ts`],
        ignores: ['**/*.test.ts', 'src/contracts/testing.ts'],
        rules: { 'no-restricted-imports': ['error', { patterns }] },
      });
    }
  }
  return configs;
}

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'data/', 'test-results/', 'web/dist/', '.tmp/', 'eslint.config.js'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        project: ['./tsconfig.check.json', './web/tsconfig.json'],
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': [
        'error',
        // node:test's describe/it return promises the runner itself awaits.
        {
          allowForKnownSafeCalls: [
            { from: 'package', name: ['describe', 'it', 'test', 'suite'], package: 'node:test' },
          ],
        },
      ],
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      '@typescript-eslint/restrict-template-expressions': [
        'error',
        { allowNumber: true, allowBoolean: true },
      ],
    },
  },
  {
    // Contracts are deterministic: no clock, no randomness, no I/O (see docs/architecture.md).
    files: ['src/contracts/**/*.ts'],
    ignores: ['src/contracts/**/*.test.ts'],
    rules: {
      'no-restricted-globals': ['error', 'Date', 'setTimeout', 'setInterval', 'fetch', 'process'],
      'no-restricted-properties': [
        'error',
        { object: 'Math', property: 'random', message: 'contracts must be deterministic' },
        { object: 'Date', property: 'now', message: 'use ctx.blockTime' },
      ],
    },
  },
  // Layers depend downwards only (contracts: no `node:` module either).
  ...layerRules(),
  {
    files: ['test/**/*.ts', 'bench/**/*.ts', 'src/**/*.test.ts'],
    rules: {
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
    },
  },
);
