import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { generateSigningKeyPair, toBase64Url } from '../crypto/index.js';
import {
  GENESIS_TIME,
  envelope,
  newNetwork,
  newParty,
  openLedger,
  signed,
  tempStorePath,
  type TestNetwork,
  type TestParty,
} from '../../test/support/ledger-fixture.js';
import { LedgerStore } from '../store/index.js';
import { createContractSuite } from '../contracts/index.js';
import { ResultCode } from './codes.js';
import { Ledger } from './ledger.js';
import { TxType } from './types.js';
import { verifyChain } from './verify.js';
import { parseSignedTx } from './tx.js';
import { TxRejected, type ContractSuite } from './contract.js';

const T = GENESIS_TIME + 1000;

function registerTx(patient: TestParty) {
  return signed(patient, TxType.PatientRegister, { encryptionKey: patient.encryptionKey });
}

function grantTx(patient: TestParty, network: TestNetwork, grantId: string, extra: Record<string, unknown> = {}) {
  return signed(patient, TxType.ConsentGrant, {
    grantId,
    grantee: network.org.did,
    scope: { resourceTypes: ['Observation'], classes: ['general'] },
    purpose: 'treatment',
    access: 'read',
    expiresAt: null,
    ...extra,
  });
}

async function codesOf(ledger: Ledger, envelopes: string[], time = T) {
  const block = await ledger.applyCut(envelopes, time);
  return block.txs.map((tx) => tx.code);
}

