/** The provider console: practitioner sign-in, find a patient, the chart, add a record, request access. */
import { useState, type FormEvent } from 'react';
import type { TokenResponse } from '../../../src/wire/index.js';
import { grantState } from '../../../src/client/consent.js';
import { FhirApiError, type FhirResource } from '../../../src/client/fhir.js';
import type { Purpose } from '../../../src/contracts/consent.js';
import { isSigningDid } from '../../../src/crypto/did.js';
import type { Wallet } from '../../../src/wallet/wallet.js';
import { WalletGate } from '../components/WalletGate.js';
import {
  PurposeSelect,
  ErrorBox,
  LineChart,
  Loading,
  Section,
  shortDid,
  Timeline,
  useAction,
  useLoad,
} from '../components/ui.js';
import { endLedgerSession, requestAccess, signInWallet } from '../lib/actions.js';
import { accessStateOf, fhirClient, ledger, type AccessState } from '../lib/node.js';
import { buildResource, FORM_KINDS, validateForm, type FormKind, type FormValues } from '../lib/forms.js';
import { byDateDesc, seriesOf, titleOf, type Resource } from '../lib/records.js';
import { grantWords } from '../lib/words.js';
import { EmergencyAccessPanel } from './EmergencyConsole.js';
import { ChartSummary } from './SummaryViews.js';

const DID_SYSTEM = 'urn:ietf:rfc:3986';
const CHART_TYPES = [
  'Condition',
  'MedicationRequest',
  'AllergyIntolerance',
  'Observation',
  'Immunization',
  'Encounter',
  'Procedure',
  'DiagnosticReport',
];

export function ProviderPage() {
  const [wallet, setWallet] = useState<Wallet>();
  if (!wallet) return <WalletGate role="practitioner" onUnlocked={setWallet} />;
  return (
    <Console
      wallet={wallet}
      onLock={() => {
        endLedgerSession();
        setWallet(undefined);
      }}
    />
  );
}

function Console({ wallet, onLock }: { wallet: Wallet; onLock: () => void }) {
  const session = useLoad(() => signInWallet(wallet), [wallet.did]);
  const fromLink = /(?:^#|&)did=([^&]+)/.exec(globalThis.location.hash)?.[1];
  const [patient, setPatient] = useState<string | undefined>(
    fromLink ? decodeURIComponent(fromLink) : undefined,
  );
  const org = useLoad(async () => (await ledger.orgs()).orgs, []);
  if (session.loading) return <Loading what="sign-in (signing the node's challenge)" />;
  if (session.error || !session.data) {
    return (
      <div className="card narrow">
        <ErrorBox error={session.error} title="Sign-in failed" />
        <p>
          Is this wallet registered by your organization's admin? Its DID:{' '}
          <span className="mono">{wallet.did}</span>
        </p>
        <button type="button" onClick={onLock}>
          Use another wallet
        </button>
      </div>
    );
  }
  const principal = session.data;
  const orgName = org.data?.find((o) => o.did === principal.org)?.name ?? principal.org ?? '';
  return (
    <div>
      <div className="identity card">
        <p>
          {principal.kind}{' '}
          <span className="mono" title={principal.did}>
            {shortDid(principal.did)}
          </span>{' '}
          of <strong data-testid="my-org">{orgName}</strong>
          {principal.roles.length > 0 && <span className="muted"> ({principal.roles.join(', ')})</span>}
        </p>
        <button type="button" onClick={onLock}>
          Lock wallet
        </button>
      </div>
      <FindPatient initial={patient ?? ''} onFind={setPatient} />
      {patient && <Chart key={patient} wallet={wallet} session={principal} patient={patient} />}
    </div>
  );
}

function FindPatient({ initial, onFind }: { initial: string; onFind: (did: string) => void }) {
  const [value, setValue] = useState(initial);
  const [error, setError] = useState<string>();
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const text = value.trim();
    const did = /did=([^&]+)/.exec(text)?.[1] ? decodeURIComponent(/did=([^&]+)/.exec(text)![1]!) : text;
    if (!isSigningDid(did)) return setError('That is not a patient DID (did:key:z6Mk…) or a patient link.');
    setError(undefined);
    onFind(did);
  };
  return (
    <Section title="Find a patient">
      <form onSubmit={submit} aria-label="Find a patient">
        <label htmlFor="patient-did">Patient DID or the link the patient shows you</label>
        <div className="row">
          <input
            id="patient-did"
            className="mono"
            value={value}
            onChange={(e) => setValue(e.target.value)}
            aria-invalid={error !== undefined}
            aria-describedby={error ? 'patient-did-error' : undefined}
            required
          />
          <button type="submit" className="primary">
            Open chart
          </button>
        </div>
        {error && (
          <p id="patient-did-error" className="field-error" role="alert">
            {error}
          </p>
        )}
      </form>
    </Section>
  );
}

