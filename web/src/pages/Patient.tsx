/** The patient portal: wallet, registration, my record, sharing, who saw my record. */
import { useEffect, useRef, useState } from 'react';
import { grantState } from '../../../src/client/consent.js';
import type { OrgSummary } from '../../../src/wire/index.js';
import type { Purpose } from '../../../src/contracts/consent.js';
import type { Wallet } from '../../../src/wallet/wallet.js';
import { WalletGate } from '../components/WalletGate.js';
import {
  PurposeSelect,
  ErrorBox,
  formatTime,
  LineChart,
  Loading,
  Section,
  shortDid,
  Timeline,
  useAction,
  useFocusOnMount,
  useLoad,
} from '../components/ui.js';
import {
  approveRequest,
  declineRequest,
  grantAccess,
  isRegistered,
  endLedgerSession,
  registerPatient,
  revokeGrant,
  signInWallet,
} from '../lib/actions.js';
import { ledger } from '../lib/node.js';
import { byDateDesc, exportBundle, loadMyRecords, seriesOf } from '../lib/records.js';
import { downloadFhirJson } from '../lib/download.js';
import { dayWords, grantWords, typesWords } from '../lib/words.js';
import { MySummary } from './SummaryViews.js';
import { EmergencyBanners, EmergencySettings } from './EmergencyPortal.js';
import { WhoSawMyRecord } from './WhoSawMyRecord.js';
import { MyShareLinks } from './MyShareLinks.js';

export function PatientPage() {
  const [wallet, setWallet] = useState<Wallet>();
  const [locked, setLocked] = useState(false);
  if (!wallet) return <WalletGate role="patient" onUnlocked={setWallet} focus={locked} />;
  return (
    <PatientHome
      wallet={wallet}
      onLock={() => {
        endLedgerSession();
        setLocked(true);
        setWallet(undefined);
      }}
    />
  );
}

function PatientHome({ wallet, onLock }: { wallet: Wallet; onLock: () => void }) {
  const registered = useLoad(() => isRegistered(wallet.did), [wallet.did]);
  const { busy, error, run, outcome } = useAction<HTMLDivElement>();
  // The wallet was just unlocked or created (the form the user was on is gone): focus goes here.
  const identity = useFocusOnMount<HTMLParagraphElement>();
  const [justRegistered, setJustRegistered] = useState(false);
  const register = run(async () => {
    await registerPatient(wallet);
    setJustRegistered(true);
    registered.reload();
  });
  return (
    <div>
      <div className="identity card">
        <p ref={identity} tabIndex={-1}>
          Signed in with your wallet{' '}
          <span className="mono" data-testid="my-did" title={wallet.did}>
            {wallet.did}
          </span>
        </p>
        <div className="row">
          <ShareLink did={wallet.did} />
          <button type="button" onClick={onLock}>
            Lock wallet
          </button>
        </div>
      </div>
      {registered.loading && <Loading what="your registration" />}
      <ErrorBox error={registered.error} />
      {registered.data === false && (
        <Section title="Register on the network">
          <p>
            Your wallet is new. Register it on the ledger to use it: only your DID and public encryption key
            go there — no name, no health data.
          </p>
          <div ref={outcome} tabIndex={-1}>
            <ErrorBox error={error} title="Registration failed" />
          </div>
          <button type="button" className="primary" onClick={() => register()} disabled={busy}>
            {busy ? 'Registering…' : 'Register'}
          </button>
        </Section>
      )}
      {registered.data === true && <SignedIn wallet={wallet} focusTabs={justRegistered} />}
    </div>
  );
}

function ShareLink({ did }: { did: string }) {
  const [shown, setShown] = useState(false);
  const link = `${globalThis.location.origin}/provider#did=${encodeURIComponent(did)}`;
  return (
    <>
      <button type="button" onClick={() => setShown(!shown)} aria-expanded={shown}>
        Show my link for a provider
      </button>
      {shown && (
        <p className="share">
          Give this link to your provider:{' '}
          <a href={link} className="mono">
            {link}
          </a>
        </p>
      )}
    </>
  );
}

type Tab = 'record' | 'summary' | 'sharing' | 'links' | 'audit';

