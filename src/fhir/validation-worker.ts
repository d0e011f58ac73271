/**
 * A worker thread of `ValidationPool`: loads the R4 definitions once, then answers each batch of
 * resources with `validateFhirResource`'s result for each, in order.
 */
import { parentPort } from 'node:worker_threads';
import { loadFhirDefinitions, validateFhirResource } from './validation.js';

/** A batch sent to the worker. */
export interface ValidationRequest {
  readonly id: number;
  readonly resources: readonly unknown[];
}

if (parentPort === null) throw new Error('validation-worker.ts runs only as a worker thread');
const port = parentPort;
loadFhirDefinitions();
port.on('message', ({ id, resources }: ValidationRequest) => {
  port.postMessage({ id, results: resources.map((resource) => validateFhirResource(resource)) });
});