interface ChartData {
  readonly patientId: string | undefined;
  readonly resources: Resource[];
  readonly denied: AccessState | null;
}

async function loadChart(token: string, did: string): Promise<ChartData> {
  const fhir = fhirClient(token);
  try {
    const found = await fhir.search('Patient', { identifier: `${DID_SYSTEM}|${did}` });
    const patientId = found.entry?.[0]?.resource?.id;
    if (patientId === undefined) return { patientId, resources: [], denied: null };
    const resources: Resource[] = [];
    for (const type of CHART_TYPES) {
      resources.push(...((await fhir.searchAll(type, { patient: `Patient/${patientId}` })) as Resource[]));
    }
    return { patientId, resources, denied: null };
  } catch (error) {
    const denied = accessStateOf(error);
    if (denied === null) throw error;
    return { patientId: undefined, resources: [], denied };
  }
}

const STATE_TEXT: Readonly<Record<AccessState, { title: string; text: string }>> = {
  'no-access': {
    title: 'No access',
    text: 'Your organization holds no grant from this patient. Ask the patient for access below.',
  },
  expired: {
    title: 'Access expired',
    text: "The patient's grant to your organization has expired. Ask the patient again.",
  },
  revoked: {
    title: 'Access revoked',
    text: 'The patient revoked the grant to your organization. You can no longer read or add records.',
  },
  'not-covered': { title: 'Not covered', text: "The patient's grant does not cover these records." },
  'other-org': { title: 'Wrong node', text: "You can sign in only at your own organization's node." },
};