function SignedIn({ wallet, focusTabs }: { wallet: Wallet; focusTabs: boolean }) {
  const session = useLoad(() => signInWallet(wallet), [wallet.did]);
  const [tab, setTab] = useState<Tab>('record');
  // Just registered (the Register button is gone): focus goes to the first tab once signed in.
  const signedIn = session.data !== undefined;
  useEffect(() => {
    if (focusTabs && signedIn) document.getElementById('tab-record')?.focus();
  }, [signedIn]);
  if (session.loading) return <Loading what="sign-in (signing the node's challenge)" />;
  if (session.error || !session.data) return <ErrorBox error={session.error} title="Sign-in failed" />;
  const token = session.data.access_token;
  const tabs: Array<[Tab, string]> = [
    ['record', 'My record'],
    ['summary', 'My summary'],
    ['sharing', 'Sharing'],
    ['links', 'My links'],
    ['audit', 'Who saw my record'],
  ];
  return (
    <div>
      <EmergencyBanners wallet={wallet} />
      <div
        className="tabs"
        role="tablist"
        aria-label="Patient portal"
        onKeyDown={(e) => {
          // WAI-ARIA tabs: the arrow keys move between tabs, Home and End to the first and last.
          const here = tabs.findIndex(([id]) => id === tab);
          const to: Record<string, number> = {
            ArrowRight: (here + 1) % tabs.length,
            ArrowLeft: (here - 1 + tabs.length) % tabs.length,
            Home: 0,
            End: tabs.length - 1,
          };
          const index = to[e.key];
          if (index === undefined) return;
          e.preventDefault();
          const next = tabs[index]![0];
          setTab(next);
          document.getElementById(`tab-${next}`)?.focus();
        }}
      >
        {tabs.map(([id, label]) => (
          <button
            key={id}
            id={`tab-${id}`}
            type="button"
            role="tab"
            aria-selected={tab === id}
            aria-controls="tab-panel"
            tabIndex={tab === id ? 0 : -1}
            className={tab === id ? 'tab on' : 'tab'}
            onClick={() => setTab(id)}
          >
            {label}
          </button>
        ))}
      </div>
      <div id="tab-panel" role="tabpanel" aria-labelledby={`tab-${tab}`}>
        {tab === 'record' && <MyRecord wallet={wallet} token={token} />}
        {tab === 'summary' && <MySummary wallet={wallet} token={token} />}
        {tab === 'sharing' && (
          <>
            <Sharing wallet={wallet} />
            <EmergencySettings wallet={wallet} />
          </>
        )}
        {tab === 'links' && <MyShareLinks wallet={wallet} token={token} />}
        {tab === 'audit' && <WhoSawMyRecord wallet={wallet} token={token} />}
      </div>
    </div>
  );
}

function MyRecord({ wallet, token }: { wallet: Wallet; token: string }) {
  const load = useLoad(() => loadMyRecords(wallet, token), [wallet.did, token]);
  const resources = byDateDesc((load.data?.records ?? []).map((r) => r.resource));
  const download = () => downloadFhirJson('my-health-record.fhir.json', exportBundle(resources));
  return (
    <Section
      title="My record"
      actions={
        <div className="row">
          <button type="button" onClick={load.reload}>
            Refresh
          </button>
          <button type="button" onClick={download} disabled={resources.length === 0}>
            Export as FHIR Bundle
          </button>
        </div>
      }
    >
      <p className="muted small">
        Decrypted in this browser with your wallet's keys; the node sends only ciphertext.
      </p>
      {load.loading && <Loading what="and decrypting your record" />}
      <ErrorBox error={load.error} />
      {load.data && load.data.failed > 0 && (
        <p className="error">{load.data.failed} record(s) could not be decrypted with this wallet.</p>
      )}
      {load.data && (
        <>
          <div className="charts">
            {seriesOf(resources).map((c) => (
              <LineChart key={c.title} title={c.title} series={c.series} />
            ))}
          </div>
          <Timeline
            resources={resources}
            empty="No records yet. When a provider you shared with adds one, it appears here."
          />
        </>
      )}
    </Section>
  );
}

const GRANT_TYPES: Array<[string, string]> = [
  ['Observation', 'Results and vital signs'],
  ['Condition', 'Problems'],
  ['MedicationRequest', 'Medications'],
  ['AllergyIntolerance', 'Allergies'],
  ['Immunization', 'Immunizations'],
  ['Encounter', 'Visits'],
  ['Patient', 'Personal details'],
];

