/**
 * The words of a patient summary in the reader's language (section titles, table headings, the
 * "no information" text), for English, German, French and Spanish, and the choice of one of them
 * from an `Accept-Language` header. Clinical codes keep their own displays: only the frame is
 * translated, so a doctor abroad reads the structure in their language and the codes as coded.
 */

/** The languages a summary can be written in; `en` is the default. */
export const SUMMARY_LANGUAGES = ['en', 'de', 'fr', 'es'] as const;
export type SummaryLanguage = (typeof SUMMARY_LANGUAGES)[number];

/** The keys of the sections a summary may have (see sections.ts for their LOINC codes). */
export type SectionKey =
  | 'medications'
  | 'allergies'
  | 'problems'
  | 'immunizations'
  | 'procedures'
  | 'devices'
  | 'results'
  | 'vitalSigns';

/** Every word of a summary's frame in one language. */
export interface SummaryLabels {
  readonly documentTitle: string;
  readonly sections: Readonly<Record<SectionKey, string>>;
  readonly noInformation: string;
  /** Said on the document when some custodian of the patient's records could not be reached. */
  readonly incomplete: string;
  readonly unknownMedication: string;
  readonly columns: {
    readonly item: Readonly<Record<SectionKey, string>>;
    readonly status: string;
    readonly value: string;
    readonly date: string;
  };
  readonly patient: { readonly name: string; readonly birthDate: string; readonly gender: string };
}

const LABELS: Readonly<Record<SummaryLanguage, SummaryLabels>> = {
  en: {
    documentTitle: 'International Patient Summary',
    sections: {
      medications: 'Medication Summary',
      allergies: 'Allergies and Intolerances',
      problems: 'Problem List',
      immunizations: 'History of Immunizations',
      procedures: 'History of Procedures',
      devices: 'Medical Devices',
      results: 'Diagnostic Results',
      vitalSigns: 'Vital Signs',
    },
    noInformation: 'No information available',
    incomplete: 'Incomplete: records kept by another organization could not be reached.',
    unknownMedication: 'Unknown medication',
    columns: {
      item: {
        medications: 'Medication',
        allergies: 'Substance',
        problems: 'Problem',
        immunizations: 'Vaccine',
        procedures: 'Procedure',
        devices: 'Device',
        results: 'Test',
        vitalSigns: 'Measurement',
      },
      status: 'Status',
      value: 'Result',
      date: 'Date',
    },
    patient: { name: 'Name', birthDate: 'Date of birth', gender: 'Gender' },
  },
  de: {
    documentTitle: 'Internationale Patientenkurzakte',
    sections: {
      medications: 'Medikationsübersicht',
      allergies: 'Allergien und Unverträglichkeiten',
      problems: 'Problemliste',
      immunizations: 'Impfungen',
      procedures: 'Frühere Eingriffe',
      devices: 'Medizinprodukte',
      results: 'Befunde',
      vitalSigns: 'Vitalzeichen',
    },
    noInformation: 'Keine Informationen verfügbar',
    incomplete: 'Unvollständig: Einträge einer anderen Organisation waren nicht erreichbar.',
    unknownMedication: 'Unbekanntes Medikament',
    columns: {
      item: {
        medications: 'Medikament',
        allergies: 'Substanz',
        problems: 'Problem',
        immunizations: 'Impfstoff',
        procedures: 'Eingriff',
        devices: 'Gerät',
        results: 'Untersuchung',
        vitalSigns: 'Messung',
      },
      status: 'Status',
      value: 'Ergebnis',
      date: 'Datum',
    },
    patient: { name: 'Name', birthDate: 'Geburtsdatum', gender: 'Geschlecht' },
  },
  fr: {
    documentTitle: 'Résumé patient international',
    sections: {
      medications: 'Traitements',
      allergies: 'Allergies et intolérances',
      problems: 'Liste des problèmes',
      immunizations: 'Vaccinations',
      procedures: 'Antécédents d’interventions',
      devices: 'Dispositifs médicaux',
      results: 'Résultats d’examens',
      vitalSigns: 'Signes vitaux',
    },
    noInformation: 'Aucune information disponible',
    incomplete: 'Incomplet : les données conservées par une autre organisation étaient inaccessibles.',
    unknownMedication: 'Médicament inconnu',
    columns: {
      item: {
        medications: 'Médicament',
        allergies: 'Substance',
        problems: 'Problème',
        immunizations: 'Vaccin',
        procedures: 'Intervention',
        devices: 'Dispositif',
        results: 'Examen',
        vitalSigns: 'Mesure',
      },
      status: 'Statut',
      value: 'Résultat',
      date: 'Date',
    },
    patient: { name: 'Nom', birthDate: 'Date de naissance', gender: 'Sexe' },
  },
  es: {
    documentTitle: 'Resumen internacional del paciente',
    sections: {
      medications: 'Resumen de medicación',
      allergies: 'Alergias e intolerancias',
      problems: 'Lista de problemas',
      immunizations: 'Vacunas',
      procedures: 'Historial de procedimientos',
      devices: 'Dispositivos médicos',
      results: 'Resultados diagnósticos',
      vitalSigns: 'Signos vitales',
    },
    noInformation: 'No hay información disponible',
    incomplete: 'Incompleto: no se pudo acceder a los registros de otra organización.',
    unknownMedication: 'Medicamento desconocido',
    columns: {
      item: {
        medications: 'Medicamento',
        allergies: 'Sustancia',
        problems: 'Problema',
        immunizations: 'Vacuna',
        procedures: 'Procedimiento',
        devices: 'Dispositivo',
        results: 'Prueba',
        vitalSigns: 'Medición',
      },
      status: 'Estado',
      value: 'Resultado',
      date: 'Fecha',
    },
    patient: { name: 'Nombre', birthDate: 'Fecha de nacimiento', gender: 'Sexo' },
  },
};

