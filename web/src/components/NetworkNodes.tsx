/**
 * The explorer's "Nodes" panel: this node and every other node of the network, each with its
 * region, height and whether its blocks agree with this node's (signed attestations), and a
 * warning when this node diverged and stopped committing. The words come from lib/network.ts.
 */
import type { StatusResponse } from '../../../src/wire/index.js';
import { AGREEMENT_LABEL, AGREEMENT_TONE, networkView, summaryWords, type NodeRow } from '../lib/network.js';
import { ErrorBox, Loading, Section } from './ui.js';

export interface StatusLoad {
  readonly data?: StatusResponse;
  readonly error?: unknown;
  readonly loading: boolean;
  readonly reload: () => void;
}

export function NetworkNodes({ status }: { status: StatusLoad }) {
  return (
    <Section
      title="Nodes"
      actions={
        <button type="button" onClick={status.reload}>
          Refresh nodes
        </button>
      }
    >
      {status.loading && !status.data && <Loading what="the network's nodes" />}
      <ErrorBox error={status.error} title="Could not load the network's nodes" />
      {status.data && <NodesView status={status.data} />}
    </Section>
  );
}

function NodesView({ status }: { status: StatusResponse }) {
  const { state, rows } = networkView(status);
  const others = rows.filter((r) => !r.self);
  return (
    <>
      {state.kind === 'self-diverged' && (
        <div className="alert-diverged" role="alert" data-testid="diverged-warning">
          <h3>This node has diverged from the network</h3>
          <p>
            {state.halted
              ? `It stopped committing: ${state.halted}.`
              : "Its blocks differ from those of a majority of the network's nodes."}{' '}
            What it shows may be wrong. Its operator must restore its data from a healthy node (or resync it)
            and restart it.
          </p>
          {others.length > 0 && (
            <p>
              Meanwhile, use another node:{' '}
              {others.map((r, i) => (
                <span key={r.node}>
                  {i > 0 && ', '}
                  <a href={r.url}>
                    {r.orgName} ({r.region})
                  </a>
                </span>
              ))}
              .
            </p>
          )}
        </div>
      )}
      <p
        className={state.kind === 'peers-diverged' ? 'network-summary warn' : 'network-summary'}
        data-testid="network-summary"
      >
        {summaryWords(state)}
      </p>
      <ul className="nodes" aria-label="Nodes of the network">
        {rows.map((row) => (
          <NodeCard
            key={row.node}
            row={row}
            selfDiverged={
              state.kind === 'self-diverged' ? (state.halted ? 'diverged, halted' : 'diverged') : undefined
            }
          />
        ))}
      </ul>
    </>
  );
}

function NodeCard({ row, selfDiverged }: { row: NodeRow; selfDiverged: string | undefined }) {
  const id = `node-${row.node.slice(-12)}`;
  return (
    <li className={row.self ? 'node-card self' : 'node-card'} aria-labelledby={id} data-testid="node">
      <h3 id={id}>
        {row.orgName}
        {row.self && (
          <>
            {' '}
            <span className="badge self-badge">this node</span>
          </>
        )}
      </h3>
      <dl className="facts">
        <dt>Region</dt>
        <dd>{row.region}</dd>
        <dt>URL</dt>
        <dd className="mono">{row.self ? row.url : <a href={row.url}>{row.url}</a>}</dd>
        <dt>{row.self ? 'Height' : 'Attested height'}</dt>
        <dd data-testid="node-height">
          {row.height ?? '—'}
          {row.behind !== undefined && <span className="muted"> ({row.behind} behind this node)</span>}
          {!row.self && row.receivedAt !== undefined && (
            <span className="muted small"> received {clock(row.receivedAt)}</span>
          )}
          {!row.self && row.height === undefined && <span className="muted"> no attestation yet</span>}
        </dd>
        {row.headShort && (
          <>
            <dt>Head</dt>
            <dd className="mono">{row.headShort}</dd>
          </>
        )}
        <dt>Agreement</dt>
        <dd>
          {row.agreement ? (
            <>
              <span className={`badge ${AGREEMENT_TONE[row.agreement]}`} data-testid="agreement">
                {AGREEMENT_LABEL[row.agreement]}
              </span>{' '}
              <span className="muted small">{row.explain}</span>
            </>
          ) : selfDiverged ? (
            <span className="badge bad" data-testid="agreement">
              {selfDiverged}
            </span>
          ) : (
            <span className="muted">this node: the others are compared with it</span>
          )}
        </dd>
      </dl>
    </li>
  );
}

function clock(ms: number): string {
  return new Date(ms).toLocaleTimeString('en-GB', { hour: '2-digit', minute: '2-digit', second: '2-digit' });
}
