/**
 * A long-term (`L`) SMART Health Link follows the patient's record, against a real node listening
 * on 127.0.0.1 at the public URL it hands out: the patient creates an `L` link and a plain link
 * (both sealed with the wallet, through the CLI's own functions), writes a new record, and a sync
 * (what `roam shl sync` runs) replaces the `L` link's file only; the independent decoder
 * (spec-decoder.ts) then reads the new record in the `L` link's summary, not in the other's. A
 * second sync changes nothing; another patient's sync does not touch the first patient's links.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { signIn } from '../../src/client/auth.js';
import { FhirClient } from '../../src/client/fhir.js';
import { syncShareLinks } from '../../src/client/share-link-sync.js';
import { ShareLinkClient } from '../../src/client/share-links.js';
import { fetchOwnRecord } from '../../src/cli/own-record.js';
import type { FhirSession } from '../../src/cli/record.js';
import { patientSummaryWithDigest } from '../../src/cli/shl.js';
import type { RoamNode } from '../../src/node/roam-node.js';
import type { ShareLinkView } from '../../src/wire/index.js';
import type { Wallet } from '../../src/wallet/index.js';
import { registeredPatient } from '../auth/fixture.js';
import { condition, createPatient, expectStatus, fhir, grantOrg, tokenOf, type FhirTestNode } from '../fhir-api/fixture.js';
import { startLinkHost, type LinkHost } from './link-host.js';
import { specOpen } from './spec-decoder.js';

/** The new record's marker: a SNOMED code the first summary does not hold. */
const ASTHMA = { system: 'http://snomed.info/sct', code: '195967001', display: 'Asthma' };

describe('SMART Health Links: a long-term link follows the record', () => {
  let host: LinkHost | undefined;
  let node: RoamNode;
  let t: FhirTestNode;
  let baseUrl: string;
  let patient: Wallet;
  let token: string;
  let patientId: string;
  let session: FhirSession & { readonly links: ShareLinkClient };
  let longTerm: { link: string; id: string };
  let plain: { link: string; id: string };

  async function sessionOf(wallet: Wallet): Promise<FhirSession & { readonly links: ShareLinkClient }> {
    const { access_token, org } = await signIn({ baseUrl }, wallet);
    return {
      wallet,
      fhir: new FhirClient(baseUrl, access_token),
      patientDid: wallet.did,
      node: baseUrl,
      org,
      accessToken: access_token,
      links: new ShareLinkClient({ baseUrl, accessToken: access_token, holder: wallet }),
    };
  }

  /** What `roam shl sync` runs for `of`. */
  async function sync(of: FhirSession & { readonly links: ShareLinkClient }) {
    const { digest } = await fetchOwnRecord(of);
    return syncShareLinks({
      client: of.links,
      holder: of.wallet,
      currentDigest: digest,
      buildDocument: async () => (await patientSummaryWithDigest(of)).document,
    });
  }

  async function summaryText(link: string): Promise<string> {
    const [file] = await specOpen(link, 'Dr. Lindqvist, Karolinska');
    return file?.body ?? '';
  }

  async function viewOf(id: string): Promise<ShareLinkView> {
    const view = (await session.links.list()).find((l) => l.id === id);
    assert.ok(view !== undefined);
    return view;
  }

  before(async () => {
    host = await startLinkHost('Clinic of Follow');
    ({ baseUrl, t } = host);
    node = t.node;
    patient = await registeredPatient(node);
    await grantOrg(t, patient, { classes: ['general'] });
    token = await tokenOf(t, patient);
    patientId = await createPatient(t, token, 'Follower');
    expectStatus(await fhir(t, token, 'POST', 'Condition', condition(patientId, false)), 201);

    session = await sessionOf(patient);
    const { document, digest } = await patientSummaryWithDigest(session);
    const l = await session.links.create({ document, builtFrom: digest, flags: { longTerm: true }, label: 'Follows my record' });
    const p = await session.links.create({ document, builtFrom: digest, label: 'A snapshot' });
    longTerm = { link: l.link, id: l.view.id };
    plain = { link: p.link, id: p.view.id };
  });
  after(async () => {
    await host?.close();
  });

  it('before any change: both links hold the first summary, and a sync finds nothing to do', async () => {
    assert.match(await summaryText(longTerm.link), /Hypertension/);
    assert.doesNotMatch(await summaryText(longTerm.link), /Asthma/);
    const outcomes = await sync(session);
    assert.deepEqual(outcomes.map((o) => [o.id, o.outcome]), [[longTerm.id, 'unchanged']], 'only the L link is considered');
  });

  it('a new record: the sync refreshes the L link (read by the independent decoder), not the other', async () => {
    const plainBefore = await viewOf(plain.id);
    const condition2 = { ...condition(patientId, false), code: { coding: [ASTHMA] } };
    expectStatus(await fhir(t, token, 'POST', 'Condition', condition2), 201);
    const outcomes = await sync(session);
    assert.deepEqual(outcomes.map((o) => [o.id, o.outcome]), [[longTerm.id, 'refreshed']]);
    const text = await summaryText(longTerm.link);
    assert.match(text, /Asthma/);
    assert.match(text, /Hypertension/);
    assert.doesNotMatch(await summaryText(plain.link), /Asthma/);
    assert.equal((await viewOf(plain.id)).updatedAt, plainBefore.updatedAt, 'the plain link is untouched');
    // The same link text still opens it: the key did not change, and the wallet rebuilds it.
    assert.equal((await session.links.rebuild(await viewOf(longTerm.id))).link, longTerm.link);
  });

  it('a second sync with no new record changes nothing', async () => {
    const before = await viewOf(longTerm.id);
    const outcomes = await sync(session);
    assert.deepEqual(outcomes.map((o) => o.outcome), ['unchanged']);
    assert.equal((await viewOf(longTerm.id)).updatedAt, before.updatedAt);
  });

  it("another patient's sync never touches these links", async () => {
    const other = await registeredPatient(node);
    await grantOrg(t, other, { classes: ['general'] });
    const otherSession = await sessionOf(other);
    const before = await viewOf(longTerm.id);
    assert.deepEqual(await sync(otherSession), []);
    assert.equal((await viewOf(longTerm.id)).updatedAt, before.updatedAt);
  });
});
