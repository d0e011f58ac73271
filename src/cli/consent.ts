/**
 * `roam consent grant | revoke | rotate | list`: a patient decides which organizations see which
 * records.
 *
 * Grants carry the patient's record keys sealed to the grantee organization. The patient's
 * current key epoch is the number of its revoked grants plus its own rotations (read from the
 * ledger): a grant carries the keys of each class in its scope for epochs 0..current, and a
 * revocation or a rotation is followed by a `consent.rekey` of every other active grant with the
 * keys of the new epoch, and by a fresh emergency escrow when emergency access is enabled.
 */
import { InvalidArgumentError, Option, type Command } from 'commander';
import type { GrantSummary, OrgSummary } from '../wire/index.js';
import { currentEpoch, grantKeyRefs, grantState, scopeText } from '../client/consent.js';
import {
  MAX_GRANT_KEYS,
  PURPOSES,
  type ConsentGrantPayload,
  type ConsentRekeyPayload,
  type ConsentRevokePayload,
  type Purpose,
} from '../contracts/index.js';
import { fromBase64Url, randomBytes, toBase64Url } from '../crypto/index.js';
import { ResultCode, SENSITIVITY_CLASSES, TxType, type SensitivityClass } from '../ledger/index.js';
import { sealGrantKeys, type KeyRef, type SealedRecordKey } from '../vault/index.js';
import { deriveRecordKeySeed, type Wallet } from '../wallet/index.js';
import {
  nodeUrlOption,
  openWallet,
  parseDid,
  parseList,
  passphraseFileOption,
  subcommand,
  usage,
} from './common.js';
import { connect, type NodeApi } from './connect.js';
import { escrowRefreshLines, refreshEmergencyEscrow } from './emergency-escrow.js';
import { formatRemaining, parseExpiry } from './durations.js';
import { CliError, describeError, emit, fields, isoTime, table, type OutputOptions } from './output.js';

const FHIR_TYPE = /^[A-Z][A-Za-z]{1,63}$/;

interface WalletNodeOptions extends OutputOptions {
  readonly wallet: string;
  readonly node: string;
  readonly passphraseFile?: string;
}

interface GrantOptions extends WalletNodeOptions {
  readonly to: string;
  readonly scope: string[];
  readonly classes: SensitivityClass[];
  readonly write?: boolean;
  readonly purpose: Purpose;
  readonly expires?: string;
}

