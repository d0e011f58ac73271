/**
 * The patient's side of emergency access in the portal: a red banner for every break-glass of the
 * record (who, organization, region, when, why) with "Flag for review"; after one ended, the offer
 * to rotate the keys; and the setting itself (allowed or not, for which classes, the trustees and
 * how many of them must release).
 */
import { useState } from 'react';
import type { SensitivityClass } from '../../../src/ledger/types.js';
import type { EmergencyAccessSummary, OrgSummary } from '../../../src/wire/index.js';
import type { Wallet } from '../../../src/wallet/wallet.js';
import { ErrorBox, formatTime, Loading, Section, shortDid, useAction, useLoad } from '../components/ui.js';
import { rekeyActiveGrants } from '../lib/actions.js';
import {
  disableEmergencyAccess,
  enableEmergencyAccess,
  endedSinceRotation,
  flagEmergencyAccess,
  isEmergencyActive,
  REASON_WORDS,
  rotateKeys,
} from '../lib/emergency.js';
import { ledger } from '../lib/node.js';
import { listWords } from '../lib/words.js';

function useEmergency(did: string) {
  return useLoad(async () => {
    const [emergency, { orgs }] = await Promise.all([ledger.emergency(did), ledger.orgs()]);
    return { emergency, orgs };
  }, [did]);
}

function orgName(orgs: readonly OrgSummary[], did: string): string {
  return orgs.find((o) => o.did === did)?.name ?? shortDid(did);
}

function Banner({
  access,
  orgs,
  wallet,
  onFlagged,
}: {
  access: EmergencyAccessSummary;
  orgs: readonly OrgSummary[];
  wallet: Wallet;
  onFlagged: () => void;
}) {
  const { busy, error, run } = useAction();
  const flag = run(async () => {
    await flagEmergencyAccess(wallet, access.id);
    onFlagged();
  });
  const active = isEmergencyActive(access, Date.now());
  const org = access.orgName ?? orgName(orgs, access.org);
  return (
    <div className="emergency-banner" role="alert" data-testid="emergency-banner">
      <h3>{active ? 'Emergency access to your record is active' : 'Emergency access to your record'}</h3>
      <p>
        Practitioner <span className="mono">{shortDid(access.requester)}</span> of <strong>{org}</strong>
        {access.region && ` (${access.region})`} broke the glass on {formatTime(access.start)} for{' '}
        {REASON_WORDS[access.reason]}, {active ? 'until' : 'which ended'} {formatTime(access.end)}. It opened
        your {listWords([...access.classes])} records: summary kinds only, read only, each read logged.
      </p>
      {access.flagged ? (
        <p>
          <strong>Flagged for review</strong> on {formatTime(access.flagged.at)}.
        </p>
      ) : (
        <button type="button" className="danger" onClick={() => flag()} disabled={busy}>
          {busy ? 'Flagging…' : 'Flag for review'}
        </button>
      )}
      <ErrorBox error={error} title="Not flagged" />
    </div>
  );
}

/** Banners of every break-glass (newest first), and the offer to rotate the keys after one. */
export function EmergencyBanners({ wallet }: { wallet: Wallet }) {
  const data = useEmergency(wallet.did);
  const { busy, error, run } = useAction();
  const [rotated, setRotated] = useState(false);
  const rotate = run(async () => {
    await rotateKeys(wallet, data.data?.orgs ?? [], rekeyActiveGrants);
    setRotated(true);
    data.reload();
  });
  if (!data.data) return <ErrorBox error={data.error} title="Emergency accesses not loaded" />;
  const { emergency, orgs } = data.data;
  const accesses = [...emergency.accesses].reverse();
  const ended = endedSinceRotation(emergency, Date.now());
  return (
    <div>
      {accesses.map((access) => (
        <Banner key={access.id} access={access} orgs={orgs} wallet={wallet} onFlagged={data.reload} />
      ))}
      {ended.length > 0 && (
        <div className="warning" role="status" data-testid="rotate-offer">
          <p>
            A break-glass of your record has ended. The organization that broke it held your record keys
            meanwhile: rotate them, so that what is written from now on is under new keys (your grants get the
            new keys, and the emergency escrow is made again).
          </p>
          <button type="button" className="primary" onClick={() => rotate()} disabled={busy}>
            {busy ? 'Rotating…' : 'Rotate my keys'}
          </button>
          <ErrorBox error={error} title="Keys not rotated" />
        </div>
      )}
      {rotated && ended.length === 0 && (
        <p className="success" role="status">
          Keys rotated: your grants and the emergency escrow use the new keys.
        </p>
      )}
    </div>
  );
}

