/**
 * The SMART Health Link viewer (`/shl`): what a doctor abroad opens from a patient's QR code, with
 * no wallet and no account. The link comes from the page's fragment (`/shl#shlink:/…`, never sent
 * to any server), a pasted text, or the camera (lib/qr-scan.ts: the browser's BarcodeDetector, or
 * the `qr` library's decoder on the video frames where the browser has none). The files
 * are fetched from the link's server (Roam's or any other), decrypted here with the link's key,
 * checked to be a FHIR document (lib/shared-link.ts) and shown from their structured data in the
 * reader's language, never from their HTML.
 */
import { Component, useEffect, useRef, useState, type FormEvent, type ReactNode } from 'react';
import { assertSecureUrl, resolveShlink, shlFlagsOf, ShlError, ShlErrorCode, type ShlPayload } from '../../../src/shl/index.js';
import { PatientSummary } from '../components/Summary.js';
import { ErrorBox, formatTime, Section } from '../components/ui.js';
import { qrFrameReader } from '../lib/qr-scan.js';
import { readShlink, sharedSummaryOf } from '../lib/shared-link.js';
import { preferredLanguage, type SummaryLanguage } from '../lib/summary.js';
import type { Bundle } from '@medplum/fhirtypes';

/** What the reader sees instead of a crash when a document from a link cannot be drawn. */
class RenderGuard extends Component<{ children: ReactNode }, { error: unknown }> {
  override state = { error: undefined as unknown };
  static getDerivedStateFromError(error: unknown) {
    return { error };
  }
  override render() {
    return this.state.error === undefined ? this.props.children : (
      <ErrorBox error={this.state.error} title="Cannot show this document" />
    );
  }
}

/** Words for the reader for what went wrong opening a link. */
function openingError(error: unknown): string {
  if (!(error instanceof ShlError)) return error instanceof Error ? error.message : String(error);
  switch (error.code) {
    case ShlErrorCode.PASSCODE_WRONG:
      return `Wrong passcode. ${error.remainingAttempts ?? 0} attempt${error.remainingAttempts === 1 ? '' : 's'} left before the link is locked.`;
    case ShlErrorCode.NOT_ACTIVE:
      return 'This link no longer opens: the patient turned it off, it expired, or it was locked after too many wrong passcodes.';
    case ShlErrorCode.NETWORK_ERROR:
      return `The link's server could not be reached (${error.message}).`;
    case ShlErrorCode.BAD_RESPONSE:
    case ShlErrorCode.DECRYPT_FAILED:
    case ShlErrorCode.INSECURE_URL:
    case ShlErrorCode.FLAGS_CONFLICT:
    case ShlErrorCode.MALFORMED:
    case ShlErrorCode.PASSCODE_REQUIRED:
    case ShlErrorCode.UNSUPPORTED_ENCRYPTION:
    case ShlErrorCode.UNSUPPORTED_VERSION:
      return error.message;
  }
}

/** Any `shlink:/` in the page's fragment, or the reason it is not a valid link. */
function linkFromFragment(): { payload?: ShlPayload; error?: unknown } {
  try {
    const payload = readShlink(globalThis.location.hash);
    return payload === undefined ? {} : { payload };
  } catch (error) {
    return { error };
  }
}

export function ShlViewerPage() {
  const [{ payload, error: linkError }, setLink] = useState(linkFromFragment);
  const [bundle, setBundle] = useState<Bundle>();
  const [language, setLanguage] = useState<SummaryLanguage>(() => preferredLanguage());
  const choose = (text: string) => {
    try {
      const found = readShlink(text);
      setLink(found === undefined ? { error: new Error('No SMART Health Link (shlink:/…) in this text.') } : { payload: found });
    } catch (error) {
      setLink({ error });
    }
  };
  return (
    <div className="shl-viewer">
      <h1>Open a shared health summary</h1>
      <p className="muted no-print">
        A patient's SMART Health Link: their summary is decrypted in this browser with the key inside the
        link; the server that keeps it cannot read it. Every opening is recorded in the patient's audit trail.
      </p>
      {payload === undefined ? (
        <Section title="The link">
          <ErrorBox error={linkError} title="Not a valid link" />
          <PasteLink onLink={choose} />
          <ScanLink onLink={choose} />
        </Section>
      ) : bundle === undefined ? (
        <OpenLink payload={payload} onOpened={setBundle} onOther={() => setLink({})} />
      ) : (
        <Section title={payload.label ?? 'Shared summary'}>
          <RenderGuard>
            <PatientSummary bundle={bundle} language={language} onLanguage={setLanguage} />
          </RenderGuard>
        </Section>
      )}
    </div>
  );
}

/** Why the link's server is refused before anything is sent (plain http to another machine), or undefined. */
function insecureReason(url: string): string | undefined {
  try {
    assertSecureUrl(url);
    return undefined;
  } catch (error) {
    return openingError(error);
  }
}

