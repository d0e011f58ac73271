/**
 * Latency probes of `npm run bench:scale`: a practitioner of the node's organization reads,
 * searches and gathers `$everything` over the whole population (a different resource or patient
 * on every request, so the figures are those of a store larger than the page cache's hot set,
 * not of one row read again), closed loop with autocannon.
 */
import autocannon from 'autocannon';

export interface ProbeOptions {
  readonly fhirUrl: string;
  readonly token: string;
  /** Paths under /fhir/R4, one picked at random per request. */
  readonly paths: readonly string[];
  readonly connections: number;
  readonly seconds: number;
}

export interface ProbeResult {
  readonly p50: number;
  readonly p99: number;
  readonly perS: number;
}

/** Fails on any non-2xx answer: a latency of refused requests would measure nothing. */
export async function probe(options: ProbeOptions): Promise<ProbeResult> {
  const { paths } = options;
  const result = await autocannon({
    url: options.fhirUrl,
    headers: { authorization: `Bearer ${options.token}` },
    connections: options.connections,
    duration: options.seconds,
    timeout: 30,
    requests: [
      {
        setupRequest: (request) => ({
          ...request,
          path: `/fhir/R4/${paths[Math.floor(Math.random() * paths.length)]!}`,
        }),
      },
    ],
  });
  if (result.non2xx > 0 || result.errors > 0 || result.timeouts > 0)
    throw new Error(
      `probe ${paths[0] ?? ''}…: ${result.non2xx} non-2xx answers, ${result.errors} errors, ${result.timeouts} timeouts`,
    );
  // No answer within the probe's seconds (a very busy machine): no latency to report (null in JSON).
  if (result['2xx'] === 0) return { p50: NaN, p99: NaN, perS: 0 };
  return { p50: result.latency.p50, p99: result.latency.p99, perS: result['2xx'] / result.duration };
}

/** A uniform sample of at most `size` of the values offered (reservoir sampling). */
export class Sample<T> {
  private readonly items: T[] = [];
  private seen = 0;
  constructor(private readonly size: number) {}

  offer(item: T): void {
    this.seen += 1;
    if (this.items.length < this.size) this.items.push(item);
    else {
      const slot = Math.floor(Math.random() * this.seen);
      if (slot < this.size) this.items[slot] = item;
    }
  }

  get values(): readonly T[] {
    return this.items;
  }
}

/** What bench:scale probes on a filled node (and bench:scale-reprobe again on a kept folder). */
export interface ScaleProbeOptions {
  readonly fhirUrl: string;
  readonly token: string;
  readonly seconds: number;
  /** Connections of the read and search probes; `$everything` uses half. */
  readonly connections: number;
  /** `Type/id` of resources to read. */
  readonly resources: readonly string[];
  /** Patient ids to search the Observations of. */
  readonly searchable: readonly string[];
  /** `Patient/<id>` of the patient whose `$everything` is gathered. */
  readonly everything: string;
  /** Resources that patient holds (the `_count` of its `$everything`). */
  readonly everythingResources: number;
}

/** Read by id, patient search and `$everything`, one after the other. */
export async function probeScale(
  options: ScaleProbeOptions,
): Promise<{ read: ProbeResult; search: ProbeResult; whole: ProbeResult }> {
  const { connections } = options;
  const common = { fhirUrl: options.fhirUrl, token: options.token, seconds: options.seconds };
  const read = await probe({ ...common, paths: options.resources, connections });
  const search = await probe({
    ...common,
    paths: options.searchable.map((id) => `Observation?patient=${id}&_count=50`),
    connections,
  });
  const whole = await probe({
    ...common,
    paths: [`${options.everything}/$everything?_count=${options.everythingResources}`],
    connections: Math.max(1, connections / 2),
  });
  return { read, search, whole };
}
