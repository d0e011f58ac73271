/**
 * A SMART Health Link as something to show: its QR code (error correction M, `shlQrSvg` of
 * src/shl), and the printable wallet-sized emergency card (ID-1, 85.6 × 54 mm) with the code, the
 * label, the expiry and the patient's DID for break-glass. The SVG is shown as an <img> from a
 * data: URL, never inserted as markup.
 */
import { useEffect, useState } from 'react';
import { shlQrSvg } from '../../../src/shl/index.js';
import { ErrorBox, formatDate } from './ui.js';

/** The QR code of `link` as an image. */
export function ShlQrCode({ link, className }: { link: string; className?: string }) {
  const [src, setSrc] = useState<string>();
  const [error, setError] = useState<unknown>();
  useEffect(() => {
    let alive = true;
    shlQrSvg(link).then(
      (svg) => alive && setSrc(`data:image/svg+xml;charset=utf-8,${encodeURIComponent(svg)}`),
      (e: unknown) => alive && setError(e),
    );
    return () => {
      alive = false;
    };
  }, [link]);
  if (error !== undefined) return <ErrorBox error={error} title="No QR code" />;
  if (src === undefined) return null;
  return (
    <img
      src={src}
      className={className ?? 'shl-qr'}
      alt="QR code of the link to your health summary"
      data-testid="shl-qr"
    />
  );
}

/** The emergency card, and a button that prints it alone (the print stylesheet keeps only it). */
export function EmergencyCard({
  link,
  label,
  exp,
  did,
}: {
  link: string;
  label: string | undefined;
  /** Expiry, epoch seconds. */
  exp: number | undefined;
  did: string;
}) {
  return (
    <div>
      <div className="emergency-card" data-testid="emergency-card">
        <ShlQrCode link={link} className="emergency-card-qr" />
        <div className="emergency-card-text">
          <strong>Health summary</strong>
          <span>{label ?? 'Scan to read my summary'}</span>
          <span>{exp === undefined ? 'No expiry' : `Valid until ${formatDate(exp * 1000)}`}</span>
          <span className="emergency-card-small">
            In an emergency a clinician can request access with this DID:
          </span>
          <span className="emergency-card-did">{did}</span>
        </div>
      </div>
      <div className="row no-print">
        <button type="button" onClick={() => globalThis.print()}>
          Print emergency card
        </button>
      </div>
    </div>
  );
}