function Sharing({ wallet }: { wallet: Wallet }) {
  const data = useLoad(async () => {
    const [{ orgs }, consents] = await Promise.all([ledger.orgs(), ledger.consents(wallet.did)]);
    return { orgs, consents };
  }, [wallet.did]);
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState<string>();
  const [notice, setNotice] = useState<string>();
  // The button the user pressed goes away with its request or grant: focus goes to what happened.
  const outcome = useRef<HTMLDivElement>(null);
  const [settled, setSettled] = useState(0);
  useEffect(() => {
    if (settled > 0) outcome.current?.focus();
  }, [settled]);
  if (data.loading && !data.data) return <Loading what="your sharing" />;
  if (!data.data) return <ErrorBox error={data.error} />;
  const { orgs, consents } = data.data;
  const now = Date.now();
  const active = consents.grants.filter((g) => grantState(g, now) === 'active');
  const past = consents.grants.filter((g) => grantState(g, now) !== 'active');
  const pending = consents.requests.filter((r) => r.status === 'pending');
  const act = async (key: string, fn: () => Promise<unknown>, done: string) => {
    setBusy(key);
    setError(undefined);
    setNotice(undefined);
    try {
      await fn();
      setNotice(done);
      data.reload();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(undefined);
      setSettled((n) => n + 1);
    }
  };
  return (
    <div>
      <div ref={outcome} tabIndex={-1}>
        <ErrorBox error={error} />
        {notice && (
          <p className="success" role="status">
            {notice}
          </p>
        )}
      </div>
      <Section title="Access requests">
        {pending.length === 0 ? (
          <p className="muted">No pending requests.</p>
        ) : (
          <ul className="list">
            {pending.map((r) => {
              const org = orgs.find((o) => o.did === r.org);
              return (
                <li key={r.id} className="request">
                  <p>
                    <strong>{org?.name ?? shortDid(r.org)}</strong> asks to{' '}
                    {r.access === 'write' ? 'read and add to' : 'read'} your{' '}
                    {typesWords(r.scope.resourceTypes)} for {r.purpose}{' '}
                    <span className="muted">({formatTime(r.requestedAt)})</span>
                  </p>
                  <div className="row">
                    <button
                      type="button"
                      className="primary"
                      disabled={busy !== undefined || !org}
                      onClick={() =>
                        void act(
                          r.id,
                          () => approveRequest(wallet, r, org!),
                          `Approved: ${org?.name ?? 'the organization'} can now see what it asked for.`,
                        )
                      }
                    >
                      {busy === r.id ? 'Working…' : 'Approve'}
                    </button>
                    <button
                      type="button"
                      disabled={busy !== undefined}
                      onClick={() =>
                        void act(
                          r.id,
                          () => declineRequest(wallet, r.id),
                          `Declined the request of ${org?.name ?? shortDid(r.org)}.`,
                        )
                      }
                    >
                      Decline
                    </button>
                  </div>
                </li>
              );
            })}
          </ul>
        )}
      </Section>
      <Section title="Who can see my record">
        {active.length === 0 ? (
          <p className="muted">Nobody: you have not shared your record.</p>
        ) : (
          <ul className="list">
            {active.map((g) => (
              <li key={g.id} className="grant" data-testid="active-grant">
                <span>{grantWords(g, orgs)}.</span>
                <button
                  type="button"
                  className="danger"
                  disabled={busy !== undefined}
                  onClick={() =>
                    void act(
                      g.id,
                      () => revokeGrant(wallet, g.id, orgs),
                      `Revoked: ${orgs.find((o) => o.did === g.grantee)?.name ?? shortDid(g.grantee)} no longer has access.`,
                    )
                  }
                >
                  {busy === g.id ? 'Revoking…' : 'Revoke'}
                </button>
              </li>
            ))}
          </ul>
        )}
        {past.length > 0 && (
          <details>
            <summary>Ended grants ({past.length})</summary>
            <ul className="list">
              {past.map((g) => (
                <li key={g.id} className="muted">
                  {grantWords(g, orgs)} — {grantState(g, now)}
                </li>
              ))}
            </ul>
          </details>
        )}
      </Section>
      <GrantForm
        wallet={wallet}
        // A suspended or expelled organization's grants are not honoured: it is not offered.
        orgs={orgs.filter((o) => o.status === 'active')}
        busy={busy !== undefined}
        onDone={() => {
          setNotice(undefined);
          data.reload();
        }}
      />
    </div>
  );
}

