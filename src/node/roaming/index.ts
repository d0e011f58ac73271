// Roaming: signed node-to-node requests, the custodian endpoint, discovery of custodian nodes on
// the ledger, and the client that fetches a patient's records kept by other organizations.
export { Roaming, type RoamingPort, type RoamingOptions } from './roaming.js';
export { registerRoamingRoutes, NODE_AUTH_CHALLENGE } from './routes.js';
export {
  NODE_HEADERS,
  NODE_REQUEST_DOMAIN,
  NONCE_PATTERN,
  bodyHash,
  nodeRequestMessage,
  signNodeRequest,
  type NodeRequestFields,
  type SignNodeRequestInput,
} from './signing.js';
export {
  NODE_REQUEST_SKEW_MS,
  MAX_REMEMBERED_NONCES,
  NonceWindow,
  NodeRequestVerifier,
  type VerifiedNode,
  type ReceivedRequest,
  type NodeRequestVerifierOptions,
} from './verify.js';
export { Custodian, type CustodianPort } from './custodian.js';
export {
  RoamingClient,
  CUSTODIAN_TIMEOUT_MS,
  type CustodianAnswer,
  type RoamingClientOptions,
} from './client.js';
export { RemoteRecords, type RemoteRecordsPort } from './remote-records.js';
export { CustodianDirectory, MAX_REMEMBERED_RECORDS, nodesOfOrg, type CustodianNode } from './directory.js';
export {
  RECORDS_QUERY_PATH,
  MAX_QUERY_BODY_BYTES,
  MAX_RECORDS_PER_ANSWER,
  parseRecordQuery,
  type RecordQueryRequest,
  type RecordQueryAnswer,
  type WireRecord,
} from './wire.js';
export {
  PatientProofVerifier,
  decodePatientProof,
  MAX_REMEMBERED_PROOFS,
  MAX_REMEMBERED_PROOFS_PER_PATIENT,
  type PatientProofExpectation,
  type PatientProofVerifierOptions,
} from './patient-proof.js';
export { PatientRecordsCustodian, type PatientCustodianPort } from './patient-custodian.js';
export { WholeRecord, type WholeRecordPort, type RemotePatientRecords } from './whole-record.js';
export {
  PATIENT_RECORDS_PATH,
  parsePatientRecordsRequest,
  type PatientRecordsRequest,
} from './patient-records-wire.js';
