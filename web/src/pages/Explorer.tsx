/** The ledger explorer: latest blocks and transactions, a block's detail, proof checks, the network's nodes. */
import { useEffect, useRef, useState, type FormEvent } from 'react';
import type { BlockResponse } from '../../../src/wire/index.js';
import { verifyTxResponse } from '../../../src/client/verify.js';
import {
  Table,
  ErrorBox,
  formatTime,
  Loading,
  Section,
  shortDid,
  useLoad,
  Verified,
} from '../components/ui.js';
import { NetworkNodes } from '../components/NetworkNodes.js';
import { shortHash } from '../lib/network.js';
import { hasLedgerSession, ledger } from '../lib/node.js';

const PAGE = 15;
/** In a network, agreement changes as attestations arrive: the status is fetched again this often. */
const NETWORK_POLL_MS = 10_000;

export function ExplorerPage() {
  const status = useLoad(() => ledger.status(), []);
  const [selected, setSelected] = useState<number>();
  const inNetwork = status.data?.network !== undefined;
  const reloadStatus = status.reload;
  useEffect(() => {
    if (!inNetwork) return;
    const timer = setInterval(() => {
      if (document.visibilityState === 'visible') reloadStatus();
    }, NETWORK_POLL_MS);
    return () => clearInterval(timer);
  }, [inNetwork]); // `reload` only bumps a counter: a new function each render, the same effect.
  const blocks = useLoad(async () => {
    const { height } = await ledger.status();
    const from = Math.max(0, height - PAGE + 1);
    return [...(await ledger.getBlocks(from, PAGE)).blocks].reverse();
  }, []);
  return (
    <div>
      <Section
        title="This node"
        actions={
          <button
            type="button"
            onClick={() => {
              status.reload();
              blocks.reload();
            }}
          >
            Refresh
          </button>
        }
      >
        {status.loading && !status.data && <Loading what="status" />}
        <ErrorBox error={status.error} />
        {status.data && (
          <dl className="facts">
            <dt>Organization</dt>
            <dd>{status.data.org.name}</dd>
            <dt>Region</dt>
            <dd>{status.data.region}</dd>
            <dt>Height</dt>
            <dd data-testid="height">{status.data.height}</dd>
            <dt>Head</dt>
            <dd className="mono">{shortHash(status.data.headHash)}</dd>
            <dt>Ordering</dt>
            <dd>{status.data.ordering}</dd>
            <dt>Chain</dt>
            <dd className="mono">{status.data.chainId}</dd>
          </dl>
        )}
      </Section>
      <NetworkNodes status={status} />
      <VerifyTx />
      <Section title="Latest blocks">
        {blocks.data?.some((b) => b.redacted === true) && (
          <p className="hint" data-testid="redacted-note">
            {hasLedgerSession()
              ? 'Only your own transactions are shown: the rest of each block is for the network’s members.'
              : 'Block headers only: sign in (patient portal or provider console) to see transactions.'}
          </p>
        )}
        {blocks.loading && <Loading what="blocks" />}
        <ErrorBox error={blocks.error} />
        {blocks.data && (
          <Table headers={['Height', 'Time', 'Transactions', 'Results']}>
            {blocks.data.map((b) => (
              <tr key={b.header.height}>
                <td>
                  <button type="button" className="link" onClick={() => setSelected(b.header.height)}>
                    #{b.header.height}
                  </button>
                </td>
                <td>{formatTime(b.header.time)}</td>
                <td>{[...new Set(b.txs.map((t) => t.envelope.tx.type))].join(', ') || '—'}</td>
                <td>{b.txs.length === 0 ? '—' : summarizeCodes(b)}</td>
              </tr>
            ))}
          </Table>
        )}
      </Section>
      {selected !== undefined && <BlockDetail key={selected} height={selected} />}
    </div>
  );
}

