/**
 * The node's logs never hold health data, identifiers, DIDs, tokens or keys. A node runs
 * in-process with its JSON log (at trace level, everything it would ever write) captured; three
 * Synthea patients are imported; their records are read, searched (by name, birth date and
 * identifier), gathered with `$everything` and `$summary`, their audit trails read; then a few
 * error paths (another patient's record, a bad token, a bad body quoting the patient's name, a
 * DID as request id and in unknown paths). Every log line is then scanned for what must not be
 * there: the patients' names, birth dates, identifiers, DIDs, condition codes and displays, the
 * bearer tokens, and the node's and patients' key material.
 */
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import type { Bundle, Patient } from '@medplum/fhirtypes';
import { toBase64Url } from '../../src/crypto/index.js';
import type { Wallet } from '../../src/wallet/index.js';
import {
  expectStatus,
  fhir,
  grantOrg,
  openFhirNode,
  registeredPatient,
  registeredPractitioner,
  tokenOf,
  type FhirTestNode,
} from '../fhir-api/fixture.js';
import { jsonFilesIn, SYNTHEA_DIR } from '../support/testdata.js';

/** Strings that must appear in no log line, each with what it is (for the failure message). */
const forbidden = new Map<string, string>();
function forbid(value: string | undefined, what: string): void {
  // Very short values (a two-letter given name, a one-digit code) would match by chance.
  if (value !== undefined && value.length >= 4) forbidden.set(value, what);
}

/** What the three imported patients' bundles say about them that a log must never repeat. */
function forbidBundle(bundle: Bundle): void {
  for (const entry of bundle.entry ?? []) {
    const resource = entry.resource;
    if (resource?.resourceType === 'Patient') {
      const patient = resource;
      for (const name of patient.name ?? []) {
        forbid(name.family, 'a family name');
        for (const given of name.given ?? []) forbid(given, 'a given name');
      }
      forbid(patient.birthDate, 'a birth date');
      for (const identifier of patient.identifier ?? []) forbid(identifier.value, 'a patient identifier');
      for (const address of patient.address ?? [])
        for (const line of address.line ?? []) forbid(line, 'an address');
      for (const telecom of patient.telecom ?? []) forbid(telecom.value, 'a phone number');
    }
    if (resource?.resourceType === 'Condition') {
      for (const coding of resource.code?.coding ?? []) {
        forbid(coding.code, 'a condition code');
        forbid(coding.display, 'a condition display');
      }
    }
  }
}

function smallestBundles(count: number): string[] {
  return jsonFilesIn(SYNTHEA_DIR)
    .sort((a, b) => statSync(a).size - statSync(b).size)
    .slice(0, count);
}

