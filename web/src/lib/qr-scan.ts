/**
 * Reading QR codes from the camera's video frames: the browser's BarcodeDetector where it has one
 * (Chromium on Android and macOS), otherwise the `qr` library's decoder (pure JS, made for camera
 * frames) on the frame drawn into a canvas. Either way the result is text for the caller to check:
 * a camera may see anything, so nothing read here is trusted (the viewer takes only a text holding
 * `shlink:/`, and parses it strictly).
 */
import decodeQR from 'qr/decode.js';

/** The browser's barcode reader (not in the DOM typings yet). */
interface BarcodeReader {
  detect(source: HTMLVideoElement): Promise<ReadonlyArray<{ rawValue: string }>>;
}
type BarcodeReaderClass = new (options: { formats: string[] }) => BarcodeReader;

/** Reads the QR codes in the current frame of a playing video (none: an empty list). */
export type QrFrameReader = (video: HTMLVideoElement) => Promise<string[]>;

/** The best reader this browser has. */
export function qrFrameReader(): QrFrameReader {
  const Detector = (globalThis as { BarcodeDetector?: BarcodeReaderClass }).BarcodeDetector;
  if (Detector !== undefined) {
    const detector = new Detector({ formats: ['qr_code'] });
    return async (video) => (await detector.detect(video)).map((code) => code.rawValue);
  }
  const canvas = document.createElement('canvas');
  return (video) => Promise.resolve(decodeFrame(canvas, video));
}

function decodeFrame(canvas: HTMLCanvasElement, video: HTMLVideoElement): string[] {
  const { videoWidth: width, videoHeight: height } = video;
  if (width === 0 || height === 0) return [];
  canvas.width = width;
  canvas.height = height;
  const context = canvas.getContext('2d', { willReadFrequently: true });
  if (context === null) return [];
  context.drawImage(video, 0, 0, width, height);
  try {
    return [decodeQR({ width, height, data: context.getImageData(0, 0, width, height).data })];
  } catch {
    // No QR code in this frame (or not readable yet): the next frame is tried.
    return [];
  }
}
