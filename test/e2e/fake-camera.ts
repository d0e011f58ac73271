/**
 * A camera for Chromium that films a QR code: Chromium plays a Y4M file as its fake capture
 * device (`--use-file-for-fake-video-capture`), looping it. The QR code's modules come from
 * `qrcode` (error correction M, as Roam's own codes); the pixels are written here: a Y4M file is a
 * text header and raw I420 frames (a full-resolution luma plane, then two quarter-size chroma
 * planes; 128 is neutral chroma).
 */
import { writeFileSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';
import QRCode from 'qrcode';
import { HEADLESS_CHROMIUM_ARGS } from './support.js';

const WIDTH = 640;
const HEIGHT = 480;
const QUIET_ZONE_MODULES = 4;
const BLACK = 16;
const WHITE = 235;

/** Writes a one-frame Y4M video of the QR code of `text` (black on white, centred) to `path`. */
export function writeQrVideo(path: string, text: string): void {
  const { modules } = QRCode.create(text, { errorCorrectionLevel: 'M' });
  const span = modules.size + 2 * QUIET_ZONE_MODULES;
  const scale = Math.floor(Math.min(WIDTH, HEIGHT) / span);
  if (scale < 2) throw new Error(`a QR code of ${modules.size} modules does not fit a ${WIDTH}x${HEIGHT} frame`);
  const left = Math.floor((WIDTH - modules.size * scale) / 2);
  const top = Math.floor((HEIGHT - modules.size * scale) / 2);
  const luma = new Uint8Array(WIDTH * HEIGHT).fill(WHITE);
  for (let row = 0; row < modules.size; row++) {
    for (let col = 0; col < modules.size; col++) {
      if (modules.data[row * modules.size + col] === 0) continue;
      for (let y = 0; y < scale; y++) {
        const start = (top + row * scale + y) * WIDTH + left + col * scale;
        luma.fill(BLACK, start, start + scale);
      }
    }
  }
  const chroma = new Uint8Array((WIDTH / 2) * (HEIGHT / 2)).fill(128);
  const header = Buffer.from(`YUV4MPEG2 W${WIDTH} H${HEIGHT} F10:1 Ip A1:1 C420jpeg\nFRAME\n`, 'ascii');
  writeFileSync(path, Buffer.concat([header, luma, chroma, chroma]));
}

/** Debian's Chromium, headless, whose camera films `video` (a Y4M file), permission granted. */
export function launchWithCamera(video: string): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env['ROAM_CHROMIUM'] ?? '/usr/bin/chromium',
    headless: true,
    args: [
      ...HEADLESS_CHROMIUM_ARGS,
      '--use-fake-ui-for-media-stream',
      '--use-fake-device-for-media-stream',
      `--use-file-for-fake-video-capture=${video}`,
    ],
  });
}
