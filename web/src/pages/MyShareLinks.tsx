/**
 * The portal's "My links": SMART Health Links to the patient's summary. The summary is built in
 * this browser from the decrypted record (lib/records.ts `myRecordSummary`), encrypted here with a
 * fresh key and uploaded as ciphertext (`ShareLinkClient`); the link, which holds the key, is
 * shown with its QR code and the emergency card to print, and kept at the node sealed by the
 * wallet (src/client/share-link-keys.ts): the node keeps the ciphertext, a hash of the link's
 * address and the sealed link it cannot open. Below, every link with its accesses, each one click
 * from off, and its QR code and card again (links made before keys were kept: "QR not
 * available"). Each time the page is shown, long-term links whose record changed since their
 * file was built are refreshed (`syncShareLinks`).
 */
import { Fragment, useEffect, useState, type FormEvent } from 'react';
import { followsRecord, syncShareLinks, type LinkSyncOutcome } from '../../../src/client/share-link-sync.js';
import { ShareLinkClient, type CreatedShareLink, type RebuiltShareLink } from '../../../src/client/share-links.js';
import type { Wallet } from '../../../src/wallet/wallet.js';
import type { ShareLinkView } from '../../../src/wire/index.js';
import { EmergencyCard, ShlQrCode } from '../components/ShlCard.js';
import { ErrorBox, formatTime, Loading, Section, Table, useLoad } from '../components/ui.js';
import { browserFetch, NODE_URL } from '../lib/node.js';
import { loadMyRecords, myRecordSummary } from '../lib/records.js';
import { preferredLanguage } from '../lib/summary.js';

const DAY_S = 24 * 60 * 60;
const EXPIRY_CHOICES: ReadonlyArray<readonly [string, number | undefined]> = [
  ['1 day', DAY_S],
  ['1 week', 7 * DAY_S],
  ['1 month', 30 * DAY_S],
  ['1 year', 365 * DAY_S],
  ['No expiry', undefined],
];

function linkClient(token: string, wallet: Wallet): ShareLinkClient {
  return new ShareLinkClient({ baseUrl: NODE_URL, accessToken: token, fetch: browserFetch, holder: wallet });
}

/** "passcode, long-term" for a link's flags. */
function flagWords(flag: string): string {
  const words = [
    flag.includes('P') ? 'passcode' : '',
    flag.includes('L') ? 'long-term' : '',
    flag.includes('U') ? 'direct file' : '',
  ].filter((w) => w !== '');
  return words.join(', ') || '—';
}

export function MyShareLinks({ wallet, token }: { wallet: Wallet; token: string }) {
  const links = useLoad(() => linkClient(token, wallet).list(), [token]);
  const [created, setCreated] = useState<CreatedShareLink>();
  const synced = useFollowRecord(wallet, token, links.data, links.reload);
  return (
    <>
      <CreateLinkForm
        wallet={wallet}
        token={token}
        onCreated={(link) => {
          setCreated(link);
          links.reload();
        }}
      />
      {created !== undefined && (
        <Section title="Your new link">
          <p className="muted small">
            The link holds the key to your summary; this node keeps only the encrypted file, and the link
            sealed by your wallet (so you can show its QR code again below). Show the QR code, or print the
            card and keep it with your passport.
          </p>
          <ShlQrCode link={created.link} />
          <p className="mono small" data-testid="shl-link">
            {created.link}
          </p>
          <EmergencyCard
            link={created.link}
            label={created.view.label ?? undefined}
            exp={created.view.exp ?? undefined}
            did={wallet.did}
          />
        </Section>
      )}
      <Section title="My links" onRefresh={links.reload}>
        {links.loading && <Loading what="your links" />}
        <ErrorBox error={links.error} />
        <ErrorBox error={synced.error} title="Long-term links not refreshed" />
        {synced.refreshed > 0 && (
          <p className="muted small" role="status" data-testid="shl-synced">
            {synced.refreshed} long-term link{synced.refreshed === 1 ? '' : 's'} now show{synced.refreshed === 1 ? 's' : ''} your
            current record.
          </p>
        )}
        {links.data?.length === 0 && <p className="muted">No links yet.</p>}
        {links.data !== undefined && links.data.length > 0 && (
          <LinkTable links={links.data} wallet={wallet} token={token} onChanged={links.reload} />
        )}
      </Section>
    </>
  );
}

