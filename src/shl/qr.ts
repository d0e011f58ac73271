/**
 * QR codes of SMART Health Links (spec: "create the QR with Error Correction Level M"), with the
 * maintained `qrcode` library. The QR's text is the link exactly as given (a viewer URL with
 * `#shlink:/…`): base64url is case-sensitive, so the text is encoded in byte mode, never
 * upper-cased. SVG here (browser-safe); PNG and terminal output in the CLI.
 */
import QRCode from 'qrcode';

/** The options every Roam SHL QR code is made with. */
export const SHL_QR_OPTIONS = { errorCorrectionLevel: 'M', margin: 4 } as const;

/**
 * The QR code of `link` as an SVG document (black on white, 4-module quiet zone).
 *
 * @example document.querySelector('#qr').innerHTML = await shlQrSvg(viewerLink(viewerUrl, shlink));
 */
export function shlQrSvg(link: string): Promise<string> {
  return QRCode.toString(link, { ...SHL_QR_OPTIONS, type: 'svg' });
}
