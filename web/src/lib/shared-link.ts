/**
 * The viewer's glue around src/shl: reading a link from what the reader has (the page's fragment,
 * a pasted text, a scanned QR code), and checking what the link's files hold before anything is
 * shown. A link may come from any SMART Health Links server, so its files are untrusted: only a
 * FHIR `document` Bundle whose first entry is a Composition is shown, and it is shown from its
 * structured data (web/src/lib/summary.ts); its narrative HTML (`text.div`) is never rendered.
 */
import type { Bundle } from '@medplum/fhirtypes';
import { z } from 'zod';
import { CodedError } from '../../../src/crypto/index.js';
import {
  FHIR_JSON_CONTENT_TYPE,
  parseShlink,
  SHLINK_PREFIX,
  type ShlPayload,
  type ShlResolvedFile,
} from '../../../src/shl/index.js';

/** Stable codes of what the viewer refuses in a link's files. */
export const SharedDocumentErrorCode = {
  /** No file of the link is a FHIR JSON file (e.g. only SMART Health Cards). */
  NO_FHIR_FILE: 'SHARED_NO_FHIR_FILE',
  /** The FHIR file is not JSON. */
  NOT_JSON: 'SHARED_NOT_JSON',
  /** The FHIR file is not a `document` Bundle beginning with a Composition. */
  NOT_A_DOCUMENT: 'SHARED_NOT_A_DOCUMENT',
} as const;
export type SharedDocumentErrorCode = (typeof SharedDocumentErrorCode)[keyof typeof SharedDocumentErrorCode];

/** What a link's files are refused for; `message` is for the reader. */
export class SharedDocumentError extends CodedError<SharedDocumentErrorCode> {
  override readonly name = 'SharedDocumentError';
}

/**
 * The link in the text the reader has: a whole viewer URL (`https://…/shl#shlink:/…`), the page's
 * fragment (`#shlink:/…`), or a bare `shlink:/…`, alone or among other words (a pasted message);
 * undefined when the text holds no link at all.
 *
 * @throws ShlError SHL_MALFORMED, SHL_FLAGS_CONFLICT (a link is there but breaks the spec)
 * @example readShlink(location.hash)?.label
 */
export function readShlink(text: string): ShlPayload | undefined {
  // The link is the word that holds `shlink:/` (a message may say more around it; base64url and
  // URLs hold no spaces).
  const word = text.split(/\s+/).find((w) => w.toLowerCase().includes(SHLINK_PREFIX));
  if (word === undefined) return undefined;
  // parseShlink takes a bare link or a text ending in `#shlink:/…` (a viewer URL, a fragment).
  const at = word.toLowerCase().indexOf(SHLINK_PREFIX);
  return parseShlink(word.includes('#') ? word : word.slice(at));
}

// Resources are only required to say what they are: the view reads them defensively (summary.ts),
// and React renders what it reads as text.
const resourceSchema = z.looseObject({ resourceType: z.string().min(1).max(64) });
const documentSchema = z.looseObject({
  resourceType: z.literal('Bundle'),
  type: z.literal('document'),
  entry: z
    .array(z.looseObject({ fullUrl: z.string().max(4096).optional(), resource: resourceSchema }))
    .min(1)
    .refine((entries) => entries[0]?.resource.resourceType === 'Composition', 'the first entry must be a Composition'),
});

/**
 * The patient summary among a link's decrypted files: the first `application/fhir+json` file,
 * checked to be a FHIR `document` Bundle that begins with a Composition.
 *
 * @throws SharedDocumentError NO_FHIR_FILE, NOT_JSON, NOT_A_DOCUMENT
 */
export function sharedSummaryOf(files: readonly ShlResolvedFile[]): Bundle {
  const file = files.find((f) => f.contentType.split(';')[0]?.trim().toLowerCase() === FHIR_JSON_CONTENT_TYPE);
  if (file === undefined) {
    const kinds = [...new Set(files.map((f) => f.contentType))].join(', ') || 'no files';
    throw new SharedDocumentError(
      SharedDocumentErrorCode.NO_FHIR_FILE,
      `This link holds no FHIR document this viewer can show (it holds: ${kinds}).`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(file.text);
  } catch {
    throw new SharedDocumentError(SharedDocumentErrorCode.NOT_JSON, "The link's FHIR file is not JSON.");
  }
  const parsed = documentSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new SharedDocumentError(
      SharedDocumentErrorCode.NOT_A_DOCUMENT,
      `The link's file is not a patient summary document (${issue?.path.join('.') || 'Bundle'}: ${issue?.message ?? 'invalid'}).`,
    );
  }
  return parsed.data as unknown as Bundle;
}