function summarizeCodes(block: BlockResponse): string {
  const counts = new Map<string, number>();
  for (const tx of block.txs) counts.set(tx.code, (counts.get(tx.code) ?? 0) + 1);
  return [...counts].map(([code, n]) => `${n} ${code}`).join(', ');
}

function BlockDetail({ height }: { height: number }) {
  const block = useLoad(() => ledger.getBlock(height), [height]);
  const anchor = useRef<HTMLDivElement>(null);
  // The detail opens below the list: bring it into view and move keyboard focus there.
  useEffect(() => {
    anchor.current?.scrollIntoView({ block: 'start' });
    anchor.current?.focus();
  }, [height]);
  return (
    <div ref={anchor} tabIndex={-1}>
      <Section title={`Block #${height}`}>
        {block.loading && <Loading what="the block" />}
        <ErrorBox error={block.error} />
        {block.data && (
          <>
            <dl className="facts">
              <dt>Hash</dt>
              <dd className="mono">{block.data.hash}</dd>
              <dt>Previous</dt>
              <dd className="mono">{block.data.header.prevHash}</dd>
              <dt>Tx root</dt>
              <dd className="mono">{block.data.header.txRoot}</dd>
              <dt>State root</dt>
              <dd className="mono">{block.data.header.stateRoot}</dd>
            </dl>
            <ul className="list">
              {block.data.txs.map((tx) => (
                <li key={tx.id}>
                  <TxLine
                    id={tx.id}
                    type={tx.envelope.tx.type}
                    signer={tx.envelope.tx.signer}
                    code={tx.code}
                  />
                </li>
              ))}
            </ul>
          </>
        )}
      </Section>
    </div>
  );
}

function TxLine({ id, type, signer, code }: { id: string; type: string; signer: string; code: string }) {
  const [check, setCheck] = useState<{ ok?: boolean; error?: unknown; busy?: boolean }>({});
  const verify = async () => {
    setCheck({ busy: true });
    try {
      setCheck({ ok: verifyTxResponse(await ledger.getTx(id)) });
    } catch (error) {
      setCheck({ error });
    }
  };
  return (
    <div className="tx">
      <span className="mono">{id.slice(0, 12)}…</span> <strong>{type}</strong> by{' '}
      <span className="mono">{shortDid(signer)}</span>{' '}
      <span className={code === 'OK' ? 'badge ok' : 'badge bad'}>{code}</span>{' '}
      {check.ok === undefined ? (
        <button type="button" onClick={() => void verify()} disabled={check.busy}>
          {check.busy ? 'Checking…' : 'Verify this transaction'}
        </button>
      ) : (
        <Verified ok={check.ok} />
      )}
      <ErrorBox error={check.error} />
    </div>
  );
}

function VerifyTx() {
  const [id, setId] = useState('');
  const [shown, setShown] = useState<string>();
  const submit = (event: FormEvent) => {
    event.preventDefault();
    setShown(id.trim());
  };
  const tx = useLoad(async () => (shown ? ledger.getTx(shown) : undefined), [shown]);
  return (
    <Section title="Verify a transaction">
      <form onSubmit={submit} aria-label="Verify a transaction">
        <label htmlFor="tx-id">Transaction id (64 hex digits)</label>
        <div className="row">
          <input
            id="tx-id"
            className="mono"
            value={id}
            onChange={(e) => setId(e.target.value)}
            pattern="[0-9a-f]{64}"
            required
          />
          <button type="submit" className="primary">
            Verify
          </button>
        </div>
      </form>
      {shown && tx.loading && <Loading what="the transaction and its proof" />}
      <ErrorBox error={tx.error} />
      {tx.data && (
        <p>
          <strong>{tx.data.tx.tx.type}</strong> in block #{tx.data.height}, result {tx.data.code}: inclusion
          proof checked in this browser <Verified ok={verifyTxResponse(tx.data)} />
        </p>
      )}
    </Section>
  );
}
