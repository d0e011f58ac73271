import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  RESOURCE_INTERACTIONS,
  VIEW_INTERACTIONS,
  VIEW_SEARCH_PARAMETERS,
  VIEW_TYPES,
  capabilityStatement,
} from './capabilities.js';
import { SEARCH_PARAMETERS } from './search/index-entries.js';
import { parseSearch } from './search/params.js';
import { SUPPORTED_TYPES } from './types.js';
import { SUPPORTED_RESOURCE_TYPES } from './validation.js';

describe('CapabilityStatement', () => {
  const statement = capabilityStatement({ baseUrl: 'https://node.example/fhir/R4', date: '2025-01-01' });
  const rest = statement.rest?.[0];

  it('is FHIR 4.0.1, JSON only, a server with transaction and batch', () => {
    assert.equal(statement.fhirVersion, '4.0.1');
    assert.deepEqual(statement.format, ['json', 'application/fhir+json']);
    assert.equal(statement.kind, 'instance');
    assert.equal(rest?.mode, 'server');
    assert.deepEqual(
      rest?.interaction?.map((i) => i.code),
      ['transaction', 'batch'],
    );
    assert.match(rest?.security?.description ?? '', /Bearer/);
    assert.equal(statement.implementation?.url, 'https://node.example/fhir/R4');
  });

  it('lists exactly the supported types and the ledger views', () => {
    assert.deepEqual(
      rest?.resource?.map((r) => r.type),
      [...SUPPORTED_TYPES, ...VIEW_TYPES],
    );
  });

  it('declares the ledger views as read and search-type only', () => {
    for (const type of VIEW_TYPES) {
      const resource = rest?.resource?.find((r) => r.type === type);
      assert.deepEqual(
        resource?.interaction?.map((i) => i.code),
        [...VIEW_INTERACTIONS],
      );
      assert.deepEqual(
        resource?.searchParam?.map((p) => p.name),
        VIEW_SEARCH_PARAMETERS[type].map((p) => p.name),
      );
      assert.equal(resource?.operation, undefined);
    }
  });

  it('declares every stored type with its interactions, search parameters and operations', () => {
    const stored = new Set<string>(SUPPORTED_TYPES);
    for (const resource of (rest?.resource ?? []).filter((r) => stored.has(r.type))) {
      const type = resource.type as (typeof SUPPORTED_TYPES)[number];
      assert.deepEqual(
        resource.interaction?.map((i) => i.code),
        [...RESOURCE_INTERACTIONS],
      );
      assert.deepEqual(
        resource.searchParam?.map((p) => p.name),
        SEARCH_PARAMETERS[type].map((p) => p.name),
      );
      // Every declared parameter is accepted by the parser (and nothing is declared that is not).
      for (const param of resource.searchParam ?? []) {
        const value = param.type === 'date' ? '2020' : param.type === 'reference' ? 'p1' : 'x';
        assert.doesNotThrow(() => parseSearch(type, `${param.name}=${value}`), `${type}.${param.name}`);
      }
      assert.deepEqual(
        resource.operation?.map((o) => o.name),
        type === 'Patient' ? ['everything', 'summary', 'erase'] : ['erase'],
      );
    }
  });

  it('keeps the same type list as the validator (src/fhir/validation.ts)', () => {
    assert.deepEqual([...SUPPORTED_TYPES], [...SUPPORTED_RESOURCE_TYPES]);
  });
});