describe('runner: result codes checked before any contract', () => {
  it('commits a valid transaction with OK and an invalid one with its code and no effect', async () => {
    const network = newNetwork();
    const ledger = openLedger(network);
    const patient = newParty();
    const intruder = newParty();
    const codes = await codesOf(ledger, [envelope(registerTx(patient)), envelope(grantTx(intruder, network, 'grant-0001'))]);
    assert.deepEqual(codes, [ResultCode.OK, ResultCode.UNKNOWN_SIGNER]);
    assert.equal(ledger.getState(`party/${patient.did}`) !== undefined, true);
    assert.equal(ledger.getState('grant/grant-0001'), undefined);
  });

  it('MALFORMED_TX for an envelope that is not JSON or has the wrong shape', async () => {
    const ledger = openLedger(newNetwork());
    const patient = newParty();
    const good = registerTx(patient);
    const codes = await codesOf(ledger, ['{not json', JSON.stringify({ tx: { ...good.tx, nonce: 42 }, sig: good.sig })]);
    assert.deepEqual(codes, [ResultCode.MALFORMED_TX, ResultCode.MALFORMED_TX]);
  });

  it('UNKNOWN_TX_TYPE for a type no contract handles', async () => {
    const ledger = openLedger(newNetwork());
    const patient = newParty();
    const tx = signed(patient, 'kv.put' as TxType, { k: 1 });
    assert.deepEqual(await codesOf(ledger, [envelope(tx)]), [ResultCode.UNKNOWN_TX_TYPE]);
  });

  it('BAD_SIGNATURE when one bit of the signature or the content changes', async () => {
    const ledger = openLedger(newNetwork());
    const patient = newParty();
    const tx = registerTx(patient);
    const sig = Buffer.from(tx.sig, 'base64url');
    sig[5]! ^= 1;
    const forged = { tx: tx.tx, sig: sig.toString('base64url') };
    const other = newParty();
    const swapped = { tx: { ...tx.tx, payload: { encryptionKey: other.encryptionKey } }, sig: tx.sig };
    assert.deepEqual(await codesOf(ledger, [envelope(forged), envelope(swapped)]), [ResultCode.BAD_SIGNATURE, ResultCode.BAD_SIGNATURE]);
    assert.equal(ledger.getState(`party/${patient.did}`), undefined);
  });

  it('REPLAY for the same (signer, nonce) in the same block and in a later block; a forged copy does not burn the nonce', async () => {
    const network = newNetwork();
    const ledger = openLedger(network);
    const patient = newParty();
    const tx = registerTx(patient);
    const sig = Buffer.from(tx.sig, 'base64url');
    sig[0]! ^= 1;
    const forged = envelope({ tx: tx.tx, sig: sig.toString('base64url') });
    assert.deepEqual(await codesOf(ledger, [forged, envelope(tx), envelope(tx)]), [
      ResultCode.BAD_SIGNATURE,
      ResultCode.OK,
      ResultCode.REPLAY,
    ]);
    assert.deepEqual(await codesOf(ledger, [envelope(tx)]), [ResultCode.REPLAY]);
    // Another tx with the same nonce but different content is a replay of the nonce too.
    const sameNonce = grantTx(patient, network, 'grant-0002');
    const reused = signed(patient, TxType.ConsentGrant, sameNonce.tx.payload, { nonce: tx.tx.nonce });
    assert.deepEqual(await codesOf(ledger, [envelope(reused)]), [ResultCode.REPLAY]);
  });

  it('TX_EXPIRED and TX_FROM_FUTURE outside the validity window of the block time', async () => {
    const ledger = openLedger(newNetwork());
    const old = signed(newParty(), TxType.PatientRegister, { encryptionKey: newParty().encryptionKey }, { issuedAt: T - 600_001 });
    const future = signed(newParty(), TxType.PatientRegister, { encryptionKey: newParty().encryptionKey }, { issuedAt: T + 120_001 });
    assert.deepEqual(await codesOf(ledger, [envelope(old), envelope(future)]), [ResultCode.TX_EXPIRED, ResultCode.TX_FROM_FUTURE]);
  });

  it('SIGNER_DEACTIVATED once a party has deactivated itself', async () => {
    const network = newNetwork();
    const ledger = openLedger(network);
    const patient = newParty();
    await codesOf(ledger, [envelope(registerTx(patient))]);
    assert.deepEqual(await codesOf(ledger, [envelope(signed(patient, TxType.Deactivate, { did: patient.did }))]), [ResultCode.OK]);
    assert.deepEqual(await codesOf(ledger, [envelope(grantTx(patient, network, 'grant-0003'))]), [ResultCode.SIGNER_DEACTIVATED]);
  });

  it('after key rotation inside a block, the old key is refused and the new one accepted', async () => {
    const network = newNetwork();
    const ledger = openLedger(network);
    const patient = newParty();
    await codesOf(ledger, [envelope(registerTx(patient))]);
    const next = generateSigningKeyPair();
    const rotate = signed(patient, TxType.KeyRotate, { newSigningKey: toBase64Url(next.publicKey) });
    const withOld = grantTx(patient, network, 'grant-old-key');
    const withNew = signed(patient, TxType.ConsentGrant, { ...grantTx(patient, network, 'grant-new-key').tx.payload as object }, { key: next });
    assert.deepEqual(await codesOf(ledger, [envelope(rotate), envelope(withOld), envelope(withNew)]), [
      ResultCode.OK,
      ResultCode.BAD_SIGNATURE,
      ResultCode.OK,
    ]);
  });

  it('CONTRACT_ERROR when a contract throws something other than TxRejected (kept deterministic)', async () => {
    const network = newNetwork();
    const real = createContractSuite();
    const registry = new Map(real.registry);
    registry.set(TxType.PatientRegister, {
      allowsUnregisteredSigner: true,
      maxTxBytes: 1024,
      parse: (p) => p,
      execute: () => {
        throw new TypeError('boom');
      },
    });
    const suite: ContractSuite = { registry, applyGenesis: real.applyGenesis };
    const ledger = Ledger.open({ store: LedgerStore.open(':memory:'), contracts: suite, genesis: network.genesis });
    const block = await ledger.applyCut([envelope(registerTx(newParty()))], T);
    assert.equal(block.txs[0]!.code, ResultCode.CONTRACT_ERROR);
    assert.equal(block.txs[0]!.message, 'boom');
    assert.ok(new TxRejected(ResultCode.NOT_PATIENT, 'x') instanceof Error);
  });
});

