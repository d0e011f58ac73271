// node:test's describe/test return promises the runner itself awaits; the rule stays on for the rest.
/* eslint @typescript-eslint/no-floating-promises: ["error", { "allowForKnownSafeCalls": [{ "from": "package", "name": ["describe", "test"], "package": "node:test" }] }] */
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { sha256Hex } from '../crypto/index.js';
import { RESULT_CODES, ResultCode } from '../ledger/codes.js';
import { TX_TYPES, TxType, type SensitivityClass } from '../ledger/types.js';
import {
  CONTRACT_RESULT_CODES,
  createContractRegistry,
  createContractSuite,
  findCoveringGrant,
} from './index.js';
import {
  createTestNetwork,
  makeWallet,
  registerPatient,
  registerPractitioner,
  type TestLedger,
  type TestWallet,
} from './testing.js';

describe('registry', () => {
  test('has exactly one handler per transaction type', () => {
    const registry = createContractRegistry();
    assert.deepEqual([...registry.keys()].sort(), [...TX_TYPES].sort());
    for (const handler of registry.values()) {
      assert.equal(typeof handler.parse, 'function');
      assert.equal(typeof handler.execute, 'function');
    }
    assert.equal(createContractSuite().registry.size, TX_TYPES.length);
  });

  test('only patient self-registration admits an unregistered signer', () => {
    const open = [...createContractRegistry()]
      .filter(([, h]) => h.allowsUnregisteredSigner === true)
      .map(([type]) => type);
    assert.deepEqual(open, [TxType.PatientRegister]);
  });

  test('parse rejects a payload that is not an object with INVALID_PAYLOAD, never another exception', () => {
    // Types whose payload is the empty object take `{}` (a patient's own act that names nothing).
    const emptyPayloadTypes: readonly TxType[] = [TxType.ConsentRotate, TxType.EmergencyDisable];
    for (const [type, handler] of createContractRegistry()) {
      const payloads: unknown[] = [null, 7, 'x', [], ...(emptyPayloadTypes.includes(type) ? [{ unexpected: 1 }] : [{}])];
      for (const payload of payloads) {
        assert.throws(
          () => handler.parse(payload),
          (error: unknown) => (error as { code?: string }).code === ResultCode.INVALID_PAYLOAD,
          `${type} with ${JSON.stringify(payload)}`,
        );
      }
    }
  });
});

describe('CONTRACT_RESULT_CODES', () => {
  const runnerCodes: readonly ResultCode[] = [
    ResultCode.OK,
    ResultCode.CONTRACT_ERROR,
    ResultCode.MALFORMED_TX,
    ResultCode.UNKNOWN_TX_TYPE,
    ResultCode.BAD_SIGNATURE,
    ResultCode.UNKNOWN_SIGNER,
    ResultCode.SIGNER_DEACTIVATED,
    ResultCode.REPLAY,
    ResultCode.TX_EXPIRED,
    ResultCode.TX_FROM_FUTURE,
  ];

  test('are registered result codes, once each, none of them the runner’s', () => {
    assert.equal(new Set(CONTRACT_RESULT_CODES).size, CONTRACT_RESULT_CODES.length);
    for (const code of CONTRACT_RESULT_CODES) {
      assert.ok(RESULT_CODES.includes(code), code);
      assert.ok(!runnerCodes.includes(code), code);
    }
  });

  test('each is asserted by at least one contract test', () => {
    const dir = new URL('.', import.meta.url);
    const sources = readdirSync(dir)
      .filter((name) => name.endsWith('.test.ts') && name !== 'index.test.ts')
      .map((name) => readFileSync(new URL(name, dir), 'utf8'))
      .join('\n');
    const missing = CONTRACT_RESULT_CODES.filter(
      (code) => !new RegExp(`ResultCode\\.${code}\\b`).test(sources),
    );
    assert.deepEqual(missing, []);
  });
});

// ---------------------------------------------------------------------------------------------
// Determinism: the same transactions give the same results and state on two ledgers.
// ---------------------------------------------------------------------------------------------

interface World {
  ledger: TestLedger;
  orgs: ReturnType<typeof createTestNetwork>['orgs'];
  patients: TestWallet[];
  practitioners: TestWallet[];
}

