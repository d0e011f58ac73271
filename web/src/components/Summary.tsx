/**
 * A patient summary (IPS document) as a page: the patient on top, each section a table built
 * with React from the entries' data (never the document's own HTML), the frame in the reader's
 * language, a warning when records are missing, Print (a print stylesheet keeps only this) and
 * Download as FHIR document.
 */
import type { Bundle } from '@medplum/fhirtypes';
import { ErrorBox, formatDate } from './ui.js';
import { downloadFhirJson } from '../lib/download.js';
import {
  labelsFor,
  languageName,
  SUMMARY_LANGUAGES,
  summaryFileName,
  summaryView,
  type SummaryLanguage,
} from '../lib/summary.js';

/** A date cell: a full date in words, anything else (a partial date, a string) as it is. */
function dateCell(value: string): string {
  return /^\d{4}-\d{2}-\d{2}/.test(value) ? formatDate(value) : value || '—';
}

export function LanguageSwitch({
  value,
  onChange,
}: {
  value: SummaryLanguage;
  onChange: (language: SummaryLanguage) => void;
}) {
  return (
    <label className="inline">
      Language{' '}
      <select
        value={value}
        onChange={(e) => onChange(e.target.value as SummaryLanguage)}
        data-testid="summary-language"
      >
        {SUMMARY_LANGUAGES.map((l) => (
          <option key={l} value={l} lang={l}>
            {languageName(l)}
          </option>
        ))}
      </select>
    </label>
  );
}

export function PatientSummary({
  bundle,
  language,
  onLanguage,
}: {
  bundle: Bundle;
  language: SummaryLanguage;
  onLanguage: (language: SummaryLanguage) => void;
}) {
  let view;
  try {
    view = summaryView(bundle, language);
  } catch (error) {
    return <ErrorBox error={error} title="Cannot show this summary" />;
  }
  const labels = labelsFor(language);
  return (
    <div>
      <div className="row no-print">
        <LanguageSwitch value={language} onChange={onLanguage} />
        <button type="button" onClick={() => globalThis.print()}>
          Print
        </button>
        <button
          type="button"
          data-testid="summary-download"
          onClick={() => downloadFhirJson(summaryFileName(bundle), bundle)}
        >
          Download as FHIR document
        </button>
      </div>
      <article className="ips-summary" lang={language} data-testid="ips-summary">
        <header className="ips-head">
          <h3>{view.title}</h3>
          <table className="ips-patient">
            <tbody>
              <tr>
                <th scope="row">{labels.patient.name}</th>
                <td>{view.patient.name || '—'}</td>
                <th scope="row">{labels.patient.birthDate}</th>
                <td>{dateCell(view.patient.birthDate)}</td>
                <th scope="row">{labels.patient.gender}</th>
                <td>{view.patient.gender || '—'}</td>
              </tr>
            </tbody>
          </table>
          <p className="muted small">
            {view.author} · {dateCell(view.date)}
          </p>
        </header>
        {view.incomplete && (
          <p className="warning" role="alert" data-testid="summary-incomplete">
            <strong>{labels.incomplete}</strong>
          </p>
        )}
        {view.sections.map((section, i) => (
          <section key={`${section.code ?? ''}-${i}`} className="ips-section" data-code={section.code}>
            <h4>{section.title}</h4>
            {section.empty !== undefined ? (
              <p className="muted">{section.empty}</p>
            ) : (
              <table>
                <thead>
                  <tr>
                    {section.headings.map((h, c) => (
                      <th key={c} scope="col">
                        {h}
                      </th>
                    ))}
                  </tr>
                </thead>
                <tbody>
                  {section.rows.map((row) => (
                    <tr key={row.key}>
                      <td>{row.item || '—'}</td>
                      <td>{row.second || '—'}</td>
                      <td>{dateCell(row.date)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </section>
        ))}
      </article>
    </div>
  );
}
