/**
 * World-state key layout. Every key a contract reads or writes is built here, so that indexes
 * and their readers (HTTP API, verify) agree.
 */
export const StateKey = {
  party: (did: string) => `party/${did}`,
  org: (did: string) => `org/${did}`,
  orgNode: (org: string, node: string) => `idx/org-node/${org}/${node}`,
  orgNodesPrefix: (org: string) => `idx/org-node/${org}/`,
  orgPractitioner: (org: string, did: string) => `idx/org-practitioner/${org}/${did}`,
  proposal: (id: string) => `proposal/${id}`,
  grant: (id: string) => `grant/${id}`,
  patientGrant: (patient: string, grantId: string) => `idx/patient-grant/${patient}/${grantId}`,
  patientGrantsPrefix: (patient: string) => `idx/patient-grant/${patient}/`,
  orgPatientGrant: (org: string, patient: string, grantId: string) => `idx/org-grant/${org}/${patient}/${grantId}`,
  orgPatientGrantsPrefix: (org: string, patient: string) => `idx/org-grant/${org}/${patient}/`,
  request: (id: string) => `request/${id}`,
  patientRequest: (patient: string, id: string) => `idx/patient-request/${patient}/${id}`,
  patientRequestsPrefix: (patient: string) => `idx/patient-request/${patient}/`,
  record: (id: string) => `record/${id}`,
  patientRecord: (patient: string, id: string) => `idx/patient-record/${patient}/${id}`,
  patientRecordsPrefix: (patient: string) => `idx/patient-record/${patient}/`,
  /** The patient's replica organization (`records.replica`): a second holder of its records' ciphertexts. */
  replica: (patient: string) => `replica/${patient}`,
  /** Audit entries sort by block height, then tx position, then entry position. */
  audit: (patient: string, height: number, txIndex: number, entry: number) =>
    `audit/${patient}/${pad(height)}/${pad(txIndex, 6)}/${pad(entry, 4)}`,
  auditPrefix: (patient: string) => `audit/${patient}/`,
  /** The patient's emergency (break-glass) policy and escrow. */
  emergencyPolicy: (patient: string) => `emergency-policy/${patient}`,
  /** One emergency access (break-glass). */
  emergency: (id: string) => `emergency/${id}`,
  patientEmergency: (patient: string, id: string) => `idx/patient-emergency/${patient}/${id}`,
  patientEmergencyPrefix: (patient: string) => `idx/patient-emergency/${patient}/`,
  /** How many times the patient rotated its record-key epoch without a revocation (`consent.rotate`). */
  rotations: (patient: string) => `rotations/${patient}`,
  ORG_PREFIX: 'org/',
  PARTY_PREFIX: 'party/',
} as const;

function pad(n: number, width = 12): string {
  return String(n).padStart(width, '0');
}
