import { utf8ToBytes, toHex } from './bytes.js';
import * as platform from './platform.js';

export function sha256(data: Uint8Array | string): Uint8Array {
  return platform.sha256(typeof data === 'string' ? utf8ToBytes(data) : data);
}

export function sha256Hex(data: Uint8Array | string): string {
  return toHex(sha256(data));
}

export { createSha256, type IncrementalHash } from './platform.js';
