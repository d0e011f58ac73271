/**
 * The provider console's record forms: fields, checks before sending (what a person can fix),
 * and the FHIR R4 resource each builds. The node validates every resource as FHIR again
 * (@medplum/core with the R4 definitions) and names the element when it refuses one.
 */
export type FormKind =
  'blood-pressure' | 'weight' | 'heart-rate' | 'hba1c' | 'condition' | 'medication' | 'allergy';
export type FormValues = Record<string, string | undefined>;

export interface FieldSpec {
  readonly name: string;
  readonly label: string;
  readonly type: 'text' | 'number' | 'date';
  readonly unit?: string;
  readonly options?: ReadonlyArray<readonly [string, string]>;
  readonly required?: boolean;
  readonly min?: number;
  readonly max?: number;
  /** FHIR elements this field fills: where a node's refusal is shown. */
  readonly elements: readonly string[];
}

interface FormSpec {
  readonly label: string;
  readonly fields: readonly FieldSpec[];
}

const date = (label: string, elements: string[]): FieldSpec => ({
  name: 'date',
  label,
  type: 'date',
  required: true,
  elements,
});

export const FORM_KINDS: Readonly<Record<FormKind, FormSpec>> = {
  'blood-pressure': {
    label: 'Vital signs: blood pressure',
    fields: [
      {
        name: 'systolic',
        label: 'Systolic',
        type: 'number',
        unit: 'mmHg',
        required: true,
        min: 40,
        max: 300,
        elements: ['component[0]', 'component'],
      },
      {
        name: 'diastolic',
        label: 'Diastolic',
        type: 'number',
        unit: 'mmHg',
        required: true,
        min: 20,
        max: 200,
        elements: ['component[1]'],
      },
      date('Measured on', ['effective']),
    ],
  },
  weight: {
    label: 'Vital signs: body weight',
    fields: [
      {
        name: 'value',
        label: 'Weight',
        type: 'number',
        unit: 'kg',
        required: true,
        min: 0.3,
        max: 500,
        elements: ['value'],
      },
      date('Measured on', ['effective']),
    ],
  },
  'heart-rate': {
    label: 'Vital signs: heart rate',
    fields: [
      {
        name: 'value',
        label: 'Heart rate',
        type: 'number',
        unit: 'beats/min',
        required: true,
        min: 10,
        max: 300,
        elements: ['value'],
      },
      date('Measured on', ['effective']),
    ],
  },
  hba1c: {
    label: 'Result: HbA1c',
    fields: [
      {
        name: 'value',
        label: 'HbA1c',
        type: 'number',
        unit: '%',
        required: true,
        min: 2,
        max: 25,
        elements: ['value'],
      },
      date('Measured on', ['effective']),
    ],
  },
  condition: {
    label: 'Problem (Condition)',
    fields: [
      { name: 'text', label: 'Problem', type: 'text', required: true, elements: ['code'] },
      {
        name: 'status',
        label: 'Clinical status',
        type: 'text',
        required: true,
        options: [
          ['active', 'Active'],
          ['resolved', 'Resolved'],
          ['inactive', 'Inactive'],
        ],
        elements: ['clinicalStatus'],
      },
      date('Since', ['onset']),
    ],
  },
  medication: {
    label: 'Medication (MedicationRequest)',
    fields: [
      { name: 'text', label: 'Medication', type: 'text', required: true, elements: ['medication'] },
      { name: 'dosage', label: 'Dosage', type: 'text', elements: ['dosageInstruction'] },
      date('Prescribed on', ['authoredOn']),
    ],
  },
  allergy: {
    label: 'Allergy (AllergyIntolerance)',
    fields: [
      { name: 'text', label: 'Substance', type: 'text', required: true, elements: ['code'] },
      {
        name: 'criticality',
        label: 'Criticality',
        type: 'text',
        required: true,
        options: [
          ['low', 'Low'],
          ['high', 'High'],
          ['unable-to-assess', 'Unable to assess'],
        ],
        elements: ['criticality'],
      },
      date('Recorded on', ['recordedDate']),
    ],
  },
};

/** Problems by field name; empty when the form may be sent. */
export function validateForm(kind: FormKind, values: FormValues): Record<string, string> {
  const problems: Record<string, string> = {};
  for (const field of FORM_KINDS[kind].fields) {
    const raw = (values[field.name] ?? '').trim();
    if (raw === '') {
      if (field.required) problems[field.name] = `${field.label} is required.`;
      continue;
    }
    if (field.type === 'number') {
      const n = Number(raw);
      if (!Number.isFinite(n)) problems[field.name] = `${field.label} must be a number.`;
      else if (field.min !== undefined && n < field.min)
        problems[field.name] = `${field.label} must be at least ${field.min}.`;
      else if (field.max !== undefined && n > field.max)
        problems[field.name] = `${field.label} must be at most ${field.max}.`;
    }
    if (field.type === 'date') {
      const t = Date.parse(raw);
      if (Number.isNaN(t) || !/^\d{4}-\d{2}-\d{2}$/.test(raw))
        problems[field.name] = `${field.label}: enter a date.`;
      else if (t > Date.now() + 24 * 3600 * 1000)
        problems[field.name] = `${field.label} cannot be in the future.`;
    }
    if (field.options && !field.options.some(([v]) => v === raw))
      problems[field.name] = `Choose a ${field.label.toLowerCase()}.`;
  }
  if (kind === 'blood-pressure' && !problems['systolic'] && !problems['diastolic']) {
    if (Number(values['systolic']) <= Number(values['diastolic']))
      problems['diastolic'] = 'Diastolic must be lower than systolic.';
  }
  return problems;
}

