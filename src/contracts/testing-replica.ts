/**
 * Fixtures of the replica contract's tests (`replica.test.ts`, `test/security/replica-contract.test.ts`):
 * three organizations, a patient, a practitioner of each of the first two, and the grants.
 */
import { sha256Hex } from '../crypto/index.js';
import type { RecordAnchorPayload } from './records.js';
import {
  createTestNetwork,
  expectOk,
  registerPatient,
  registerPractitioner,
  type TestLedger,
  type TestOrg,
  type TestWallet,
} from './testing.js';

/** Three organizations: `a` keeps the patient's records, `b` is to be the replica, `c` votes. */
export interface ReplicaWorld {
  readonly ledger: TestLedger;
  readonly a: TestOrg;
  readonly b: TestOrg;
  readonly c: TestOrg;
  readonly patient: TestWallet;
  readonly physicianA: TestWallet;
  readonly physicianB: TestWallet;
}

let grants = 0;

/** The id of the grant made last by {@link grantTo}. */
export function lastGrantId(): string {
  return `grant-${String(grants).padStart(4, '0')}`;
}

/** The patient grants `org` access to every type of general records. */
export function grantTo(w: ReplicaWorld, org: TestOrg, access: 'read' | 'write', expiresAt: number | null = null): string {
  const grantId = `grant-${String(++grants).padStart(4, '0')}`;
  expectOk(
    w.ledger.submit(w.patient, 'consent.grant', {
      grantId,
      grantee: org.org.did,
      scope: { resourceTypes: ['*'], classes: ['general'] },
      purpose: 'treatment',
      access,
      expiresAt,
    }),
  );
  return grantId;
}

/** A world where `a` holds a write grant (and `b` one too unless `replicaGrant` is false). */
export function replicaWorld(options: { replicaGrant?: 'write' | 'read' | 'none' } = {}): ReplicaWorld {
  const { ledger, orgs } = createTestNetwork({ orgs: 3 });
  const [a, b, c] = orgs;
  if (a === undefined || b === undefined || c === undefined) throw new Error('expected three organizations');
  const patient = registerPatient(ledger);
  const w: ReplicaWorld = {
    ledger,
    a,
    b,
    c,
    patient,
    physicianA: registerPractitioner(ledger, a),
    physicianB: registerPractitioner(ledger, b),
  };
  grantTo(w, a, 'write');
  const replicaGrant = options.replicaGrant ?? 'write';
  if (replicaGrant !== 'none') grantTo(w, b, replicaGrant);
  return w;
}

/** An anchor of `record-0001` (version `version`) written by `author`. */
export function anchorOf(w: ReplicaWorld, author: TestWallet, version: number): RecordAnchorPayload {
  return {
    recordId: 'record-0001',
    version,
    patient: w.patient.did,
    resourceType: 'Observation',
    class: 'general',
    contentHash: sha256Hex(`ciphertext v${version}`),
    author: author.did,
    epoch: 0,
  };
}

/** Suspends `target` by the votes of the two other organizations. */
export function suspendOrg(w: ReplicaWorld, target: TestOrg, voters: readonly [TestOrg, TestOrg]): void {
  const proposalId = `suspend-${target.name}-${w.ledger.height}`;
  expectOk(w.ledger.submit(voters[0].admin, 'gov.proposal.open', { proposalId, kind: 'org.suspend', org: target.org.did }));
  expectOk(w.ledger.submit(voters[1].admin, 'gov.org.vote', { proposalId, approve: true }));
}

