/** Small building blocks: loading and error states, a line chart, a timeline, text helpers. */
import { useEffect, useRef, useState, type FormEvent, type ReactNode } from 'react';
import { PURPOSES, type Purpose } from '../../../src/contracts/consent.js';
import { errorText } from '../lib/node.js';
import { dateOf, KIND_OF, titleOf, type Resource, type Series } from '../lib/records.js';

export function Loading({ what }: { what: string }) {
  return (
    <p className="loading" role="status" aria-live="polite">
      <span className="spinner" aria-hidden="true" /> Loading {what}…
    </p>
  );
}

export function ErrorBox({ error, title }: { error: unknown; title?: string }) {
  if (error === undefined || error === null) return null;
  return (
    <div className="error" role="alert">
      <strong>{title ?? 'Something went wrong'}:</strong> {errorText(error)}
    </div>
  );
}

/** Runs `load` when `deps` change: { data, error, loading, reload }. */
export function useLoad<T>(load: () => Promise<T>, deps: readonly unknown[]) {
  const [state, setState] = useState<{ data?: T; error?: unknown; loading: boolean }>({ loading: true });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let alive = true;
    setState((s) => ({ ...s, loading: true, error: undefined }));
    load().then(
      (data) => alive && setState({ data, loading: false }),
      (error: unknown) => alive && setState({ error, loading: false }),
    );
    return () => {
      alive = false;
    };
  }, [...deps, tick]);
  return { ...state, reload: () => setTick((t) => t + 1) };
}

/** True when keyboard focus is nowhere (on the body): the element that had it went away. */
function focusLost(): boolean {
  const active = document.activeElement;
  return active === null || active === document.body;
}

/**
 * Busy and error states around an action (a form's submit, a button): `run(action)` gives the
 * handler; an error thrown by the action is kept in `error` for an ErrorBox. `outcome` is for the
 * element keyboard focus should go to when the action ends and focus was lost meanwhile (a
 * focused button that was disabled while busy): the field to correct, or the result's message
 * (give it `tabIndex={-1}`).
 */
export function useAction<T extends HTMLElement = HTMLElement>() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const [settled, setSettled] = useState(0);
  const outcome = useRef<T>(null);
  useEffect(() => {
    if (settled > 0 && outcome.current?.isConnected && focusLost()) outcome.current.focus();
  }, [settled]);
  const run = (action: () => Promise<void>) => (event?: FormEvent) => {
    event?.preventDefault();
    setBusy(true);
    setError(undefined);
    action().then(
      () => {
        setBusy(false);
        setSettled((n) => n + 1);
      },
      (e: unknown) => {
        setError(e);
        setBusy(false);
        setSettled((n) => n + 1);
      },
    );
  };
  return { busy, error, run, outcome };
}

/**
 * A ref whose element takes keyboard focus when it appears (when `when` holds): the heading of a
 * step that replaced the one the user was on, so that focus does not fall back to the page's
 * start. The element needs `tabIndex={-1}` unless it is focusable anyway.
 */
export function useFocusOnMount<T extends HTMLElement>(when = true) {
  const ref = useRef<T>(null);
  useEffect(() => {
    if (when) ref.current?.focus();
  }, []);
  return ref;
}

/** A section heading that takes focus when it appears (see {@link useFocusOnMount}). */
export function FocusHeading({ children, when = true }: { children: ReactNode; when?: boolean }) {
  const ref = useFocusOnMount<HTMLHeadingElement>(when);
  return (
    <h2 ref={ref} tabIndex={-1}>
      {children}
    </h2>
  );
}

export function shortDid(did: string): string {
  return did.length > 28 ? `${did.slice(0, 16)}…${did.slice(-6)}` : did;
}

export function formatDate(value: string | number | undefined | null): string {
  if (value === undefined || value === null || value === '') return '—';
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) return String(value);
  return d.toLocaleDateString('en-GB', { day: 'numeric', month: 'long', year: 'numeric' });
}

export function formatTime(value: number): string {
  return new Date(value).toLocaleString('en-GB', {
    day: 'numeric',
    month: 'short',
    year: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
  });
}

export function Verified({ ok }: { ok: boolean }) {
  return ok ? (
    <span className="badge ok" title="ledger inclusion proof checked in this browser">
      ✓ verified
    </span>
  ) : (
    <span className="badge bad" title="the ledger proof did not check out">
      ✗ not verified
    </span>
  );
}

/** A card with a heading; `onRefresh` adds a Refresh button beside the heading (before `actions`). */
export function Section({
  title,
  children,
  actions,
  onRefresh,
}: {
  title: string;
  children: ReactNode;
  actions?: ReactNode;
  onRefresh?: () => void;
}) {
  return (
    <section className="card" aria-label={title}>
      <div className="card-head">
        <h2>{title}</h2>
        {onRefresh && (
          <button type="button" onClick={onRefresh}>
            Refresh
          </button>
        )}
        {actions}
      </div>
      {children}
    </section>
  );
}

const COLORS = ['#0b6e4f', '#c2410c', '#1d4ed8', '#7c3aed'];