const LOINC = 'http://loinc.org';
const UCUM = 'http://unitsofmeasure.org';
const VITAL_SIGNS = [
  {
    coding: [
      {
        system: 'http://terminology.hl7.org/CodeSystem/observation-category',
        code: 'vital-signs',
        display: 'Vital Signs',
      },
    ],
  },
];
const LABORATORY = [
  {
    coding: [
      {
        system: 'http://terminology.hl7.org/CodeSystem/observation-category',
        code: 'laboratory',
        display: 'Laboratory',
      },
    ],
  },
];

function observation(
  code: string,
  display: string,
  category: unknown,
  subject: string,
  when: string,
  value: { value: number; unit: string; code: string },
) {
  return {
    resourceType: 'Observation',
    status: 'final',
    category,
    code: { coding: [{ system: LOINC, code, display }], text: display },
    subject: { reference: subject },
    effectiveDateTime: when,
    valueQuantity: { value: value.value, unit: value.unit, system: UCUM, code: value.code },
  };
}

/** The FHIR resource of a checked form, about `subject` (`Patient/<id>`). */
export function buildResource(kind: FormKind, v: FormValues, subject: string): Record<string, unknown> {
  const when = v['date'] ?? new Date().toISOString().slice(0, 10);
  const text = (v['text'] ?? '').trim();
  switch (kind) {
    case 'blood-pressure':
      return {
        resourceType: 'Observation',
        status: 'final',
        category: VITAL_SIGNS,
        code: {
          coding: [
            { system: LOINC, code: '85354-9', display: 'Blood pressure panel with all children optional' },
          ],
          text: 'Blood pressure',
        },
        subject: { reference: subject },
        effectiveDateTime: when,
        component: [
          {
            code: { coding: [{ system: LOINC, code: '8480-6', display: 'Systolic blood pressure' }] },
            valueQuantity: { value: Number(v['systolic']), unit: 'mmHg', system: UCUM, code: 'mm[Hg]' },
          },
          {
            code: { coding: [{ system: LOINC, code: '8462-4', display: 'Diastolic blood pressure' }] },
            valueQuantity: { value: Number(v['diastolic']), unit: 'mmHg', system: UCUM, code: 'mm[Hg]' },
          },
        ],
      };
    case 'weight':
      return observation('29463-7', 'Body weight', VITAL_SIGNS, subject, when, {
        value: Number(v['value']),
        unit: 'kg',
        code: 'kg',
      });
    case 'heart-rate':
      return observation('8867-4', 'Heart rate', VITAL_SIGNS, subject, when, {
        value: Number(v['value']),
        unit: 'beats/minute',
        code: '/min',
      });
    case 'hba1c':
      return observation('4548-4', 'Hemoglobin A1c/Hemoglobin.total in Blood', LABORATORY, subject, when, {
        value: Number(v['value']),
        unit: '%',
        code: '%',
      });
    case 'condition':
      return {
        resourceType: 'Condition',
        clinicalStatus: {
          coding: [
            {
              system: 'http://terminology.hl7.org/CodeSystem/condition-clinical',
              code: v['status'] ?? 'active',
            },
          ],
        },
        verificationStatus: {
          coding: [
            { system: 'http://terminology.hl7.org/CodeSystem/condition-ver-status', code: 'confirmed' },
          ],
        },
        code: { text },
        subject: { reference: subject },
        onsetDateTime: when,
        recordedDate: new Date().toISOString().slice(0, 10),
      };
    case 'medication':
      return {
        resourceType: 'MedicationRequest',
        status: 'active',
        intent: 'order',
        medicationCodeableConcept: { text },
        subject: { reference: subject },
        authoredOn: when,
        ...((v['dosage'] ?? '').trim() === '' ? {} : { dosageInstruction: [{ text: v['dosage']!.trim() }] }),
      };
    case 'allergy':
      return {
        resourceType: 'AllergyIntolerance',
        clinicalStatus: {
          coding: [
            { system: 'http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical', code: 'active' },
          ],
        },
        verificationStatus: {
          coding: [
            {
              system: 'http://terminology.hl7.org/CodeSystem/allergyintolerance-verification',
              code: 'confirmed',
            },
          ],
        },
        code: { text },
        patient: { reference: subject },
        criticality: v['criticality'],
        recordedDate: when,
      };
  }
}
