/**
 * Getting a wallet into the page: unlock one kept in this browser, create one (a patient's shows
 * its recovery phrase once, then asks for some of its words), restore one from its phrase, or
 * import a wallet file (a practitioner's, from its organization).
 */
import { useState, type RefObject } from 'react';
import {
  createPatientWalletAsync,
  createWalletAsync,
  restoreWalletAsync,
  type Wallet,
} from '../../../src/wallet/wallet.js';
import { MIN_PASSPHRASE_LENGTH, decodeWalletFile } from '../../../src/wallet/keystore.js';
import {
  listWallets,
  saveWallet,
  saveWalletFile,
  unlockWallet,
  type StoredWallet,
} from '../lib/wallet-store.js';
import { ErrorBox, FocusHeading, Loading, shortDid, useAction, useLoad } from './ui.js';

type Mode = 'list' | 'create' | 'restore' | 'import';

export function WalletGate({
  role,
  onUnlocked,
  focus = false,
}: {
  role: 'patient' | 'practitioner';
  onUnlocked: (wallet: Wallet) => void;
  /** Focus the heading at once (the gate replaced what the user was on: the wallet was locked). */
  focus?: boolean;
}) {
  const stored = useLoad(() => listWallets(role), [role]);
  const [mode, setMode] = useState<Mode>('list');
  // Back from a form (Cancel): focus goes to the list's heading, not to the page's start.
  const [returned, setReturned] = useState(focus);
  const back = () => {
    setReturned(true);
    setMode('list');
  };
  const wallets = stored.data ?? [];
  return (
    <div className="card narrow">
      {mode === 'list' && (
        <>
          <FocusHeading when={returned}>
            {role === 'patient' ? 'Your wallet' : 'Practitioner wallet'}
          </FocusHeading>
          <p className="muted">
            {role === 'patient'
              ? 'Your keys are made and kept in this browser, encrypted with your passphrase. The node never sees them.'
              : 'Sign in with the wallet your organization registered on the ledger.'}
          </p>
          {stored.loading && <Loading what="wallets" />}
          <ErrorBox error={stored.error} />
          {wallets.map((w) => (
            <Unlock key={w.did} stored={w} onUnlocked={onUnlocked} />
          ))}
          <div className="row">
            {role === 'patient' ? (
              <>
                <button type="button" className="primary" onClick={() => setMode('create')}>
                  Create a new wallet
                </button>
                <button type="button" onClick={() => setMode('restore')}>
                  Restore from recovery phrase
                </button>
                <button type="button" onClick={() => setMode('import')}>
                  Import a wallet file
                </button>
              </>
            ) : (
              <>
                <button type="button" className="primary" onClick={() => setMode('import')}>
                  Import a wallet file
                </button>
                <button type="button" onClick={() => setMode('create')}>
                  Create a practitioner wallet
                </button>
              </>
            )}
          </div>
        </>
      )}
      {mode === 'create' && role === 'patient' && <CreatePatient onDone={onUnlocked} onCancel={back} />}
      {mode === 'create' && role === 'practitioner' && (
        <CreatePractitioner onDone={onUnlocked} onCancel={back} />
      )}
      {mode === 'restore' && <Restore onDone={onUnlocked} onCancel={back} />}
      {mode === 'import' && <ImportFile role={role} onDone={onUnlocked} onCancel={back} />}
    </div>
  );
}

function Unlock({ stored, onUnlocked }: { stored: StoredWallet; onUnlocked: (wallet: Wallet) => void }) {
  const [passphrase, setPassphrase] = useState('');
  const { busy, error, run, outcome } = useAction<HTMLInputElement>();
  const id = `unlock-${stored.did.slice(-8)}`;
  const submit = run(async () => onUnlocked(await unlockWallet(stored, passphrase)));
  return (
    <form className="unlock" onSubmit={submit} aria-label={`Unlock ${stored.label}`}>
      <p>
        <strong>{stored.label}</strong> <span className="muted mono">{shortDid(stored.did)}</span>
      </p>
      <label htmlFor={id}>Passphrase</label>
      <div className="row">
        <input
          ref={outcome}
          id={id}
          type="password"
          autoComplete="current-password"
          value={passphrase}
          onChange={(e) => setPassphrase(e.target.value)}
          aria-invalid={error ? true : undefined}
          aria-describedby={error ? `${id}-error` : undefined}
          required
        />
        <button type="submit" className="primary" disabled={busy}>
          {busy ? 'Unlocking…' : 'Unlock'}
        </button>
      </div>
      <div id={`${id}-error`}>
        <ErrorBox error={error} title="Cannot unlock" />
      </div>
    </form>
  );
}

