/** The error body of every answer of a node's HTTP API outside `/fhir` (which answers OperationOutcomes). */

/** A stable code from the node's error registry (or a ledger result code) and a readable message. */
export interface ApiErrorDetail {
  readonly code: string;
  readonly message: string;
}

/** What every error answer carries (outside `/fhir`). */
export interface ApiErrorBody {
  readonly error: ApiErrorDetail;
}