export function registerConsent(program: Command): void {
  const consent = program.command('consent').description("a patient's consent grants to organizations");

  subcommand(consent, 'grant', 'grant an organization access to some of your records')
    .requiredOption('--wallet <file>', 'your patient wallet')
    .requiredOption('--to <orgDid>', 'DID of the organization to grant (see /ledger/orgs)', parseDid)
    .requiredOption(
      '--scope <types>',
      'FHIR resource types, e.g. Observation,Condition, or "all"',
      parseScope,
    )
    .option('--classes <classes>', `sensitivity classes: ${SENSITIVITY_CLASSES.join(', ')}`, parseClasses, [
      'general',
    ])
    .option('--write', 'also let the organization write records (default: read only)')
    .addOption(new Option('--purpose <purpose>', 'purpose of use').choices(PURPOSES).default('treatment'))
    .option('--expires <when>', 'expiry: a duration (30d, 12h) or a date (2026-12-31); default: no expiry')
    .addOption(nodeUrlOption())
    .addOption(passphraseFileOption())
    .action(async (options: GrantOptions) => {
      // Parsed before opening the wallet, so a typo costs no passphrase derivation.
      const expiresAt = options.expires === undefined ? null : parseExpiry(options.expires, Date.now());
      const wallet = await openPatientWallet(options.wallet, options);
      const api = connect(options.node, wallet);
      const [orgs, consents] = await Promise.all([api.orgs(), api.consents(wallet.did)]);
      const granteeKey = orgEncryptionKey(orgs, options.to);
      const epoch = currentEpoch(consents.grants, consents.rotations);
      const refs: KeyRef[] = grantKeyRefs(options.classes, epoch);
      if (refs.length > MAX_GRANT_KEYS) {
        throw new CliError(
          ResultCode.GRANT_KEYS_FULL,
          `the grant would carry ${refs.length} record keys (${options.classes.length} classes × epochs 0..${epoch}), more than ${MAX_GRANT_KEYS}`,
        );
      }
      const keys = await sealKeys(wallet, options.to, granteeKey, refs);
      const grant = {
        grantId: `g-${toBase64Url(randomBytes(12))}`,
        grantee: options.to,
        scope: { resourceTypes: options.scope, classes: options.classes },
        purpose: options.purpose,
        access: options.write ? 'write' : 'read',
        expiresAt,
      } as const satisfies ConsentGrantPayload;
      const payload: ConsentGrantPayload = { ...grant, keys };
      const committed = await api.submit(wallet, TxType.ConsentGrant, payload);
      // The sealed keys are on the ledger already; the output says how many.
      const data = { ...grant, keyCount: keys.length, epoch, txId: committed.id, height: committed.height };
      emit(options, data, () => [
        `Granted ${options.to} ${payload.access} access`,
        ...fields([
          ['grant id', payload.grantId],
          ['scope', `${scopeText(options.scope)} (${options.classes.join(', ')})`],
          ['purpose', payload.purpose],
          ['expires', isoTime(expiresAt)],
          ['record keys', `${keys.length} (epochs 0..${epoch} of each class)`],
          ['transaction', committed.id],
        ]),
      ]);
    });

  subcommand(consent, 'revoke', 'end a grant at once')
    .requiredOption('--wallet <file>', 'your patient wallet')
    .requiredOption('--grant <id>', 'the grant id (see roam consent list)')
    .addOption(nodeUrlOption())
    .addOption(passphraseFileOption())
    .action(async (options: WalletNodeOptions & { readonly grant: string }) => {
      // A patient wallet is checked first: the rekey after the revocation needs its record keys.
      const wallet = await openPatientWallet(options.wallet, options);
      const api = connect(options.node, wallet);
      const payload: ConsentRevokePayload = { grantId: options.grant };
      const committed = await api.submit(wallet, TxType.ConsentRevoke, payload);
      await reportNewEpoch(api, wallet, options, {
        done: `Revoked grant ${options.grant}`,
        data: { grantId: options.grant, txId: committed.id, height: committed.height },
        excluded: options.grant,
        txId: committed.id,
      });
    });

  subcommand(consent, 'rotate', 'move your record keys to a new epoch (e.g. after a break-glass)')
    .requiredOption('--wallet <file>', 'your patient wallet')
    .addOption(nodeUrlOption())
    .addOption(passphraseFileOption())
    .action(async (options: WalletNodeOptions) => {
      const wallet = await openPatientWallet(options.wallet, options);
      const api = connect(options.node, wallet);
      const committed = await api.submit(wallet, TxType.ConsentRotate, {});
      await reportNewEpoch(api, wallet, options, {
        done: 'Rotated your record keys',
        data: { txId: committed.id, height: committed.height },
        txId: committed.id,
      });
    });

  subcommand(consent, 'list', 'list your grants and their status')
    .requiredOption('--wallet <file>', 'your patient wallet')
    .addOption(nodeUrlOption())
    .addOption(passphraseFileOption())
    .action(async (options: WalletNodeOptions) => {
      const wallet = await openWallet(options.wallet, options);
      const api = connect(options.node, wallet);
      const [consents, orgs] = await Promise.all([api.consents(wallet.did), api.orgs()]);
      const orgName = new Map(orgs.map((o) => [o.did, o.name]));
      const now = Date.now();
      const grants = consents.grants.map((g) => ({
        ...g,
        granteeName: orgName.get(g.grantee) ?? null,
        state: grantState(g, now),
      }));
      emit(options, { patient: wallet.did, grants, requests: consents.requests }, () =>
        grants.length === 0
          ? [`No grants for ${wallet.did}`]
          : table(
              ['id', 'grantee', 'scope', 'access', 'expires', 'status', 'keys'],
              grants.map((g) => [
                g.id,
                g.granteeName === null ? g.grantee : `${g.granteeName} (${shortDid(g.grantee)})`,
                `${scopeText(g.scope.resourceTypes)} [${g.scope.classes.join(',')}]`,
                g.access,
                g.expiresAt === null
                  ? 'never'
                  : `${isoTime(g.expiresAt)}${g.state === 'active' ? ` (in ${formatRemaining(g.expiresAt - now)})` : ''}`,
                g.state,
                String(g.keyCount),
              ]),
            ),
      );
    });
}

/**
 * After the epoch moved (revocation, rotation): rekeys the other active grants, refreshes the
 * emergency escrow, prints what was done, and fails (after printing) when part of it did not.
 */
async function reportNewEpoch(
  api: NodeApi,
  wallet: Wallet,
  options: OutputOptions,
  what: { readonly done: string; readonly data: object; readonly txId: string; readonly excluded?: string },
): Promise<void> {
  const { epoch, rekeyed, failed } = await rekeyActiveGrants(api, wallet, what.excluded);
  const escrow = await refreshEmergencyEscrow(api, wallet);
  emit(options, { ...what.data, epoch, rekeyed, failed, escrow }, () => [
    what.done,
    ...fields([
      ['transaction', what.txId],
      ['new key epoch', String(epoch)],
    ]),
    ...(rekeyed.length === 0
      ? ['No other active grant to rekey']
      : [
          `Rekeyed ${rekeyed.length} active grant${rekeyed.length === 1 ? '' : 's'} with the epoch ${epoch} keys:`,
          ...rekeyed.map((r) => `  ${r.grantId}  ${shortDid(r.grantee)}  [${r.classes.join(',')}]  tx ${r.txId}`),
        ]),
    ...escrowRefreshLines(escrow),
  ]);
  if (failed.length > 0) {
    throw new CliError(
      failed[0]!.code,
      `${what.done.toLowerCase()}, but ${failed.length} active grant(s) did not get the epoch ${epoch} keys: ` +
        failed.map((f) => `${f.grantId} (${f.code}: ${f.message})`).join('; '),
    );
  }
  if (escrow.status === 'failed') {
    throw new CliError(escrow.code, `${what.done.toLowerCase()}, but the emergency escrow was not refreshed: ${escrow.message}`);
  }
}