function PassphraseFields({
  value,
  onChange,
}: {
  value: { p1: string; p2: string };
  onChange: (v: { p1: string; p2: string }) => void;
}) {
  const differ = value.p2 !== '' && value.p1 !== value.p2;
  return (
    <>
      <label htmlFor="pass1">Passphrase (at least {MIN_PASSPHRASE_LENGTH} characters)</label>
      <input
        id="pass1"
        type="password"
        autoComplete="new-password"
        value={value.p1}
        onChange={(e) => onChange({ ...value, p1: e.target.value })}
        required
        minLength={MIN_PASSPHRASE_LENGTH}
      />
      <label htmlFor="pass2">Passphrase again</label>
      <input
        id="pass2"
        type="password"
        autoComplete="new-password"
        value={value.p2}
        onChange={(e) => onChange({ ...value, p2: e.target.value })}
        aria-invalid={differ ? true : undefined}
        aria-describedby={differ ? 'pass2-error' : undefined}
        required
      />
      {differ && (
        <p className="field-error" id="pass2-error" role="alert">
          The passphrases differ.
        </p>
      )}
    </>
  );
}

/** Throws what is wrong with a new passphrase and its confirmation. */
function checkPassphrase(p: { p1: string; p2: string }): void {
  if ([...p.p1].length < MIN_PASSPHRASE_LENGTH)
    throw new Error(`The passphrase needs at least ${MIN_PASSPHRASE_LENGTH} characters.`);
  if (p.p1 !== p.p2) throw new Error('The passphrases differ.');
}

/** Three positions of the phrase the patient must type back. */
function pickPositions(): number[] {
  const picks = new Set<number>();
  const random = new Uint32Array(8);
  globalThis.crypto.getRandomValues(random);
  for (const r of random) {
    if (picks.size === 3) break;
    picks.add(r % 24);
  }
  for (let i = 0; picks.size < 3; i++) picks.add(i);
  return [...picks].sort((a, b) => a - b);
}