function PasteLink({ onLink }: { onLink: (text: string) => void }) {
  const [text, setText] = useState('');
  const submit = (event: FormEvent) => {
    event.preventDefault();
    onLink(text);
  };
  return (
    <form onSubmit={submit} className="form">
      <label htmlFor="shl-paste">Paste the link (shlink:/… or a web address with #shlink:/…)</label>
      <textarea id="shl-paste" rows={3} value={text} onChange={(e) => setText(e.target.value)} />
      <button type="submit">Open link</button>
    </form>
  );
}

const SCAN_INTERVAL_MS = 300;

function ScanLink({ onLink }: { onLink: (text: string) => void }) {
  const [scanning, setScanning] = useState(false);
  const [error, setError] = useState<unknown>();
  const video = useRef<HTMLVideoElement>(null);
  useEffect(() => {
    if (!scanning) return;
    let stream: MediaStream | undefined;
    let timer: ReturnType<typeof setInterval> | undefined;
    let stopped = false;
    const reader = qrFrameReader();
    globalThis.navigator.mediaDevices
      .getUserMedia({ video: { facingMode: 'environment' } })
      .then(async (media) => {
        stream = media;
        if (stopped || video.current === null) return;
        video.current.srcObject = media;
        await video.current.play();
        let busy = false;
        timer = setInterval(() => {
          if (video.current === null || busy) return;
          busy = true;
          reader(video.current).then(
            (texts) => {
              busy = false;
              // Only a text holding a link is taken; anything else a camera sees is ignored.
              const link = texts.find((text) => text.toLowerCase().includes('shlink:/'));
              if (link !== undefined && !stopped) {
                stopped = true;
                onLink(link);
              }
            },
            () => {
              busy = false;
            },
          );
        }, SCAN_INTERVAL_MS);
      })
      .catch((e: unknown) => {
        setError(e);
        setScanning(false);
      });
    return () => {
      stopped = true;
      if (timer !== undefined) clearInterval(timer);
      stream?.getTracks().forEach((t) => t.stop());
    };
  }, [scanning]);
  if (globalThis.navigator.mediaDevices?.getUserMedia === undefined) {
    return (
      <p className="muted small" data-testid="camera-unsupported">
        This browser cannot use a camera here: scan the code with the phone's camera app, or paste the link
        above.
      </p>
    );
  }
  return (
    <div>
      <ErrorBox error={error} title="No camera" />
      <button type="button" onClick={() => setScanning(!scanning)} aria-pressed={scanning}>
        {scanning ? 'Stop the camera' : 'Scan the QR code with the camera'}
      </button>
      {scanning && <video ref={video} className="shl-camera" muted playsInline aria-label="Camera" />}
    </div>
  );
}

function OpenLink({
  payload,
  onOpened,
  onOther,
}: {
  payload: ShlPayload;
  onOpened: (bundle: Bundle) => void;
  onOther: () => void;
}) {
  const needsPasscode = shlFlagsOf(payload.flag).passcode;
  const [recipient, setRecipient] = useState('');
  const [passcode, setPasscode] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const expired = payload.exp !== undefined && payload.exp * 1000 < Date.now();
  const insecure = insecureReason(payload.url);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const files = await resolveShlink({
        payload,
        recipient,
        ...(needsPasscode ? { passcode } : {}),
      });
      onOpened(sharedSummaryOf(files));
    } catch (e) {
      setError(openingError(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <Section title={payload.label ?? 'A shared health summary'}>
      <p className="muted small">
        From <span className="mono">{new URL(payload.url).host}</span>
        {payload.exp !== undefined && <> · valid until {formatTime(payload.exp * 1000)}</>}
      </p>
      {expired && (
        <p className="warning" role="alert">
          This link has expired.
        </p>
      )}
      {insecure !== undefined && (
        <p className="error" role="alert" data-testid="shl-insecure">
          {insecure}
        </p>
      )}
      <form onSubmit={(e) => void submit(e)} className="form">
        <label htmlFor="shl-recipient">Your name and where you work (the patient sees it)</label>
        <input
          id="shl-recipient"
          required
          maxLength={200}
          value={recipient}
          onChange={(e) => setRecipient(e.target.value)}
        />
        {needsPasscode && (
          <>
            <label htmlFor="shl-passcode">Passcode (the patient tells you)</label>
            <input
              id="shl-passcode"
              type="password"
              required
              autoComplete="off"
              value={passcode}
              onChange={(e) => setPasscode(e.target.value)}
            />
          </>
        )}
        {error !== undefined && (
          <div className="error" role="alert" data-testid="shl-error">
            {error}
          </div>
        )}
        <div className="row">
          <button type="submit" disabled={busy || insecure !== undefined}>
            {busy ? 'Opening…' : 'Open summary'}
          </button>
          <button type="button" className="link" onClick={onOther}>
            Another link
          </button>
        </div>
      </form>
    </Section>
  );
}
