/**
 * The layer rules of eslint.config.js (docs/architecture.md, "Layers") refuse what the table
 * forbids and let through what it allows. `npm run lint` runs them over the real tree; this runs
 * them over imports the tree does not (yet) hold, so a rule that stops matching is noticed.
 */
import assert from 'node:assert/strict';
import { join, resolve } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Linter } from 'eslint';
import tseslint from 'typescript-eslint';

const REPO = resolve(fileURLToPath(new URL('../..', import.meta.url)));

/** The config's import-boundary rules alone (the other rules need the TypeScript program). */
async function layerConfigs(): Promise<Linter.Config[]> {
  const { default: config } = (await import(pathToFileURL(join(REPO, 'eslint.config.js')).href)) as {
    default: Linter.Config[];
  };
  const layers = config.filter((entry) => entry.rules?.['no-restricted-imports'] !== undefined);
  return [{ languageOptions: { parser: tseslint.parser } }, ...layers];
}

const configs = await layerConfigs();
const linter = new Linter({ cwd: REPO });

/** The messages of the import-boundary rule for `code` placed at `path` (relative to the repository). */
function refusals(path: string, code: string): string[] {
  return linter
    .verify(code, configs, { filename: join(REPO, path) })
    .filter((message) => message.ruleId === 'no-restricted-imports' || message.fatal === true)
    .map((message) => message.message);
}

describe('layer import rules', () => {
  test('the node does not import its own client, nor the CLI or the web app', () => {
    assert.match(
      refusals('src/node/http/x.ts', "import { RoamClient } from '../../client/index.js';")[0] ?? '',
      /src\/node may import only/,
    );
    assert.equal(refusals('src/node/auth/x.ts', "import type { X } from '../../client/auth.js';").length, 1);
    assert.equal(refusals('src/node/x.ts', "import { main } from '../cli/main.js';").length, 1);
    assert.equal(refusals('src/node/x.ts', "import { App } from '../../web/src/App.js';").length, 1);
    // Its own folders, even those named like a layer, and every lower layer are fine.
    assert.deepEqual(
      refusals('src/node/http/x.ts', "import { registerWebRoutes } from '../web/web-routes.js';"),
      [],
    );
    assert.deepEqual(
      refusals('src/node/http/x.ts', "import { authMessage } from '../../wire/index.js';"),
      [],
    );
    assert.deepEqual(refusals('src/node/x.ts', "import { Ledger } from '../ledger/index.js';"), []);
  });

  test('crypto imports no other layer; contracts no node: module and only the pure ledger modules', () => {
    assert.equal(refusals('src/crypto/x.ts', "import { TxType } from '../ledger/types.js';").length, 1);
    assert.equal(refusals('src/contracts/x.ts', "import { readFileSync } from 'node:fs';").length, 1);
    assert.equal(refusals('src/contracts/x.ts', "import { Ledger } from '../ledger/ledger.js';").length, 1);
    assert.deepEqual(refusals('src/contracts/x.ts', "import { StateKey } from '../ledger/keys.js';"), []);
  });

  test('the wire module holds types only: type imports of the ledger, nothing at run time', () => {
    assert.deepEqual(refusals('src/wire/x.ts', "import type { SignedTx } from '../ledger/types.js';"), []);
    assert.equal(refusals('src/wire/x.ts', "import { TxType } from '../ledger/types.js';").length, 1);
    assert.equal(refusals('src/wire/x.ts', "import { sha256 } from '../crypto/index.js';").length, 1);
    assert.equal(refusals('src/wire/x.ts', "import { Buffer } from 'node:buffer';").length, 1);
  });

  test('the client and the web app load no server code', () => {
    assert.equal(refusals('src/client/x.ts', "import { LedgerStore } from '../store/index.js';").length, 1);
    assert.equal(refusals('src/client/x.ts', "import { Ledger } from '../ledger/ledger.js';").length, 1);
    assert.deepEqual(refusals('src/client/x.ts', "import { createTx } from '../ledger/tx.js';"), []);
    assert.equal(
      refusals('web/src/lib/x.ts', "import { Vault } from '../../../src/vault/vault.js';").length,
      1,
    );
    assert.equal(refusals('web/src/x.ts', "import { RoamNode } from '../../src/node/index.js';").length, 1);
    assert.deepEqual(
      refusals('web/src/lib/x.ts', "import { sealGrantKeys } from '../../../src/vault/grants.js';"),
      [],
    );
    assert.deepEqual(
      refusals('web/src/lib/x.ts', "import type { TxPayloads } from '../../../src/contracts/index.js';"),
      [],
    );
    assert.equal(
      refusals('web/src/lib/x.ts', "import { createContractSuite } from '../../../src/contracts/index.js';")
        .length,
      1,
    );
    // The pure IPS builder (the portal's own summary), and nothing else of src/fhir (server code).
    assert.deepEqual(
      refusals('web/src/lib/x.ts', "import { buildPatientSummary } from '../../../src/fhir/ips/index.js';"),
      [],
    );
    assert.equal(
      refusals('web/src/lib/x.ts', "import { FhirError } from '../../../src/fhir/index.js';").length,
      1,
    );
  });

  test('the SMART Health Links layer is browser-safe and stands alone; the web app, node and CLI use it', () => {
    assert.equal(refusals('src/shl/x.ts', "import { webcrypto } from 'node:crypto';").length, 1);
    assert.equal(refusals('src/shl/x.ts', "import { sha256 } from '../crypto/index.js';").length, 1);
    assert.deepEqual(refusals('web/src/lib/x.ts', "import { parseShlink } from '../../../src/shl/index.js';"), []);
    assert.deepEqual(refusals('src/node/shl/x.ts', "import { parseShlink } from '../../shl/index.js';"), []);
    assert.deepEqual(refusals('src/cli/x.ts', "import { buildShlink } from '../shl/index.js';"), []);
    assert.equal(refusals('src/shl/x.ts', "import { RoamNode } from '../node/index.js';").length, 1);
  });

  test('tests may wire any layers together', () => {
    assert.deepEqual(
      refusals('src/ledger/x.test.ts', "import { createContractSuite } from '../contracts/index.js';"),
      [],
    );
  });
});