function CreatePatient({ onDone, onCancel }: { onDone: (w: Wallet) => void; onCancel: () => void }) {
  const [step, setStep] = useState<'passphrase' | 'phrase' | 'confirm'>('passphrase');
  const [pass, setPass] = useState({ p1: '', p2: '' });
  const [label, setLabel] = useState('My health wallet');
  const [created, setCreated] = useState<{ wallet: Wallet; words: string[]; positions: number[] }>();
  const [answers, setAnswers] = useState<Record<number, string>>({});
  const [wrong, setWrong] = useState<readonly number[]>([]);
  const { busy, error, run, outcome } = useAction<HTMLDivElement>();

  const generate = run(async () => {
    checkPassphrase(pass);
    const { wallet, mnemonic } = await createPatientWalletAsync();
    setCreated({ wallet, words: mnemonic.split(' '), positions: pickPositions() });
    setStep('phrase');
  });

  const confirm = run(async () => {
    if (!created) return;
    const wrong = created.positions.filter(
      (p) => (answers[p] ?? '').trim().toLowerCase() !== created.words[p],
    );
    setWrong(wrong);
    if (wrong.length > 0) {
      // Keyboard focus goes to the first word to correct.
      document.getElementById(`word-${wrong[0]}`)?.focus();
      const which = wrong.map((p) => `#${p + 1}`).join(', ');
      throw new Error(
        `${wrong.length > 1 ? 'Words' : 'Word'} ${which} ${wrong.length > 1 ? 'do' : 'does'} not match. Check your copy of the phrase.`,
      );
    }
    await saveWallet(created.wallet, pass.p1, label);
    // The phrase leaves the page's state: it is shown once.
    setCreated(undefined);
    onDone(created.wallet);
  });

  if (step === 'passphrase') {
    return (
      <form onSubmit={generate} aria-label="Create a wallet">
        <FocusHeading>Create your wallet</FocusHeading>
        <label htmlFor="wallet-label">Name of this wallet (only in this browser)</label>
        <input id="wallet-label" value={label} onChange={(e) => setLabel(e.target.value)} required />
        <PassphraseFields value={pass} onChange={setPass} />
        <div ref={outcome} tabIndex={-1}>
          <ErrorBox error={error} title="Cannot create the wallet" />
        </div>
        <div className="row">
          <button type="submit" className="primary" disabled={busy}>
            {busy ? 'Creating…' : 'Create wallet'}
          </button>
          <button type="button" onClick={onCancel}>
            Cancel
          </button>
        </div>
      </form>
    );
  }
  if (step === 'phrase' && created) {
    return (
      <div>
        <FocusHeading>Your recovery phrase</FocusHeading>
        <p>
          Write these 24 words down, in order, and keep them somewhere safe. They are the only way to get your
          record back if you lose this device. <strong>They are shown only once.</strong>
        </p>
        <ol className="phrase" aria-label="Recovery phrase">
          {created.words.map((word, i) => (
            <li key={i}>
              <span className="muted">{i + 1}.</span> <span className="word">{word}</span>
            </li>
          ))}
        </ol>
        <button type="button" className="primary" onClick={() => setStep('confirm')}>
          I have written it down
        </button>
      </div>
    );
  }
  return (
    <form onSubmit={confirm} aria-label="Confirm the recovery phrase">
      <FocusHeading>Confirm your recovery phrase</FocusHeading>
      <p>Type these words of your phrase.</p>
      {created?.positions.map((p) => (
        <div key={p}>
          <label htmlFor={`word-${p}`}>Word #{p + 1}</label>
          <input
            id={`word-${p}`}
            autoComplete="off"
            autoCapitalize="none"
            spellCheck={false}
            value={answers[p] ?? ''}
            onChange={(e) => setAnswers({ ...answers, [p]: e.target.value })}
            aria-invalid={wrong.includes(p) ? true : undefined}
            aria-describedby={wrong.includes(p) ? 'confirm-error' : undefined}
            required
          />
        </div>
      ))}
      <div id="confirm-error">
        <ErrorBox error={error} title="Not confirmed" />
      </div>
      <div className="row">
        <button type="submit" className="primary" disabled={busy}>
          {busy ? 'Saving…' : 'Confirm and save'}
        </button>
        <button type="button" onClick={() => setStep('phrase')}>
          Show the phrase again
        </button>
      </div>
    </form>
  );
}

function Restore({ onDone, onCancel }: { onDone: (w: Wallet) => void; onCancel: () => void }) {
  const [phrase, setPhrase] = useState('');
  const [pass, setPass] = useState({ p1: '', p2: '' });
  const { busy, error, run, outcome } = useAction<HTMLDivElement>();
  const submit = run(async () => {
    checkPassphrase(pass);
    const wallet = await restoreWalletAsync(phrase);
    await saveWallet(wallet, pass.p1, 'Restored wallet');
    setPhrase('');
    onDone(wallet);
  });
  return (
    <form onSubmit={submit} aria-label="Restore a wallet">
      <FocusHeading>Restore from your recovery phrase</FocusHeading>
      <label htmlFor="phrase">Your 24 words, separated by spaces</label>
      <textarea
        id="phrase"
        rows={4}
        autoComplete="off"
        autoCapitalize="none"
        spellCheck={false}
        value={phrase}
        onChange={(e) => setPhrase(e.target.value)}
        required
      />
      <PassphraseFields value={pass} onChange={setPass} />
      <FormFooter
        outcome={outcome}
        error={error}
        errorTitle="Cannot restore"
        busy={busy}
        label="Restore wallet"
        busyLabel="Restoring…"
        onCancel={onCancel}
      />
    </form>
  );
}

