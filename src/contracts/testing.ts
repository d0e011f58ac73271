/**
 * In-memory harness for contract tests: a Map-backed world state and a runner that behaves like
 * the ledger's (unknown or deactivated signer, parse, execute, per-transaction overlay discarded
 * on `TxRejected`), without envelopes or signatures. Not used by any node.
 */
import {
  canonicalJson,
  didFromSigningKey,
  encryptionKeyPairFromSeed,
  generateEncryptionKeyPair,
  generateSigningKeyPair,
  sha256Hex,
  signingKeyPairFromSeed,
  toBase64Url,
  type SigningKeyPair,
} from '../crypto/index.js';
import { ResultCode } from '../ledger/codes.js';
import {
  TxRejected,
  type ContractContext,
  type ContractRegistry,
  type NetworkParams,
} from '../ledger/contract.js';
import { paramsOf } from '../ledger/executor.js';
import { StateKey } from '../ledger/keys.js';
import type {
  GenesisDocument,
  GenesisFounder,
  PartyRecord,
  PractitionerRole,
  TxType,
} from '../ledger/types.js';
import { SEALED_KEY_SUITE } from './consent.js';
import type { EmergencyEnablePayload, SealedShare } from './emergency.js';
import { applyGenesis, createContractRegistry, type TxPayloads } from './index.js';

/** A party's keys: its did:key, Ed25519 key pair and X25519 public key (base64url). */
export interface TestWallet {
  readonly did: string;
  readonly signing: SigningKeyPair;
  readonly encryptionKey: string;
}

/**
 * A wallet with fresh random keys, or, given `seed`, the same keys on every call with that seed
 * (for tests that build the same network twice).
 */
export function makeWallet(seed?: number): TestWallet {
  if (seed === undefined) {
    const signing = generateSigningKeyPair();
    return {
      did: didFromSigningKey(signing.publicKey),
      signing,
      encryptionKey: toBase64Url(generateEncryptionKeyPair().publicKey),
    };
  }
  const seedBytes = (tag: number): Uint8Array => {
    const bytes = new Uint8Array(32);
    bytes[0] = tag;
    new DataView(bytes.buffer).setUint32(1, seed);
    return bytes;
  };
  const signing = signingKeyPairFromSeed(seedBytes(1));
  return {
    did: didFromSigningKey(signing.publicKey),
    signing,
    encryptionKey: toBase64Url(encryptionKeyPairFromSeed(seedBytes(2)).publicKey),
  };
}

/**
 * A sealed record key as a grant carries it (the shape `consent.grant` checks; the bytes are
 * placeholders, the ledger never opens them). `tag` makes keys of the same class and epoch differ.
 */
export function testSealedKey(epoch: number, cls: 'general' | 'sensitive' = 'general', tag = 'A') {
  return {
    v: 1 as const,
    suite: 'DHKEM-X25519-HKDF-SHA256/HKDF-SHA256/AES-256-GCM' as const,
    class: cls,
    epoch,
    enc: `${tag}enc${epoch}`,
    ct: `${tag}ct${epoch}`,
  };
}

/** A 32-byte key that is not any wallet's, base64url. */
export function randomKey(): string {
  return toBase64Url(generateSigningKeyPair().publicKey);
}

export interface SubmitResult {
  readonly code: ResultCode;
  readonly message?: string;
  readonly txId: string;
}

export const TEST_GENESIS_TIME = 1_700_000_000_000;
/** Default block interval of {@link TestLedger.nextBlock}. */
export const TEST_BLOCK_MS = 1000;

/**
 * A ledger in memory. Transactions run in the current block (index 0, 1, ...) until
 * {@link TestLedger.nextBlock} moves to the next height and time.
 */
export class TestLedger {
  private readonly state = new Map<string, string>();
  readonly params: NetworkParams;
  height = 1;
  time: number;
  private txIndex = 0;

  constructor(
    readonly genesis: GenesisDocument,
    private readonly registry: ContractRegistry = createContractRegistry(),
  ) {
    this.params = paramsOf(genesis);
    this.time = genesis.time + TEST_BLOCK_MS;
    applyGenesis(
      { get: (key) => this.get(key), put: (key, value) => this.state.set(key, canonicalJson(value)) },
      genesis,
    );
  }