/** The same network every time: all keys derive from fixed seeds. */
function buildWorld(): World {
  const { ledger, orgs } = createTestNetwork({ orgs: 2, seed: 1000 });
  const patients = [registerPatient(ledger, makeWallet(1)), registerPatient(ledger, makeWallet(2))];
  const practitioners = orgs.map((org, i) =>
    registerPractitioner(ledger, org, ['physician'], makeWallet(10 + i)),
  );
  ledger.nextBlock();
  return { ledger, orgs, patients, practitioners };
}

const TYPES = ['Observation', 'Condition', 'Patient'] as const;
const CLASSES = ['general', 'sensitive'] as const satisfies readonly SensitivityClass[];

const commandArb = fc.oneof(
  fc.record({
    kind: fc.constant('grant' as const),
    patient: fc.nat(1),
    org: fc.nat(1),
    grant: fc.nat(4),
    types: fc.subarray(['*', ...TYPES], { minLength: 1 }),
    classes: fc.subarray([...CLASSES], { minLength: 1 }),
    access: fc.constantFrom('read' as const, 'write' as const),
    expiresIn: fc.option(fc.integer({ min: -1000, max: 5000 }), { nil: null }),
  }),
  fc.record({ kind: fc.constant('revoke' as const), patient: fc.nat(1), grant: fc.nat(4) }),
  fc.record({
    kind: fc.constant('anchor' as const),
    org: fc.nat(1),
    record: fc.nat(3),
    version: fc.integer({ min: 1, max: 3 }),
    patient: fc.nat(1),
    byPatient: fc.boolean(),
    type: fc.constantFrom(...TYPES),
    class: fc.constantFrom(...CLASSES),
  }),
  fc.record({ kind: fc.constant('tick' as const), ms: fc.integer({ min: 1, max: 3000 }) }),
);
type Command = typeof commandArb extends fc.Arbitrary<infer C> ? C : never;

function run(world: World, commands: readonly Command[]): string[] {
  const { ledger, orgs, patients, practitioners } = world;
  const log: string[] = [];
  for (const c of commands) {
    let result;
    switch (c.kind) {
      case 'tick':
        ledger.nextBlock(c.ms);
        continue;
      case 'grant':
        result = ledger.submit(patients[c.patient]!, 'consent.grant', {
          grantId: `grant-000${c.grant}`,
          grantee: orgs[c.org]!.org.did,
          scope: { resourceTypes: c.types, classes: c.classes },
          purpose: 'treatment',
          access: c.access,
          expiresAt: c.expiresIn === null ? null : ledger.time + c.expiresIn,
        });
        break;
      case 'revoke':
        result = ledger.submit(patients[c.patient]!, 'consent.revoke', { grantId: `grant-000${c.grant}` });
        break;
      case 'anchor':
        result = ledger.submit(orgs[c.org]!.node, 'records.anchor', {
          recordId: `record-00${c.record}`,
          version: c.version,
          patient: patients[c.patient]!.did,
          resourceType: c.type,
          class: c.class,
          contentHash: sha256Hex(`${c.record}/${c.version}`),
          author: c.byPatient ? patients[c.patient]!.did : practitioners[c.org]!.did,
          epoch: 0,
        });
        break;
    }
    log.push(`${result.code} ${result.message ?? ''}`);
  }
  // The access decision over the final state, for every combination.
  for (const patient of patients) {
    for (const org of orgs) {
      for (const type of TYPES) {
        for (const cls of CLASSES) {
          for (const access of ['read', 'write'] as const) {
            log.push(
              findCoveringGrant(ledger, patient.did, org.org.did, type, cls, access, ledger.time).code,
            );
          }
        }
      }
    }
  }
  return log;
}

test('the same random grant/revoke/anchor transactions give identical results and state on two ledgers', () => {
  fc.assert(
    fc.property(fc.array(commandArb, { minLength: 1, maxLength: 40 }), (commands) => {
      const first = buildWorld();
      const second = buildWorld();
      assert.deepEqual(run(second, commands), run(first, commands));
      assert.deepEqual(second.ledger.dump(), first.ledger.dump());
    }),
    { numRuns: 60 },
  );
});