describe('security: the node logs no health data, identifiers, tokens or keys', { timeout: 180_000 }, () => {
  const lines: string[] = [];
  const capture = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(
        ...chunk
          .toString('utf8')
          .split('\n')
          .filter((line) => line.length > 0),
      );
      done();
    },
  });
  let t: FhirTestNode;
  const patients: Array<{ wallet: Wallet; token: string; patientId: string; bundle: Bundle }> = [];

  before(async () => {
    t = await openFhirNode({ logger: { level: 'trace', stream: capture } });
    forbid(toBase64Url(t.node.config.keys.node.secretKey), 'the node signing key');
    forbid(toBase64Url(t.node.config.keys.orgEncryption.secretKey), 'the organization encryption key');
  });
  after(async () => {
    await t.close();
  });

  it('imports three Synthea patients, reads, searches, gathers and audits them, and hits error paths', async () => {
    for (const path of smallestBundles(3)) {
      const text = readFileSync(path, 'utf8');
      const bundle = JSON.parse(text) as Bundle;
      forbidBundle(bundle);
      const wallet = await registeredPatient(t.node);
      forbid(wallet.did, 'a patient DID');
      forbid(toBase64Url(wallet.signing.secretKey), "a patient's signing key");
      await grantOrg(t, wallet, { classes: ['general', 'sensitive'] });
      const token = await tokenOf(t, wallet);
      forbid(token, 'a bearer token');
      const imported = await fhir<Bundle>(t, token, 'POST', '?_import=true', text);
      expectStatus(imported, 200);
      const location = imported.body.entry?.find((e) => e.response?.location?.startsWith('Patient/'))
        ?.response?.location;
      assert.ok(location !== undefined, 'no Patient imported');
      patients.push({ wallet, token, patientId: location.split('/')[1]!, bundle });
    }

    for (const { token, patientId, bundle, wallet } of patients) {
      const patient = bundle.entry?.find((e) => e.resource?.resourceType === 'Patient')?.resource as Patient;
      const family = patient.name?.[0]?.family ?? '';
      expectStatus(await fhir(t, token, 'GET', `Patient/${patientId}`), 200);
      // Patients are not searchable by name or birth date (400): the query still must not be logged.
      assert.equal((await fhir(t, token, 'GET', `Patient?name=${encodeURIComponent(family)}`)).status, 400);
      assert.equal((await fhir(t, token, 'GET', `Patient?birthdate=${patient.birthDate ?? ''}`)).status, 400);
      const identifier = patient.identifier?.[0];
      expectStatus(
        await fhir(
          t,
          token,
          'GET',
          `Patient?identifier=${encodeURIComponent(`${identifier?.system ?? ''}|${identifier?.value ?? ''}`)}`,
        ),
        200,
      );
      expectStatus(await fhir(t, token, 'GET', `Condition?patient=Patient/${patientId}`), 200);
      expectStatus(await fhir(t, token, 'GET', `Patient/${patientId}/$everything?_count=50`), 200);
      expectStatus(await fhir(t, token, 'GET', `Patient/${patientId}/$summary`), 200);
      expectStatus(await fhir(t, token, 'GET', 'AuditEvent?_count=100'), 200);
      // Error paths: a bad body quoting the patient, a malformed resource, an unknown id, a DID as request id.
      const badJson = await fhir(
        t,
        token,
        'POST',
        'Observation',
        `{"resourceType":"Observation","note":"${family}`,
      );
      assert.equal(badJson.status, 400);
      const invalid = await fhir(t, token, 'POST', 'Patient', {
        resourceType: 'Patient',
        name: [{ family }],
        birthDate: `${patient.birthDate ?? ''} ${family}`,
      });
      assert.ok(invalid.status >= 400 && invalid.status < 500, String(invalid.status));
      expectStatus(await fhir(t, token, 'GET', 'Observation/no-such-record'), 404);
      await t.app.inject({
        method: 'GET',
        url: `/ledger/identities/${encodeURIComponent(wallet.did)}?name=${family}`,
        headers: { 'x-request-id': wallet.did },
      });
      await t.app.inject({ method: 'GET', url: `/no/route/${encodeURIComponent(wallet.did)}/${family}` });
    }
    // Another patient's record, by a practitioner without a grant, and with a forged token.
    const stranger = await registeredPractitioner(t);
    const strangerToken = await tokenOf(t, stranger);
    forbid(strangerToken, 'a bearer token');
    const first = patients[0]!;
    const refused = await fhir(t, strangerToken, 'GET', `Patient/${first.patientId}/$everything`);
    assert.ok(refused.status < 500, String(refused.status));
    const forged = `${first.token.slice(0, -4)}AAAA`;
    assert.equal((await fhir(t, forged, 'GET', `Patient/${first.patientId}`)).status, 401);
    assert.equal(
      (
        await t.app.inject({
          method: 'POST',
          url: '/ledger/tx',
          payload: { family: first.bundle.entry?.length },
        })
      ).statusCode,
      400,
    );
  });

  it('no log line names a patient, a date of birth, an identifier, a DID, a condition, a token or a key', () => {
    assert.ok(patients.length === 3, 'the run did not finish');
    // The log is there, one JSON object per line, with a request line per request.
    assert.ok(lines.length > 50, `only ${lines.length} log lines`);
    for (const line of lines) JSON.parse(line);
    assert.ok(
      lines.some(
        (line) =>
          /"msg":"request"/.test(line) &&
          /"route":"\/fhir\/R4\/:type\/:id\/\$everything"|"route":"[^"]*everything/.test(line),
      ),
    );
    assert.ok(forbidden.size > 20, `only ${forbidden.size} values to look for`);
    const found: string[] = [];
    const boundary = (value: string) =>
      new RegExp(`(?<![A-Za-z0-9])${value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?![A-Za-z0-9])`);
    for (const [value, what] of forbidden) {
      // As written, and as a URL would carry it.
      const patterns = [boundary(value), boundary(encodeURIComponent(value))];
      const line = lines.find((l) => patterns.some((pattern) => pattern.test(l)));
      if (line !== undefined) found.push(`${what} (${value.slice(0, 12)}…) in: ${line.slice(0, 300)}`);
    }
    for (const line of lines) if (/did(:|%3A)key/i.test(line)) found.push(`a DID in: ${line.slice(0, 300)}`);
    assert.deepEqual(found, []);
  });
});
