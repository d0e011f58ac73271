/**
 * The provider console's "Emergency access" for a practitioner with the emergency role: a coded
 * reason and a duration of at most 24 hours, a confirmation that says it is logged and that the
 * patient will see it, then the wait for the trustees' releases, and the patient's summary read
 * under break-glass with its state and end time always in view.
 */
import { useState, type FormEvent } from 'react';
import { EMERGENCY_REASONS, type EmergencyReason } from '../../../src/contracts/emergency.js';
import type { TokenResponse } from '../../../src/wire/index.js';
import type { Wallet } from '../../../src/wallet/wallet.js';
import { ErrorBox, formatTime, Loading, Section, useLoad } from '../components/ui.js';
import { activeBreakGlass, breakGlass, DURATIONS, REASON_WORDS } from '../lib/emergency.js';
import { fhirClient } from '../lib/node.js';
import { ChartSummary } from './SummaryViews.js';

const DID_SYSTEM = 'urn:ietf:rfc:3986';

/** A break-glass in force: the access id and when it ends. */
interface InForce {
  readonly id: string;
  readonly end: number;
}

function ActiveBreakGlass({ token, patient, access }: { token: string; patient: string; access: InForce }) {
  const patientId = useLoad(async () => {
    const found = await fhirClient(token).search('Patient', { identifier: `${DID_SYSTEM}|${patient}` });
    return found.entry?.[0]?.resource?.id;
  }, [token, patient, access.id]);
  return (
    <>
      <div className="emergency-banner" role="status" data-testid="break-glass-active">
        <h3>Break-glass active until {formatTime(access.end)}</h3>
        <p>
          You are reading this patient's summary under emergency access{' '}
          <span className="mono">{access.id}</span>: read only, the summary's kinds of records only. Every
          read is logged and shown to the patient.
        </p>
      </div>
      {patientId.loading && <Loading what="the patient" />}
      <ErrorBox error={patientId.error} title="Patient not found" />
      {patientId.data !== undefined && <ChartSummary token={token} patientId={patientId.data} />}
      {!patientId.loading && !patientId.error && patientId.data === undefined && (
        <p className="muted card">No Patient resource for this DID on the network's custodians.</p>
      )}
    </>
  );
}

export function EmergencyAccessPanel({
  wallet,
  session,
  patient,
}: {
  wallet: Wallet;
  session: TokenResponse;
  patient: string;
}) {
  const existing = useLoad(() => activeBreakGlass(patient, wallet.did, Date.now()), [patient, wallet.did]);
  const [reason, setReason] = useState<EmergencyReason>('ETREAT');
  const [durationMs, setDurationMs] = useState(DURATIONS[1]![0]);
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const [waiting, setWaiting] = useState<string>();
  const [granted, setGranted] = useState<InForce>();
  const confirm = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    setWaiting(undefined);
    try {
      const status = await breakGlass(wallet, session.access_token, { patient, reason, durationMs });
      if (status.keys === 'ready') setGranted({ id: status.id, end: status.end });
      else if (status.keys === 'waiting')
        setWaiting(
          `${status.releases} of the ${status.threshold} trustee releases needed have arrived (EMERGENCY_SHARES_INSUFFICIENT). The access is logged; try again later or ask the trustees' operators.`,
        );
      else setError(new Error(`The keys could not be opened: ${status.code ?? status.keys}`));
      setConfirming(false);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  const inForce = granted ?? (existing.data && { id: existing.data.id, end: existing.data.end });
  if (existing.loading) return <Loading what="your emergency accesses" />;
  if (inForce) return <ActiveBreakGlass token={session.access_token} patient={patient} access={inForce} />;
  return (
    <Section title="Emergency access">
      <p>
        The patient cannot consent and you need their summary now? With your emergency role you may break the
        glass, if the patient allowed emergency access.
      </p>
      <form onSubmit={(e) => void confirm(e)} aria-label="Emergency access">
        <label htmlFor="emergency-reason">Reason</label>
        <select
          id="emergency-reason"
          value={reason}
          onChange={(e) => setReason(e.target.value as EmergencyReason)}
          disabled={confirming}
        >
          {EMERGENCY_REASONS.map((r) => (
            <option key={r} value={r}>
              {REASON_WORDS[r]}
            </option>
          ))}
        </select>
        <label htmlFor="emergency-duration">For</label>
        <select
          id="emergency-duration"
          value={durationMs}
          onChange={(e) => setDurationMs(Number(e.target.value))}
          disabled={confirming}
        >
          {DURATIONS.map(([ms, words]) => (
            <option key={ms} value={ms}>
              {words}
            </option>
          ))}
        </select>
        {confirming ? (
          <div className="emergency-banner" role="alertdialog" aria-label="Confirm emergency access">
            <p>
              <strong>This is logged.</strong> Breaking the glass is written on the ledger with your identity,
              your organization, the time and the reason; every record you read under it is logged too. The
              patient will see it, and may flag it for review.
            </p>
            <div className="row">
              <button type="submit" className="danger" disabled={busy}>
                {busy ? 'Breaking the glass… (waiting for the trustees)' : 'Confirm: break the glass'}
              </button>
              <button type="button" onClick={() => setConfirming(false)} disabled={busy}>
                Cancel
              </button>
            </div>
          </div>
        ) : (
          <div className="row">
            <button type="button" className="danger" onClick={() => setConfirming(true)}>
              Break the glass…
            </button>
          </div>
        )}
      </form>
      {waiting && (
        <p className="warning" role="alert">
          {waiting}
        </p>
      )}
      <ErrorBox error={error} title="No emergency access" />
    </Section>
  );
}