/**
 * Refreshes, once per showing of the page, the long-term links whose record changed since their
 * file was built: the record is fetched (and the summary built) only when such a link exists.
 */
function useFollowRecord(
  wallet: Wallet,
  token: string,
  links: readonly ShareLinkView[] | undefined,
  reload: () => void,
): { refreshed: number; error: unknown } {
  const [state, setState] = useState<{ done: boolean; refreshed: number; error: unknown }>({
    done: false,
    refreshed: 0,
    error: undefined,
  });
  useEffect(() => {
    if (state.done || links === undefined) return;
    setState((s) => ({ ...s, done: true }));
    if (!links.some((l) => followsRecord(l) && l.sealedKey !== null)) return;
    void (async () => {
      try {
        const mine = await loadMyRecords(wallet, token);
        const outcomes: LinkSyncOutcome[] = await syncShareLinks({
          client: linkClient(token, wallet),
          holder: wallet,
          links,
          currentDigest: mine.digest,
          buildDocument: () => Promise.resolve(myRecordSummary(mine, wallet.did, preferredLanguage())),
        });
        const refreshed = outcomes.filter((o) => o.outcome === 'refreshed').length;
        setState((s) => ({ ...s, refreshed }));
        if (refreshed > 0) reload();
      } catch (error) {
        setState((s) => ({ ...s, error }));
      }
    })();
  }, [links, state.done]);
  return state;
}

function CreateLinkForm({
  wallet,
  token,
  onCreated,
}: {
  wallet: Wallet;
  token: string;
  onCreated: (link: CreatedShareLink) => void;
}) {
  const [label, setLabel] = useState('My health summary');
  const [expiry, setExpiry] = useState(1);
  const [passcode, setPasscode] = useState('');
  const [longTerm, setLongTerm] = useState(false);
  const [direct, setDirect] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const mine = await loadMyRecords(wallet, token);
      const document = myRecordSummary(mine, wallet.did, preferredLanguage());
      const seconds = EXPIRY_CHOICES[expiry]?.[1];
      const withPasscode = passcode !== '';
      onCreated(
        await linkClient(token, wallet).create({
          document,
          builtFrom: mine.digest,
          flags: { passcode: withPasscode, longTerm, direct: direct && !withPasscode },
          ...(withPasscode ? { passcode } : {}),
          ...(seconds === undefined ? {} : { exp: Math.floor(Date.now() / 1000) + seconds }),
          ...(label.trim() === '' ? {} : { label: label.trim() }),
        }),
      );
      setPasscode('');
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Section title="Share my summary with a link">
      <p className="muted small">
        For a doctor who is not on the network (abroad, say): they scan the QR code and read your summary in
        their browser, in their language. Your summary is encrypted in this browser; every opening is recorded
        in <em>Who saw my record</em>.
      </p>
      <form onSubmit={(e) => void submit(e)} aria-label="Share my summary with a link">
        <label htmlFor="shl-label">Label (shown to whoever opens it, at most 80 characters)</label>
        <input id="shl-label" maxLength={80} value={label} onChange={(e) => setLabel(e.target.value)} />
        <label htmlFor="shl-expiry">Valid for</label>
        <select id="shl-expiry" value={expiry} onChange={(e) => setExpiry(Number(e.target.value))}>
          {EXPIRY_CHOICES.map(([words], i) => (
            <option key={words} value={i}>
              {words}
            </option>
          ))}
        </select>
        <label htmlFor="shl-new-passcode">Passcode (optional, at least 4 characters: tell it to the doctor)</label>
        <input
          id="shl-new-passcode"
          type="password"
          autoComplete="new-password"
          minLength={4}
          maxLength={128}
          value={passcode}
          onChange={(e) => setPasscode(e.target.value)}
        />
        <label className="inline">
          <input type="checkbox" checked={longTerm} onChange={(e) => setLongTerm(e.target.checked)} /> Long-term
          (follows your record: refreshed when you open My links, or by <code>roam shl sync</code>)
        </label>
        <label className="inline">
          <input
            type="checkbox"
            checked={direct && passcode === ''}
            disabled={passcode !== ''}
            onChange={(e) => setDirect(e.target.checked)}
          />{' '}
          Direct file (one step for the viewer; not with a passcode)
        </label>
        <ErrorBox error={error} title="No link" />
        <div className="row">
          <button type="submit" disabled={busy}>
            {busy ? 'Building and encrypting your summary…' : 'Create link'}
          </button>
        </div>
      </form>
    </Section>
  );
}

