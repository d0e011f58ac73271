/**
 * The patient summary in the two places it is read: the provider console's "Summary" of a chart
 * (the node's `$summary`, asked in the reader's language) and the portal's "My summary" (built in
 * this browser from the records decrypted with the wallet: the node cannot open records other
 * custodians keep, the wallet can).
 */
import { useMemo, useState } from 'react';
import type { Bundle, Resource } from '@medplum/fhirtypes';
import type { Wallet } from '../../../src/wallet/wallet.js';
import { PatientSummary } from '../components/Summary.js';
import { ErrorBox, Loading, Section, useLoad } from '../components/ui.js';
import { fhirClient } from '../lib/node.js';
import { loadMyRecords } from '../lib/records.js';
import { buildMySummary, preferredLanguage, type SummaryLanguage } from '../lib/summary.js';

/** A chart's summary from the node: the titles in `language` (sent as Accept-Language). */
export function ChartSummary({ token, patientId }: { token: string; patientId: string }) {
  const [language, setLanguage] = useState<SummaryLanguage>(() => preferredLanguage());
  const summary = useLoad(
    async () => (await fhirClient(token).summary(patientId, { language })) as unknown as Bundle,
    [token, patientId, language],
  );
  return (
    <Section title="Patient summary" onRefresh={summary.reload}>
      {summary.loading && <Loading what="the patient summary" />}
      <ErrorBox error={summary.error} title="No summary" />
      {summary.data && <PatientSummary bundle={summary.data} language={language} onLanguage={setLanguage} />}
    </Section>
  );
}

/** The patient's own summary, from their decrypted records. */
export function MySummary({ wallet, token }: { wallet: Wallet; token: string }) {
  const [language, setLanguage] = useState<SummaryLanguage>(() => preferredLanguage());
  const load = useLoad(() => loadMyRecords(wallet, token), [wallet.did, token]);
  const bundle = useMemo(
    () =>
      load.data &&
      buildMySummary({
        did: wallet.did,
        resources: load.data.records.map((r) => r.resource as unknown as Resource),
        language,
        // A record this wallet could not open is one the summary may be missing.
        incomplete: load.data.failed > 0,
      }),
    [load.data, language, wallet.did],
  );
  return (
    <Section title="My summary" onRefresh={load.reload}>
      <p className="muted small">
        Built in this browser from your decrypted record: the one page a doctor abroad needs (problems,
        allergies, medications, results), in their language. Download it to carry it with you.
      </p>
      {load.loading && <Loading what="and decrypting your record" />}
      <ErrorBox error={load.error} />
      {bundle && <PatientSummary bundle={bundle} language={language} onLanguage={setLanguage} />}
    </Section>
  );
}
