/**
 * A worker thread of `ValidationPool`: loads the R4 definitions once, then answers each batch of
 * resources with `validateFhirResource`'s result for each, in order.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
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
collectLoadGarbage();
port.on('message', ({ id, resources }: ValidationRequest) => {
  port.postMessage({ id, results: resources.map((resource) => validateFhirResource(resource)) });
});

/**
 * One full garbage collection after the definitions are loaded. Loading parses ~45 MB of JSON,
 * of which ~10 MB stays; the rest is garbage in the old generation that a worker which then only
 * validates small resources may never collect, and whose pages stay committed: measured, one
 * worker cost the process 215–260 MB of RSS without this, 70–85 MB with it (and the smaller young
 * generation the pool gives the worker). Node exposes no `gc()` to a worker without the
 * process-wide `--expose-gc`; turning that V8 flag on now only gives new contexts a `gc`
 * function (the way Jest's `--logHeapUsage` calls it), which is taken from a throwaway context.
 * If a Node version refuses, the worker only keeps the garbage.
 */
function collectLoadGarbage(): void {
  try {
    setFlagsFromString('--expose-gc');
    (runInNewContext('gc') as () => void)();
  } catch {
    // Not essential: the worker validates the same without it.
  }
}
