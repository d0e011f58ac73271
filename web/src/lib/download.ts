/** Files the app hands to the user (a FHIR export, a patient summary), made in the browser. */

/** Saves `value` as a FHIR JSON file (`application/fhir+json`) named `fileName`, through a download link. */
export function downloadFhirJson(fileName: string, value: unknown): void {
  const blob = new Blob([JSON.stringify(value, null, 2)], { type: 'application/fhir+json' });
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = fileName;
  link.click();
  // The click starts the download from the URL; it is released once the browser has it.
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
