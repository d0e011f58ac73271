/**
 * Wallets kept in this browser: IndexedDB holds each wallet as its encrypted wallet file (the
 * same `roam-wallet` v1 format as the CLI's: scrypt + AES-256-GCM under the passphrase), so no
 * key is ever stored in clear, and nothing goes to localStorage. Unlocked wallets live in memory.
 */
import {
  DEFAULT_KDF_PARAMS,
  decodeWalletFile,
  encodeWalletFile,
  type KdfParams,
} from '../../../src/wallet/keystore.js';
import type { PartyRole, Wallet } from '../../../src/wallet/wallet.js';

const DB_NAME = 'roam';
const DB_VERSION = 1;
const STORE = 'wallets';

/** A stored wallet: public facts and the encrypted file. */
export interface StoredWallet {
  readonly did: string;
  readonly role: PartyRole;
  readonly label: string;
  /** The encrypted wallet file (JSON text). */
  readonly file: string;
  readonly savedAt: number;
}

function openDb(): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(DB_NAME, DB_VERSION);
    request.onupgradeneeded = () => {
      if (!request.result.objectStoreNames.contains(STORE))
        request.result.createObjectStore(STORE, { keyPath: 'did' });
    };
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error ?? new Error('IndexedDB is not available'));
  });
}

async function withStore<T>(
  mode: IDBTransactionMode,
  fn: (store: IDBObjectStore) => IDBRequest<T>,
): Promise<T> {
  const db = await openDb();
  try {
    return await new Promise<T>((resolve, reject) => {
      const tx = db.transaction(STORE, mode);
      const request = fn(tx.objectStore(STORE));
      tx.oncomplete = () => resolve(request.result);
      tx.onerror = () => reject(tx.error ?? new Error('IndexedDB transaction failed'));
      tx.onabort = () => reject(tx.error ?? new Error('IndexedDB transaction aborted'));
    });
  } finally {
    db.close();
  }
}

export async function listWallets(role?: PartyRole): Promise<StoredWallet[]> {
  const all = await withStore('readonly', (store) => store.getAll() as IDBRequest<StoredWallet[]>);
  return all.filter(
    (w) => role === undefined || w.role === role || (role === 'practitioner' && w.role === 'admin'),
  );
}

/** Encrypts `wallet` under `passphrase` and keeps it in this browser. */
export async function saveWallet(
  wallet: Wallet,
  passphrase: string,
  label: string,
  kdf: KdfParams = DEFAULT_KDF_PARAMS,
): Promise<StoredWallet> {
  const stored: StoredWallet = {
    did: wallet.did,
    role: wallet.role,
    label,
    file: await encodeWalletFile(wallet, passphrase, kdf),
    savedAt: Date.now(),
  };
  await withStore('readwrite', (store) => store.put(stored));
  return stored;
}

/** Keeps an already encrypted wallet file (an imported keystore) as it is. */
export async function saveWalletFile(file: string, label: string): Promise<StoredWallet> {
  const header = JSON.parse(file) as { did?: unknown; role?: unknown };
  if (typeof header.did !== 'string' || typeof header.role !== 'string')
    throw new Error('this is not a Roam wallet file');
  const stored: StoredWallet = {
    did: header.did,
    role: header.role as PartyRole,
    label,
    file,
    savedAt: Date.now(),
  };
  await withStore('readwrite', (store) => store.put(stored));
  return stored;
}

export async function removeWallet(did: string): Promise<void> {
  await withStore('readwrite', (store) => store.delete(did));
}

/** Opens a stored wallet with its passphrase (BAD_PASSPHRASE when it does not open). */
export function unlockWallet(stored: StoredWallet, passphrase: string): Promise<Wallet> {
  return decodeWalletFile(stored.file, passphrase);
}
