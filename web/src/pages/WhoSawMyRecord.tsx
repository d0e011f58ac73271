/**
 * The portal's "Who saw my record": one row per visit (see web/src/lib/visits.ts) saying in plain
 * words who saw what, expandable to its single entries, each with its inclusion proof checked in
 * this browser. Break-glass visits are red and on top.
 */
import { Fragment, useState } from 'react';
import { readAuditTrail } from '../../../src/client/audit.js';
import type { Wallet } from '../../../src/wallet/wallet.js';
import {
  ErrorBox,
  formatTime,
  Loading,
  Section,
  shortDid,
  Table,
  useLoad,
  Verified,
} from '../components/ui.js';
import { fhirClient, ledger } from '../lib/node.js';
import { actorWords, groupVisits, visitWords, type TrailRow, type Visit } from '../lib/visits.js';

/** How many of the patient's latest entries are read (and proof-checked). */
const TRAIL_LIMIT = 200;

function Entries({ visit, self }: { visit: Visit; self: string }) {
  return (
    <Table headers={['When', 'What', 'Purpose', 'Under', 'Proof']}>
      {visit.entries.map((r: TrailRow) => (
        <tr key={r.id} data-testid="audit-row">
          <td>{formatTime(r.at)}</td>
          <td>
            {r.action} {r.resourceType ?? ''}{' '}
            {r.outcome === 'denied' && <span className="badge bad">denied</span>}
          </td>
          <td>{r.purpose ?? '—'}</td>
          <td>
            {r.emergency
              ? `emergency access ${r.emergency.slice(0, 10)}`
              : r.action === 'break-glass'
                ? 'break-glass'
                : r.grantId
                  ? `grant ${r.grantId.slice(0, 10)}`
                  : r.actor === self
                    ? 'own record'
                    : '—'}
          </td>
          <td>
            <Verified ok={r.proofValid} />
          </td>
        </tr>
      ))}
    </Table>
  );
}

export function WhoSawMyRecord({ wallet, token }: { wallet: Wallet; token: string }) {
  const trail = useLoad(
    () => readAuditTrail(ledger, wallet.did, TRAIL_LIMIT, fhirClient(token)),
    [wallet.did, token],
  );
  const orgs = useLoad(async () => (await ledger.orgs()).orgs, []);
  const [open, setOpen] = useState<ReadonlySet<string>>(new Set());
  const regionOf = (org: string | null) => orgs.data?.find((o) => o.did === org)?.region;
  const visits = groupVisits(trail.data?.rows ?? []);
  const toggle = (id: string) => {
    const next = new Set(open);
    if (!next.delete(id)) next.add(id);
    setOpen(next);
  };
  return (
    <Section title="Who saw my record" onRefresh={trail.reload}>
      <p className="muted small">
        Every access is written on the ledger by the node that served it. The accesses of one visit are one
        row; open it to see each entry, whose inclusion proof is checked in this browser.
      </p>
      {trail.loading && <Loading what="the audit trail and checking proofs" />}
      <ErrorBox error={trail.error} />
      {trail.data && visits.length === 0 && (
        <p className="muted">No accesses recorded yet (entries reach the ledger within a second or two).</p>
      )}
      {visits.length > 0 && (
        <Table headers={['When', 'Who saw what', 'Proofs', '']}>
          {visits.map((v) => {
            const region = regionOf(v.actorOrg);
            const expanded = open.has(v.id);
            return (
              <Fragment key={v.id}>
                <tr
                  className={v.breakGlass ? 'visit emergency' : 'visit'}
                  data-testid="audit-visit"
                  data-break-glass={v.breakGlass ? 'true' : undefined}
                >
                  <td>
                    {formatTime(v.start)}
                    {v.end - v.start >= 60_000 && <span className="muted"> – {formatTime(v.end)}</span>}
                  </td>
                  <td>
                    {v.breakGlass && <span className="badge emergency">break-glass</span>}{' '}
                    <strong>
                      {actorWords(v, {
                        self: wallet.did,
                        shortDid,
                        ...(region === undefined ? {} : { region }),
                      })}
                    </strong>{' '}
                    {visitWords(v)}.
                  </td>
                  <td>
                    <Verified ok={v.allVerified} />{' '}
                    <span className="muted small">
                      {v.entries.length} {v.entries.length === 1 ? 'entry' : 'entries'}
                    </span>
                  </td>
                  <td>
                    <button
                      type="button"
                      className="link"
                      aria-expanded={expanded}
                      aria-controls={`visit-${v.id}`}
                      onClick={() => toggle(v.id)}
                    >
                      {expanded ? 'Hide entries' : 'Show entries'}
                    </button>
                  </td>
                </tr>
                {expanded && (
                  <tr className="visit-detail" id={`visit-${v.id}`}>
                    <td colSpan={4}>
                      <Entries visit={v} self={wallet.did} />
                    </td>
                  </tr>
                )}
              </Fragment>
            );
          })}
        </Table>
      )}
    </Section>
  );
}