/** The words of `language`. */
export function labelsFor(language: SummaryLanguage): SummaryLabels {
  return LABELS[language];
}

function isSummaryLanguage(value: string): value is SummaryLanguage {
  return (SUMMARY_LANGUAGES as readonly string[]).includes(value);
}

/** Longest `Accept-Language` header parsed; a longer one is cut (it is a preference, not data). */
const MAX_HEADER_CHARS = 1000;

/**
 * The summary language an `Accept-Language` header prefers (RFC 9110 §12.5.4): the supported
 * language with the highest q-value (ties: the earlier one), matched on the primary subtag
 * (`de-CH` → `de`); `q=0` excludes; anything unparseable, unsupported or absent gives `en`.
 *
 * @example
 * languageFromAcceptLanguage('fr-CH, fr;q=0.9, en;q=0.8'); // 'fr'
 * languageFromAcceptLanguage('ja, de;q=0.5'); // 'de'
 */
export function languageFromAcceptLanguage(header: string | undefined): SummaryLanguage {
  if (header === undefined) return 'en';
  let best: { language: SummaryLanguage; q: number } | undefined;
  for (const part of header.slice(0, MAX_HEADER_CHARS).split(',')) {
    const [range = '', ...params] = part.trim().split(';');
    const primary = range.trim().toLowerCase().split('-')[0] ?? '';
    let q = 1;
    for (const param of params) {
      const match = /^\s*q\s*=\s*([01](?:\.\d{0,3})?)\s*$/i.exec(param);
      if (match?.[1] !== undefined) q = Number(match[1]);
    }
    if (q <= 0 || q > 1) continue;
    const language: SummaryLanguage | undefined =
      primary === '*' ? 'en' : isSummaryLanguage(primary) ? primary : undefined;
    if (language !== undefined && (best === undefined || q > best.q)) best = { language, q };
  }
  return best?.language ?? 'en';
}