  /** Runs one transaction as the ledger's runner would (minus envelope and signature checks). */
  submit<T extends TxType>(signer: TestWallet | string, type: T, payload: TxPayloads[T]): SubmitResult {
    return this.submitRaw(signer, type, payload);
  }

  /** As {@link TestLedger.submit}, with any payload (for malformed ones). */
  submitRaw(signer: TestWallet | string, type: TxType, payload: unknown): SubmitResult {
    const did = typeof signer === 'string' ? signer : signer.did;
    const txIndex = this.txIndex++;
    // What goes on the wire is JSON: the contract sees the payload as JSON.parse gives it.
    const wirePayload: unknown = JSON.parse(canonicalJson(payload));
    const txId = sha256Hex(
      canonicalJson({ height: this.height, txIndex, signer: did, type, payload: wirePayload }),
    );
    const handler = this.registry.get(type);
    if (handler === undefined)
      return { code: ResultCode.UNKNOWN_TX_TYPE, message: `unknown transaction type "${type}"`, txId };
    const signerParty = this.get<PartyRecord>(StateKey.party(did));
    if (signerParty === undefined && handler.allowsUnregisteredSigner !== true) {
      return { code: ResultCode.UNKNOWN_SIGNER, message: 'signer is not registered on the ledger', txId };
    }
    if (signerParty !== undefined && signerParty.status !== 'active') {
      return { code: ResultCode.SIGNER_DEACTIVATED, message: 'signer is deactivated', txId };
    }
    const overlay = new Map<string, string | null>();
    const read = (key: string): string | undefined => {
      const pending = overlay.get(key);
      return pending === null ? undefined : (pending ?? this.state.get(key));
    };
    const ctx: ContractContext = {
      txId,
      txIndex,
      block: { height: this.height, time: this.time },
      signer: did,
      signerParty,
      params: this.params,
      get: <V>(key: string) => {
        const raw = read(key);
        return raw === undefined ? undefined : (JSON.parse(raw) as V);
      },
      put: (key, value) => void overlay.set(key, canonicalJson(value)),
      del: (key) => void overlay.set(key, null),
      range: <V>(prefix: string) => {
        const keys = new Set<string>();
        for (const key of this.state.keys()) if (key.startsWith(prefix)) keys.add(key);
        for (const key of overlay.keys()) if (key.startsWith(prefix)) keys.add(key);
        const out: Array<[string, V]> = [];
        for (const key of [...keys].sort()) {
          const raw = read(key);
          if (raw !== undefined) out.push([key, JSON.parse(raw) as V]);
        }
        return out;
      },
    };
    try {
      handler.execute(ctx, handler.parse(wirePayload) as never);
    } catch (error) {
      // The overlay is dropped: a rejected transaction has no effect. Anything else is a bug.
      if (error instanceof TxRejected) return { code: error.code, message: error.message, txId };
      throw error;
    }
    for (const [key, value] of overlay) {
      if (value === null) this.state.delete(key);
      else this.state.set(key, value);
    }
    return { code: ResultCode.OK, txId };
  }

  /** Closes the current block; the next transactions run at height + 1, `elapsedMs` later. */
  nextBlock(elapsedMs: number = TEST_BLOCK_MS): void {
    this.height++;
    this.time += elapsedMs;
    this.txIndex = 0;
  }

  get<T>(key: string): T | undefined {
    const raw = this.state.get(key);
    return raw === undefined ? undefined : (JSON.parse(raw) as T);
  }

  range<T>(prefix: string): Array<[string, T]> {
    return [...this.state.keys()]
      .filter((key) => key.startsWith(prefix))
      .sort()
      .map((key): [string, T] => [key, JSON.parse(this.state.get(key) ?? 'null') as T]);
  }

  party(did: string): PartyRecord | undefined {
    return this.get<PartyRecord>(StateKey.party(did));
  }

  /** The whole state as sorted [key, canonical JSON] pairs, for comparing two ledgers. */
  dump(): Array<[string, string]> {
    return [...this.state].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  }
}

/** Throws unless `result` has `code`; returns it. */
export function expectCode(result: SubmitResult, code: ResultCode): SubmitResult {
  if (result.code !== code) {
    throw new Error(
      `expected ${code}, got ${result.code}${result.message === undefined ? '' : `: ${result.message}`}`,
    );
  }
  return result;
}