function LinkTable({
  links,
  wallet,
  token,
  onChanged,
}: {
  links: readonly ShareLinkView[];
  wallet: Wallet;
  token: string;
  onChanged: () => void;
}) {
  const [error, setError] = useState<unknown>();
  const [shown, setShown] = useState<{ id: string; rebuilt: RebuiltShareLink }>();
  const deactivate = async (id: string) => {
    setError(undefined);
    try {
      await linkClient(token, wallet).deactivate(id);
      onChanged();
    } catch (e) {
      setError(e);
    }
  };
  const show = async (view: ShareLinkView) => {
    setError(undefined);
    if (shown?.id === view.id) return setShown(undefined);
    try {
      setShown({ id: view.id, rebuilt: await linkClient(token, wallet).rebuild(view) });
    } catch (e) {
      setError(e);
    }
  };
  return (
    <>
      <ErrorBox error={error} title="Not done" />
      <Table headers={['Link', 'Kind', 'Status', 'Valid until', '']}>
        {links.map((link) => (
          <Fragment key={link.id}>
            <tr data-testid="shl-link-row">
              <td>{link.label ?? '—'}</td>
              <td>{flagWords(link.flag)}</td>
              <td>
                <span className={link.status === 'active' ? 'badge ok' : 'badge bad'}>{link.status}</span>
                {link.remainingAttempts !== null && (
                  <span className="muted small"> {link.remainingAttempts} passcode attempts left</span>
                )}
              </td>
              <td>{link.exp === null ? 'no expiry' : formatTime(link.exp * 1000)}</td>
              <td>
                {link.sealedKey === null ? (
                  <span className="muted small" data-testid="shl-no-qr">
                    QR not available
                  </span>
                ) : (
                  link.status === 'active' && (
                    <button type="button" onClick={() => void show(link)} aria-pressed={shown?.id === link.id}>
                      {shown?.id === link.id ? 'Hide QR code' : 'Show QR code'}
                    </button>
                  )
                )}{' '}
                {link.status === 'active' && (
                  <button type="button" onClick={() => void deactivate(link.id)}>
                    Deactivate
                  </button>
                )}
              </td>
            </tr>
            {shown?.id === link.id && (
              <tr data-testid="shl-shown-again">
                <td colSpan={5}>
                  <ShlQrCode link={shown.rebuilt.link} />
                  <p className="mono small" data-testid="shl-link-again">
                    {shown.rebuilt.link}
                  </p>
                  <EmergencyCard
                    link={shown.rebuilt.link}
                    label={shown.rebuilt.secret.label}
                    exp={shown.rebuilt.secret.exp}
                    did={wallet.did}
                  />
                </td>
              </tr>
            )}
            <tr className="visit-detail">
              <td colSpan={5}>
                {link.accesses.length === 0 ? (
                  <span className="muted small">Not opened yet.</span>
                ) : (
                  <ul className="shl-accesses">
                    {link.accesses.map((access, i) => (
                      <li key={i} data-testid="shl-access">
                        {formatTime(access.at)} · {access.recipient} · {access.kind} ·{' '}
                        <span className={access.outcome === 'success' ? 'badge ok' : 'badge bad'}>
                          {access.outcome === 'success' ? 'opened' : 'refused'}
                        </span>
                      </li>
                    ))}
                  </ul>
                )}
              </td>
            </tr>
          </Fragment>
        ))}
      </Table>
    </>
  );
}