function Chart({ wallet, session, patient }: { wallet: Wallet; session: TokenResponse; patient: string }) {
  const consents = useLoad(() => ledger.consents(patient), [patient]);
  const orgs = useLoad(async () => (await ledger.orgs()).orgs, []);
  const chart = useLoad(() => loadChart(session.access_token, patient), [patient, session.access_token]);
  const now = Date.now();
  const mine = (consents.data?.grants ?? []).filter((g) => g.grantee === session.org);
  const active = mine.filter((g) => grantState(g, now) === 'active');
  // The ledger's view of our access when the FHIR API has nothing to refuse (no records yet).
  const latest = [...mine].sort((a, b) => b.grantedAt - a.grantedAt)[0];
  const ledgerState: AccessState | null =
    consents.data === undefined || active.length > 0
      ? null
      : latest === undefined
        ? 'no-access'
        : grantState(latest, now) === 'expired'
          ? 'expired'
          : 'revoked';
  const state = chart.data?.denied ?? ledgerState;
  const canWrite = active.some((g) => g.access === 'write');
  const resources = byDateDesc(chart.data?.resources ?? []);
  const summary = (type: string) => resources.filter((r) => r.resourceType === type);
  const [view, setView] = useState<'chart' | 'summary'>('chart');
  const patientId = chart.data?.patientId;
  return (
    <div>
      <Section
        title={`Patient ${shortDid(patient)}`}
        actions={
          <button
            type="button"
            onClick={() => {
              chart.reload();
              consents.reload();
            }}
          >
            Refresh
          </button>
        }
      >
        {(chart.loading || consents.loading) && <Loading what="the chart" />}
        <ErrorBox error={chart.error ?? consents.error} />
        {state && (
          <div className={`access-state ${state}`} role="alert" data-testid="access-state">
            <strong>{STATE_TEXT[state].title}</strong> — {STATE_TEXT[state].text}
          </div>
        )}
        {!state && active.length > 0 && orgs.data && (
          <p className="muted small">{active.map((g) => grantWords(g, orgs.data ?? [])).join('; ')}.</p>
        )}
        {!state && patientId !== undefined && (
          <div className="chips" role="group" aria-label="View">
            {(
              [
                ['chart', 'Chart'],
                ['summary', 'Summary'],
              ] as const
            ).map(([id, label]) => (
              <button
                key={id}
                type="button"
                className={view === id ? 'chip on' : 'chip'}
                aria-pressed={view === id}
                onClick={() => setView(id)}
              >
                {label}
              </button>
            ))}
          </div>
        )}
        {!state && chart.data && view === 'chart' && (
          <>
            <div className="summary">
              {[
                ['Condition', 'Problems'],
                ['MedicationRequest', 'Medications'],
                ['AllergyIntolerance', 'Allergies'],
              ].map(([type, label]) => (
                <div key={type} className="summary-box">
                  <h3>{label}</h3>
                  {summary(type!).length === 0 ? (
                    <p className="muted">None recorded</p>
                  ) : (
                    <ul>
                      {summary(type!).map((r) => (
                        <li key={r.id}>{titleOf(r)}</li>
                      ))}
                    </ul>
                  )}
                </div>
              ))}
            </div>
            <div className="charts">
              {seriesOf(resources).map((c) => (
                <LineChart key={c.title} title={c.title} series={c.series} />
              ))}
            </div>
            <h3>Timeline</h3>
            <Timeline resources={resources} empty="No records this organization may read yet." />
          </>
        )}
      </Section>
      {!state && view === 'summary' && patientId !== undefined && (
        <ChartSummary token={session.access_token} patientId={patientId} />
      )}
      {!state && canWrite && chart.data && (
        <AddRecord
          token={session.access_token}
          patient={patient}
          patientId={chart.data.patientId}
          onAdded={chart.reload}
        />
      )}
      {!state && !canWrite && active.length > 0 && (
        <p className="muted card">The patient's grant is read-only: you cannot add records.</p>
      )}
      {(state === 'no-access' || state === 'expired' || state === 'revoked' || state === 'not-covered') && (
        <RequestAccess wallet={wallet} patient={patient} />
      )}
      {state !== null && state !== 'other-org' && session.roles.includes('emergency') && (
        <EmergencyAccessPanel wallet={wallet} session={session} patient={patient} />
      )}
    </div>
  );
}

