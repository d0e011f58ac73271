/** The wire type of `GET /ledger/patients/:did/replica` (same read policy as the consents). */

/** The patient's replica organization as the ledger names it, and whether it is in effect now. */
export interface ReplicaSummary {
  readonly org: string;
  /** Block time it was named at (ms). */
  readonly since: number;
  readonly txId: string;
  /** An active member with a live write grant of the patient, by the answering node's ledger and clock. */
  readonly inEffect: boolean;
}

export interface ReplicaResponse {
  readonly replica: ReplicaSummary | null;
}