/** A small SVG line chart of one or more series over time. */
export function LineChart({ title, series }: { title: string; series: readonly Series[] }) {
  const points = series.flatMap((s) => s.points);
  if (points.length === 0) return null;
  const w = 320;
  const h = 140;
  const pad = { l: 36, r: 8, t: 8, b: 22 };
  const t0 = Math.min(...points.map((p) => p.t));
  const t1 = Math.max(...points.map((p) => p.t));
  const v0 = Math.min(...points.map((p) => p.v));
  const v1 = Math.max(...points.map((p) => p.v));
  const span = v1 - v0 || Math.abs(v1) || 1;
  const lo = v0 - span * 0.1;
  const hi = v1 + span * 0.1;
  const x = (t: number) =>
    pad.l + (t1 === t0 ? (w - pad.l - pad.r) / 2 : ((t - t0) / (t1 - t0)) * (w - pad.l - pad.r));
  const y = (v: number) => pad.t + (1 - (v - lo) / (hi - lo)) * (h - pad.t - pad.b);
  const unit = series[0]?.unit ?? '';
  const last = series.map((s) => s.points[s.points.length - 1]).filter((p) => p !== undefined);
  return (
    <figure className="chart">
      <figcaption>
        {title} {unit && <span className="muted">({unit})</span>}
      </figcaption>
      <svg
        viewBox={`0 0 ${w} ${h}`}
        role="img"
        aria-label={`${title}: ${series.map((s) => `${s.name} latest ${s.points[s.points.length - 1]?.v ?? '—'}`).join(', ')}`}
      >
        <line x1={pad.l} y1={h - pad.b} x2={w - pad.r} y2={h - pad.b} stroke="#999" />
        <line x1={pad.l} y1={pad.t} x2={pad.l} y2={h - pad.b} stroke="#999" />
        <text x={2} y={y(hi) + 10} fontSize="10">
          {Math.round(hi * 10) / 10}
        </text>
        <text x={2} y={y(lo)} fontSize="10">
          {Math.round(lo * 10) / 10}
        </text>
        <text x={pad.l} y={h - 6} fontSize="10">
          {formatDate(t0)}
        </text>
        {t1 !== t0 && (
          <text x={w - pad.r} y={h - 6} fontSize="10" textAnchor="end">
            {formatDate(t1)}
          </text>
        )}
        {series.map((s, i) => (
          <g key={s.name} stroke={COLORS[i % COLORS.length]} fill={COLORS[i % COLORS.length]}>
            <polyline
              fill="none"
              strokeWidth="2"
              points={s.points.map((p) => `${x(p.t)},${y(p.v)}`).join(' ')}
            />
            {s.points.map((p) => (
              <circle key={`${p.t}-${p.v}`} cx={x(p.t)} cy={y(p.v)} r="3">
                <title>{`${s.name} ${p.v} ${s.unit} on ${formatDate(p.t)}`}</title>
              </circle>
            ))}
          </g>
        ))}
      </svg>
      {series.length > 1 && (
        <p className="legend">
          {series.map((s, i) => (
            <span key={s.name} style={{ color: COLORS[i % COLORS.length] }}>
              ■ {s.name}{' '}
            </span>
          ))}
        </p>
      )}
      <p className="muted small">
        Latest: {last.map((p) => p.v).join('/')} {unit}
      </p>
    </figure>
  );
}

/** Records newest first, with a filter by kind. */
export function Timeline({ resources, empty }: { resources: readonly Resource[]; empty: string }) {
  const [kind, setKind] = useState('All');
  const kinds = ['All', ...new Set(resources.map((r) => KIND_OF[r.resourceType] ?? 'Other'))];
  const shown = resources.filter((r) => kind === 'All' || (KIND_OF[r.resourceType] ?? 'Other') === kind);
  if (resources.length === 0) return <p className="muted">{empty}</p>;
  return (
    <div>
      <div className="chips" role="group" aria-label="Filter the timeline">
        {kinds.map((k) => (
          <button
            key={k}
            type="button"
            className={k === kind ? 'chip on' : 'chip'}
            aria-pressed={k === kind}
            onClick={() => setKind(k)}
          >
            {k}
          </button>
        ))}
      </div>
      <ol className="timeline">
        {shown.map((r, i) => (
          <li key={`${r.resourceType}/${r.id ?? i}`} className="timeline-item" data-type={r.resourceType}>
            <time>{formatDate(dateOf(r))}</time>
            <span className="kind">{KIND_OF[r.resourceType] ?? r.resourceType}</span>
            <span className="what">{titleOf(r)}</span>
          </li>
        ))}
      </ol>
    </div>
  );
}

/** A table with column headers, scrolling sideways on a narrow screen. */
export function Table({ headers, children }: { headers: readonly string[]; children: ReactNode }) {
  return (
    <div className="table-wrap">
      <table>
        <thead>
          <tr>
            {headers.map((h) => (
              <th key={h} scope="col">
                {h}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>{children}</tbody>
      </table>
    </div>
  );
}

/** The purposes of use a grant or request names (HL7 v3 PurposeOfUse, as the ledger lists them). */
export function PurposeSelect({
  id,
  value,
  onChange,
}: {
  id: string;
  value: Purpose;
  onChange: (p: Purpose) => void;
}) {
  return (
    <>
      <label htmlFor={id}>Purpose</label>
      <select id={id} value={value} onChange={(e) => onChange(e.target.value as Purpose)}>
        {PURPOSES.map((p) => (
          <option key={p} value={p}>
            {p}
          </option>
        ))}
      </select>
    </>
  );
}