function AddRecord({
  token,
  patient,
  patientId,
  onAdded,
}: {
  token: string;
  patient: string;
  patientId: string | undefined;
  onAdded: () => void;
}) {
  const [kind, setKind] = useState<FormKind>('blood-pressure');
  const [values, setValues] = useState<FormValues>({ date: new Date().toISOString().slice(0, 10) });
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [error, setError] = useState<unknown>();
  const [saving, setSaving] = useState(false);
  const [saved, setSaved] = useState<string>();
  const form = FORM_KINDS[kind];
  const set = (name: string, value: string) => setValues({ ...values, [name]: value });
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setSaved(undefined);
    setError(undefined);
    const problems = validateForm(kind, values);
    setErrors(problems);
    if (Object.keys(problems).length > 0) return;
    setSaving(true);
    try {
      const fhir = fhirClient(token);
      let id = patientId;
      if (id === undefined) {
        // The patient has no Patient resource here yet: it names the patient by DID.
        const self: FhirResource = {
          resourceType: 'Patient',
          identifier: [{ system: DID_SYSTEM, value: patient }],
        };
        id = (await fhir.create(self)).resource.id;
      }
      const resource = buildResource(kind, values, `Patient/${id ?? ''}`);
      const created = await fhir.create(resource as FhirResource);
      setSaved(`Saved: ${titleOf(created.resource)}`);
      setValues({ date: values.date ?? '' });
      onAdded();
    } catch (e) {
      // The node validates the resource as FHIR and names the element: show it next to its field.
      if (e instanceof FhirApiError && e.outcome) {
        const mapped: Record<string, string> = {};
        for (const issue of e.outcome.issue ?? []) {
          const field = form.fields.find((f) =>
            (issue.expression ?? []).some((x) => f.elements.some((el) => x.includes(el))),
          );
          if (field) mapped[field.name] = issue.diagnostics ?? issue.details?.text ?? 'invalid';
        }
        setErrors(mapped);
        if (Object.keys(mapped).length === 0) setError(e);
      } else {
        setError(e);
      }
    } finally {
      setSaving(false);
    }
  };
  return (
    <Section title="Add a record">
      <form onSubmit={(e) => void submit(e)} aria-label="Add a record" noValidate>
        <label htmlFor="record-kind">Kind of record</label>
        <select
          id="record-kind"
          value={kind}
          onChange={(e) => {
            setKind(e.target.value as FormKind);
            setErrors({});
          }}
        >
          {Object.entries(FORM_KINDS).map(([k, f]) => (
            <option key={k} value={k}>
              {f.label}
            </option>
          ))}
        </select>
        {form.fields.map((f) => {
          const id = `field-${f.name}`;
          const problem = errors[f.name];
          return (
            <div key={f.name} className="field">
              <label htmlFor={id}>
                {f.label}
                {f.unit ? ` (${f.unit})` : ''}
              </label>
              {f.options ? (
                <select
                  id={id}
                  value={values[f.name] ?? ''}
                  onChange={(e) => set(f.name, e.target.value)}
                  aria-invalid={problem !== undefined}
                  aria-describedby={problem ? `${id}-error` : undefined}
                >
                  <option value="">Choose…</option>
                  {f.options.map(([v, label]) => (
                    <option key={v} value={v}>
                      {label}
                    </option>
                  ))}
                </select>
              ) : (
                <input
                  id={id}
                  type={f.type}
                  inputMode={f.type === 'number' ? 'decimal' : undefined}
                  value={values[f.name] ?? ''}
                  onChange={(e) => set(f.name, e.target.value)}
                  aria-invalid={problem !== undefined}
                  aria-describedby={problem ? `${id}-error` : undefined}
                />
              )}
              {problem && (
                <p id={`${id}-error`} className="field-error" role="alert">
                  {problem}
                </p>
              )}
            </div>
          );
        })}
        <ErrorBox error={error} title="Not saved" />
        {saved && (
          <p className="success" role="status">
            {saved}
          </p>
        )}
        <button type="submit" className="primary" disabled={saving}>
          {saving ? 'Saving…' : 'Save record'}
        </button>
      </form>
    </Section>
  );
}

function RequestAccess({ wallet, patient }: { wallet: Wallet; patient: string }) {
  const [purpose, setPurpose] = useState<Purpose>('treatment');
  const [write, setWrite] = useState(false);
  const { busy, error, run } = useAction();
  const [done, setDone] = useState(false);
  const submit = run(async () => {
    await requestAccess(wallet, {
      patient,
      resourceTypes: ['*'],
      classes: ['general'],
      access: write ? 'write' : 'read',
      purpose,
    });
    setDone(true);
  });
  return (
    <Section title="Request access">
      {done ? (
        <p className="success" role="status">
          Request sent. The patient sees it under Sharing and can approve or decline it.
        </p>
      ) : (
        <form onSubmit={submit} aria-label="Request access">
          <PurposeSelect id="req-purpose" value={purpose} onChange={setPurpose} />
          <label className="check">
            <input type="checkbox" checked={write} onChange={(e) => setWrite(e.target.checked)} /> Also ask to
            add records
          </label>
          <ErrorBox error={error} title="Request not sent" />
          <button type="submit" className="primary" disabled={busy}>
            {busy ? 'Sending…' : 'Request access'}
          </button>
        </form>
      )}
    </Section>
  );
}
