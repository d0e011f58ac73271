/** Argument checks shared by the vault's public functions (internal; not exported by the layer). */
import { SENSITIVITY_CLASSES, type SensitivityClass } from '../ledger/types.js';
import { VaultError, VaultErrorCode } from './errors.js';

/** Longest identifier (record id, DID, resource type, author, custodian) the vault accepts. */
export const MAX_IDENTIFIER_LENGTH = 512;

function invalid(message: string): VaultError {
  return new VaultError(VaultErrorCode.INVALID_ARGUMENT, message);
}

export function assertBytes(name: string, value: unknown, length?: number): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) throw invalid(`"${name}" expected Uint8Array, got ${typeof value}`);
  if (length !== undefined && value.length !== length) {
    throw invalid(`"${name}" expected Uint8Array of length ${length}, got length=${value.length}`);
  }
}

export function assertIdentifier(name: string, value: unknown): asserts value is string {
  if (typeof value !== 'string') throw invalid(`"${name}" expected a string, got ${typeof value}`);
  if (value.length === 0 || value.length > MAX_IDENTIFIER_LENGTH) {
    throw invalid(`"${name}" expected 1 to ${MAX_IDENTIFIER_LENGTH} characters, got length=${value.length}`);
  }
}

export function isSensitivityClass(value: unknown): value is SensitivityClass {
  return typeof value === 'string' && (SENSITIVITY_CLASSES as readonly string[]).includes(value);
}

export function assertClass(name: string, value: unknown): asserts value is SensitivityClass {
  if (!isSensitivityClass(value)) {
    throw invalid(
      `"${name}" expected one of ${SENSITIVITY_CLASSES.join(', ')}, got ${JSON.stringify(String(value))}`,
    );
  }
}

/** Epochs count key rotations from 0. */
export function assertEpoch(name: string, value: unknown): asserts value is number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw invalid(`"${name}" expected a non-negative safe integer, got ${String(value)}`);
  }
}

/** Record versions count from 1, as the records contract anchors them. */
export function assertVersion(name: string, value: unknown): asserts value is number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw invalid(`"${name}" expected a positive safe integer, got ${String(value)}`);
  }
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function assertResource(name: string, value: unknown): asserts value is Record<string, unknown> {
  if (!isPlainObject(value)) {
    throw invalid(
      `"${name}" expected a JSON object, got ${Array.isArray(value) ? 'an array' : String(value === null ? 'null' : typeof value)}`,
    );
  }
}