function ImportFile({
  role,
  onDone,
  onCancel,
}: {
  role: 'patient' | 'practitioner';
  onDone: (w: Wallet) => void;
  onCancel: () => void;
}) {
  const [file, setFile] = useState<File>();
  const [passphrase, setPassphrase] = useState('');
  const { busy, error, run, outcome } = useAction<HTMLDivElement>();
  const submit = run(async () => {
    if (!file) throw new Error('Choose a wallet file.');
    const text = await file.text();
    const wallet = await decodeWalletFile(text, passphrase);
    if ((role === 'patient') !== (wallet.role === 'patient')) {
      throw new Error(
        `This is a ${wallet.role} wallet: open it in the ${wallet.role === 'patient' ? 'patient portal' : 'provider console'}.`,
      );
    }
    await saveWalletFile(text, file.name.replace(/\.wallet\.json$|\.json$/, ''));
    onDone(wallet);
  });
  return (
    <form onSubmit={submit} aria-label="Import a wallet file">
      <FocusHeading>Import a wallet file</FocusHeading>
      <p className="muted">
        A <code>.wallet.json</code> file made by <code>roam wallet create</code> (the demo's practitioner is{' '}
        <code>data/wallets/practitioner.wallet.json</code>, its patients <code>patient-1…3.wallet.json</code>
        ).
      </p>
      <label htmlFor="wallet-file">Wallet file</label>
      <input
        id="wallet-file"
        type="file"
        accept=".json,application/json"
        onChange={(e) => setFile(e.target.files?.[0])}
        required
      />
      <label htmlFor="wallet-pass">Its passphrase</label>
      <input
        id="wallet-pass"
        type="password"
        autoComplete="current-password"
        value={passphrase}
        onChange={(e) => setPassphrase(e.target.value)}
        required
      />
      <FormFooter
        outcome={outcome}
        error={error}
        errorTitle="Cannot import"
        busy={busy}
        label="Import and unlock"
        busyLabel="Opening…"
        onCancel={onCancel}
      />
    </form>
  );
}

function CreatePractitioner({ onDone, onCancel }: { onDone: (w: Wallet) => void; onCancel: () => void }) {
  const [pass, setPass] = useState({ p1: '', p2: '' });
  const { busy, error, run, outcome } = useAction<HTMLDivElement>();
  const submit = run(async () => {
    checkPassphrase(pass);
    const { wallet } = await createWalletAsync('practitioner');
    await saveWallet(wallet, pass.p1, 'Practitioner wallet');
    onDone(wallet);
  });
  return (
    <form onSubmit={submit} aria-label="Create a practitioner wallet">
      <FocusHeading>Create a practitioner wallet</FocusHeading>
      <p className="muted">
        Your organization's admin then registers its DID:{' '}
        <code>roam org add-practitioner --practitioner &lt;DID&gt;</code>.
      </p>
      <PassphraseFields value={pass} onChange={setPass} />
      <FormFooter
        outcome={outcome}
        error={error}
        errorTitle="Cannot create the wallet"
        busy={busy}
        label="Create wallet"
        busyLabel="Creating…"
        onCancel={onCancel}
      />
    </form>
  );
}

function FormFooter(props: {
  outcome: RefObject<HTMLDivElement | null>;
  error: unknown;
  errorTitle: string;
  busy: boolean;
  label: string;
  busyLabel: string;
  onCancel: () => void;
}) {
  return (
    <>
      <div ref={props.outcome} tabIndex={-1}>
        <ErrorBox error={props.error} title={props.errorTitle} />
      </div>
      <div className="row">
        <button type="submit" className="primary" disabled={props.busy}>
          {props.busy ? props.busyLabel : props.label}
        </button>
        <button type="button" onClick={props.onCancel}>
          Cancel
        </button>
      </div>
    </>
  );
}