/** Opens `path` and checks it is a patient's wallet: only a patient's holds the record keys. */
export async function openPatientWallet(path: string, options: WalletNodeOptions): Promise<Wallet> {
  const wallet = await openWallet(path, options);
  if (wallet.role !== 'patient') {
    throw usage(
      `${path} is a ${wallet.role} wallet, not a patient wallet: consent needs the patient's record keys`,
    );
  }
  return wallet;
}

/** The raw X25519 key of member organization `did`. */
export function orgEncryptionKey(orgs: readonly OrgSummary[], did: string): Uint8Array {
  const org = orgs.find((o) => o.did === did);
  if (org === undefined)
    throw new CliError(ResultCode.UNKNOWN_ORG, `${did} is not a member organization (see /ledger/orgs)`);
  return fromBase64Url(org.encryptionKey);
}

/** Derives the record keys `refs` from the wallet and seals each to the grantee. */
export async function sealKeys(
  wallet: Wallet,
  grantee: string,
  granteePublicKey: Uint8Array,
  refs: readonly KeyRef[],
): Promise<Array<Readonly<Record<string, unknown>>>> {
  const recordKeySeed = deriveRecordKeySeed(wallet);
  try {
    const sealed: SealedRecordKey[] = await sealGrantKeys({
      recordKeySeed,
      patient: wallet.did,
      grantee,
      granteePublicKey,
      keys: refs,
    });
    // As the payload types have them: plain JSON objects, opaque to the ledger.
    return sealed.map((key) => ({ ...key }));
  } finally {
    recordKeySeed.fill(0);
  }
}

interface RekeyOutcome {
  readonly epoch: number;
  readonly rekeyed: Array<{
    readonly grantId: string;
    readonly grantee: string;
    readonly classes: readonly SensitivityClass[];
    readonly txId: string;
  }>;
  readonly failed: Array<{ readonly grantId: string; readonly code: string; readonly message: string }>;
}

/**
 * After the epoch moved (`revokedId`'s revocation, or a rotation) and committed: adds the new epoch's key of each class in scope
 * to every other active, unexpired grant of the patient, one `consent.rekey` each. Failures are
 * collected, not thrown, so that one bad grant does not keep the others from their keys.
 */
async function rekeyActiveGrants(api: NodeApi, wallet: Wallet, revokedId?: string): Promise<RekeyOutcome> {
  const [consents, orgs] = await Promise.all([api.consents(wallet.did), api.orgs()]);
  const epoch = currentEpoch(consents.grants, consents.rotations);
  const now = Date.now();
  const active = consents.grants.filter(
    (g: GrantSummary) => g.id !== revokedId && grantState(g, now) === 'active',
  );
  const outcome: RekeyOutcome = { epoch, rekeyed: [], failed: [] };
  for (const grant of active) {
    try {
      const classes = grant.scope.classes;
      const keys = await sealKeys(
        wallet,
        grant.grantee,
        orgEncryptionKey(orgs, grant.grantee),
        classes.map((cls) => ({ class: cls, epoch })),
      );
      const payload: ConsentRekeyPayload = { grantId: grant.id, keys };
      const committed = await api.submit(wallet, TxType.ConsentRekey, payload);
      outcome.rekeyed.push({ grantId: grant.id, grantee: grant.grantee, classes, txId: committed.id });
    } catch (error) {
      const { code, message } = describeError(error);
      outcome.failed.push({ grantId: grant.id, code, message });
    }
  }
  return outcome;
}

export function shortDid(did: string): string {
  return did.length > 24 ? `${did.slice(0, 14)}…${did.slice(-6)}` : did;
}

function parseScope(text: string): string[] {
  if (text.trim() === 'all' || text.trim() === '*') return ['*'];
  const types = parseList(text);
  if (types.length === 0) throw new InvalidArgumentError('expected FHIR resource types or "all"');
  const bad = types.find((t) => !FHIR_TYPE.test(t));
  if (bad !== undefined)
    throw new InvalidArgumentError(`"${bad}" is not a FHIR resource type name (e.g. Observation)`);
  if (new Set(types).size !== types.length) throw new InvalidArgumentError('each resource type at most once');
  return types;
}

export function parseClasses(text: string): SensitivityClass[] {
  const classes = parseList(text);
  if (classes.length === 0) throw new InvalidArgumentError('expected at least one class');
  const bad = classes.find((c) => !(SENSITIVITY_CLASSES as readonly string[]).includes(c));
  if (bad !== undefined)
    throw new InvalidArgumentError(`unknown class "${bad}"; expected ${SENSITIVITY_CLASSES.join(', ')}`);
  return [...new Set(classes)] as SensitivityClass[];
}