export function expectOk(result: SubmitResult): SubmitResult {
  return expectCode(result, ResultCode.OK);
}

// ---------------------------------------------------------------------------------------------
// Networks
// ---------------------------------------------------------------------------------------------

/** An organization's wallets: the org identity, its first admin and one node. */
export interface TestOrg {
  readonly name: string;
  readonly org: TestWallet;
  readonly admin: TestWallet;
  readonly node: TestWallet;
}

/** An organization with random keys, or with keys derived from `seed` (uses seed..seed+2). */
export function makeOrg(name: string, seed?: number): TestOrg {
  return {
    name,
    org: makeWallet(seed),
    admin: makeWallet(seed === undefined ? undefined : seed + 1),
    node: makeWallet(seed === undefined ? undefined : seed + 2),
  };
}

export function founderOf(org: TestOrg): GenesisFounder {
  return {
    org: { did: org.org.did, name: org.name, region: 'eu-west', encryptionKey: org.org.encryptionKey },
    admins: [{ did: org.admin.did, encryptionKey: org.admin.encryptionKey }],
    nodes: [
      {
        did: org.node.did,
        url: `https://${org.name.toLowerCase()}.example.org`,
        region: 'eu-west',
        encryptionKey: org.org.encryptionKey,
      },
    ],
  };
}

export function makeGenesis(
  orgs: readonly TestOrg[],
  params: Partial<GenesisDocument['params']> = {},
): GenesisDocument {
  return {
    format: 'roam-genesis',
    version: 1,
    chainId: 'roam-test',
    time: TEST_GENESIS_TIME,
    params: { txValidityMs: 600_000, txFutureSkewMs: 30_000, joinQuorum: 2 / 3, ...params },
    founders: orgs.map(founderOf),
  };
}

/** A ledger whose genesis founds `count` organizations named Org0, Org1, ... */
export function createTestNetwork(options: { orgs?: number; joinQuorum?: number; seed?: number } = {}): {
  ledger: TestLedger;
  orgs: TestOrg[];
} {
  const orgs = Array.from({ length: options.orgs ?? 2 }, (_, i) =>
    makeOrg(`Org${i}`, options.seed === undefined ? undefined : options.seed + 10 * i),
  );
  const ledger = new TestLedger(
    makeGenesis(orgs, options.joinQuorum === undefined ? {} : { joinQuorum: options.joinQuorum }),
  );
  return { ledger, orgs };
}

/** Registers a new patient (or `wallet`) and returns its wallet. */
export function registerPatient(ledger: TestLedger, wallet: TestWallet = makeWallet()): TestWallet {
  expectOk(ledger.submit(wallet, 'identity.patient.register', { encryptionKey: wallet.encryptionKey }));
  return wallet;
}

/** Registers a new practitioner of `org` (signed by its admin) and returns its wallet. */
export function registerPractitioner(
  ledger: TestLedger,
  org: TestOrg,
  roles: readonly PractitionerRole[] = ['physician'],
  wallet: TestWallet = makeWallet(),
): TestWallet {
  expectOk(
    ledger.submit(org.admin, 'identity.practitioner.register', {
      practitioner: wallet.did,
      roles: [...roles],
      encryptionKey: wallet.encryptionKey,
    }),
  );
  return wallet;
}

// ---------------------------------------------------------------------------------------------
// Emergency access
// ---------------------------------------------------------------------------------------------

/** A sealed escrow share as the emergency contract checks it (placeholder bytes: the ledger never opens it). */
export function testSealedShare(): SealedShare {
  return { v: 1, suite: SEALED_KEY_SUITE, enc: randomKey(), ct: 'c'.repeat(66) };
}

/** An `emergency.enable` payload naming `trustees` (placeholder shares and escrow), at `epoch`. */
export function testEmergencyEnable(
  trustees: readonly TestOrg[],
  overrides: Partial<EmergencyEnablePayload> = {},
): EmergencyEnablePayload {
  return {
    classes: ['general'],
    threshold: Math.floor(trustees.length / 2) + 1,
    trustees: trustees.map((t) => ({ org: t.org.did, share: testSealedShare() })),
    escrow: { commitment: 'a'.repeat(64), keys: { iv: 'i'.repeat(16), ct: 'k'.repeat(200) }, epoch: 0 },
    ...overrides,
  };
}