describe('admission (before ordering, against the node clock)', () => {
  it('accepts a valid tx once and refuses its replay while pending and after commit', async () => {
    const network = newNetwork();
    const ledger = Ledger.open({ store: LedgerStore.open(':memory:'), contracts: createContractSuite(), genesis: network.genesis, clock: () => T });
    const tx = registerTx(newParty());
    const first = await ledger.admit([tx, tx]);
    assert.equal(first.accepted.length, 1);
    assert.deepEqual(first.rejected.map((r) => [r.index, r.code]), [[1, ResultCode.REPLAY]]);
    assert.deepEqual((await ledger.admit([tx])).rejected.map((r) => r.code), [ResultCode.REPLAY]);
    await ledger.applyCut(first.accepted.map((p) => p.envelopeJson), T);
    assert.deepEqual((await ledger.admit([tx])).rejected.map((r) => r.code), [ResultCode.REPLAY]);
  });

  it('names the code of each bad envelope and its position', async () => {
    const network = newNetwork();
    const ledger = Ledger.open({ store: LedgerStore.open(':memory:'), contracts: createContractSuite(), genesis: network.genesis, clock: () => T });
    const good = registerTx(newParty());
    const forged = { ...good, sig: toBase64Url(new Uint8Array(64)) };
    const result = await ledger.admit([
      'nonsense',
      forged,
      grantTx(newParty(), network, 'grant-0004'),
      signed(newParty(), 'x.y' as TxType, {}),
      signed(newParty(), TxType.PatientRegister, { encryptionKey: newParty().encryptionKey }, { issuedAt: T - 700_000 }),
    ]);
    assert.deepEqual(
      result.rejected.map((r) => [r.index, r.code]),
      [
        [0, ResultCode.MALFORMED_TX],
        [1, ResultCode.BAD_SIGNATURE],
        [2, ResultCode.UNKNOWN_SIGNER],
        [3, ResultCode.UNKNOWN_TX_TYPE],
        [4, ResultCode.TX_EXPIRED],
      ],
    );
    assert.equal(result.accepted.length, 0);
  });
});

describe('blocks, persistence and verification', () => {
  it('waitForCommit resolves with the height and code of a committed tx', async () => {
    const ledger = openLedger(newNetwork());
    const tx = registerTx(newParty());
    const parsed = parseSignedTx(tx);
    assert.ok(parsed.ok);
    const waiting = ledger.waitForCommit(parsed.tx.id, 1000);
    await ledger.applyCut([parsed.tx.envelopeJson], T);
    assert.deepEqual(await waiting, { id: parsed.tx.id, height: 1, index: 0, code: ResultCode.OK });
  });

  it('a reopened store resumes at the same head, and verifyChain passes', async () => {
    const network = newNetwork();
    const path = tempStorePath();
    const ledger = openLedger(network, path);
    for (let i = 0; i < 3; i++) await ledger.applyCut([envelope(registerTx(newParty()))], T + i);
    const head = { height: ledger.height, hash: ledger.headHash, root: ledger.stateRoot };
    ledger.store.close();
    const reopened = openLedger(network, path);
    assert.deepEqual({ height: reopened.height, hash: reopened.headHash, root: reopened.stateRoot }, head);
    await reopened.applyCut([envelope(registerTx(newParty()))], T + 10);
    const report = await verifyChain(reopened.store, createContractSuite());
    assert.equal(report.ok, true, JSON.stringify(report));
    assert.equal(report.ok && report.height, 4);
    reopened.store.close();
  });

  it('refuses to open a store with the genesis of another network', () => {
    const path = tempStorePath();
    openLedger(newNetwork(), path).store.close();
    assert.throws(() => openLedger(newNetwork(), path), { code: 'GENESIS_MISMATCH' });
  });

  it('verifyChain names the height of a changed state row, result code and header', async () => {
    const network = newNetwork();
    const ledger = openLedger(network);
    const patient = newParty();
    await ledger.applyCut([envelope(registerTx(patient))], T);
    await ledger.applyCut([envelope(grantTx(patient, network, 'grant-0005'))], T + 1);
    await ledger.applyCut([envelope(registerTx(newParty()))], T + 2);
    const suite = createContractSuite();
    assert.equal((await verifyChain(ledger.store, suite)).ok, true);

    const db = ledger.store.db;
    db.prepare("UPDATE state SET value = replace(value, 'read', 'write') WHERE key = 'grant/grant-0005'").run();
    assert.deepEqual(await verifyChain(ledger.store, suite), {
      ok: false,
      height: 2,
      problem: 'stored state of "grant/grant-0005" differs from what the chain computes',
    });
    db.prepare("UPDATE state SET value = replace(value, 'write', 'read') WHERE key = 'grant/grant-0005'").run();
    db.prepare("UPDATE txs SET code = 'NOT_PATIENT' WHERE height = 3").run();
    const report = await verifyChain(ledger.store, suite);
    assert.equal(report.ok, false);
    assert.equal(report.height, 3);
  });
});