const CLASS_WORDS: ReadonlyArray<readonly [SensitivityClass, string]> = [
  ['general', 'General records (problems, allergies, medications, results…)'],
  ['sensitive', 'Sensitive records (mental health, sexual health…)'],
];

/** Whether emergency access is allowed, for which classes, with whom as trustees. */
export function EmergencySettings({ wallet }: { wallet: Wallet }) {
  const data = useEmergency(wallet.did);
  const [classes, setClasses] = useState<SensitivityClass[]>(['general']);
  const { busy, error, run, outcome } = useAction<HTMLDivElement>();
  const [done, setDone] = useState<string>();
  const act = (action: () => Promise<void>, message: string) =>
    run(async () => {
      setDone(undefined);
      await action();
      setDone(message);
      data.reload();
    });
  const policy = data.data?.emergency.policy ?? null;
  const orgs = data.data?.orgs ?? [];
  return (
    <Section title="Emergency access" onRefresh={data.reload}>
      <p className="muted small">
        If you cannot consent (an accident abroad), a practitioner with an emergency role may break the glass
        and read your summary for up to 24 hours. It is logged on the ledger and you see it here. Your record
        keys are held in escrow: split among trustee organizations, a majority of which must release them.
      </p>
      {data.loading && <Loading what="your emergency setting" />}
      <ErrorBox error={data.error} />
      {policy?.status === 'enabled' ? (
        <p data-testid="emergency-status">
          <strong>Allowed</strong> for your {listWords([...policy.classes])} records. Trustees:{' '}
          {listWords(policy.trustees.map((t) => orgName(orgs, t)))}; {policy.threshold} of{' '}
          {policy.trustees.length} must release.
        </p>
      ) : (
        <p data-testid="emergency-status">
          <strong>Not allowed</strong>
          {policy?.status === 'disabled' ? ' (you turned it off).' : '.'} Nobody can break the glass.
        </p>
      )}
      <fieldset>
        <legend>Records an emergency may open</legend>
        {CLASS_WORDS.map(([cls, words]) => (
          <label key={cls} className="check">
            <input
              type="checkbox"
              checked={classes.includes(cls)}
              onChange={(e) =>
                setClasses(e.target.checked ? [...classes, cls] : classes.filter((c) => c !== cls))
              }
            />{' '}
            {words}
          </label>
        ))}
      </fieldset>
      <div ref={outcome} tabIndex={-1}>
        <ErrorBox error={error} title="Not changed" />
        {done && (
          <p className="success" role="status">
            {done}
          </p>
        )}
      </div>
      <div className="row">
        <button
          type="button"
          className="primary"
          disabled={busy || classes.length === 0}
          onClick={act(
            () => enableEmergencyAccess(wallet, classes),
            'Emergency access allowed: your keys are in escrow with the trustees.',
          )}
        >
          {busy
            ? 'Working…'
            : policy?.status === 'enabled'
              ? 'Update emergency access'
              : 'Allow emergency access'}
        </button>
        {policy?.status === 'enabled' && (
          <button
            type="button"
            className="danger"
            disabled={busy}
            onClick={act(() => disableEmergencyAccess(wallet), 'Emergency access turned off.')}
          >
            Turn off
          </button>
        )}
      </div>
    </Section>
  );
}