function GrantForm({
  wallet,
  orgs,
  busy,
  onDone,
}: {
  wallet: Wallet;
  orgs: readonly OrgSummary[];
  busy: boolean;
  onDone: () => void;
}) {
  const [orgDid, setOrgDid] = useState('');
  const [all, setAll] = useState(false);
  const [types, setTypes] = useState<string[]>(['MedicationRequest', 'AllergyIntolerance']);
  const [sensitive, setSensitive] = useState(false);
  const [write, setWrite] = useState(false);
  const [purpose, setPurpose] = useState<Purpose>('treatment');
  const [expires, setExpires] = useState('');
  const { busy: saving, error, run, outcome } = useAction<HTMLDivElement>();
  const [done, setDone] = useState<string>();
  const org = orgs.find((o) => o.did === orgDid);
  const regions = [...new Set(orgs.map((o) => o.region))].sort();
  const expiresAt = expires === '' ? null : Date.parse(`${expires}T23:59:59`);
  const resourceTypes = all ? ['*'] : types;
  const sentence = org
    ? grantWords(
        {
          grantee: org.did,
          access: write ? 'write' : 'read',
          expiresAt,
          scope: { resourceTypes, classes: sensitive ? ['general', 'sensitive'] : ['general'] },
        },
        orgs,
      )
    : null;
  const submit = run(async () => {
    setDone(undefined);
    if (!org) throw new Error('Choose an organization.');
    if (resourceTypes.length === 0) throw new Error('Choose at least one kind of record.');
    if (expiresAt !== null && (Number.isNaN(expiresAt) || expiresAt <= Date.now()))
      throw new Error('The end date must be in the future.');
    await grantAccess(wallet, {
      org,
      resourceTypes,
      classes: sensitive ? ['general', 'sensitive'] : ['general'],
      access: write ? 'write' : 'read',
      purpose,
      expiresAt,
    });
    setDone(`Shared: ${sentence ?? ''}.`);
    onDone();
  });
  return (
    <Section title="Share my record">
      <form onSubmit={submit} aria-label="Share my record">
        <label htmlFor="grant-org">Organization (directory from the ledger, by region)</label>
        <select id="grant-org" value={orgDid} onChange={(e) => setOrgDid(e.target.value)} required>
          <option value="">Choose…</option>
          {regions.map((region) => (
            <optgroup key={region} label={`Region ${region}`}>
              {orgs
                .filter((o) => o.region === region)
                .map((o) => (
                  <option key={o.did} value={o.did}>
                    {o.name} ({o.region})
                  </option>
                ))}
            </optgroup>
          ))}
        </select>
        <fieldset>
          <legend>What they may see</legend>
          <label className="check">
            <input type="checkbox" checked={all} onChange={(e) => setAll(e.target.checked)} /> My whole record
          </label>
          {!all &&
            GRANT_TYPES.map(([type, label]) => (
              <label key={type} className="check">
                <input
                  type="checkbox"
                  checked={types.includes(type)}
                  onChange={(e) =>
                    setTypes(e.target.checked ? [...types, type] : types.filter((t) => t !== type))
                  }
                />{' '}
                {label}
              </label>
            ))}
          <label className="check">
            <input type="checkbox" checked={sensitive} onChange={(e) => setSensitive(e.target.checked)} />{' '}
            Include sensitive records (mental health, sexual health…)
          </label>
        </fieldset>
        <fieldset>
          <legend>Access</legend>
          <label className="check">
            <input type="radio" name="access" checked={!write} onChange={() => setWrite(false)} /> Read only
          </label>
          <label className="check">
            <input type="radio" name="access" checked={write} onChange={() => setWrite(true)} /> Read and add
            records (lets them keep your record)
          </label>
        </fieldset>
        <PurposeSelect id="grant-purpose" value={purpose} onChange={setPurpose} />
        <label htmlFor="grant-expires">Until (leave empty for no end date)</label>
        <input
          id="grant-expires"
          type="date"
          value={expires}
          onChange={(e) => setExpires(e.target.value)}
          min={new Date().toISOString().slice(0, 10)}
        />
        {sentence && (
          <p className="sentence" aria-live="polite">
            {sentence}.
          </p>
        )}
        {expiresAt !== null && !Number.isNaN(expiresAt) && (
          <p className="muted small">Ends {dayWords(expiresAt)}.</p>
        )}
        <div ref={outcome} tabIndex={-1}>
          <ErrorBox error={error} title="Not shared" />
          {done && (
            <p className="success" role="status">
              {done}
            </p>
          )}
        </div>
        <button type="submit" className="primary" disabled={saving || busy}>
          {saving ? 'Sharing…' : 'Share'}
        </button>
      </form>
    </Section>
  );
}
