/**
 * The metrics of the node's process (prom-client's default metrics): CPU, resident memory, heap
 * and heap spaces, event-loop lag, garbage collection, open handles and file descriptors.
 *
 * They describe the process, not one node: tests and benchmarks run several nodes in one process,
 * and prom-client's GC observer and event-loop monitor cannot be stopped once started. So they are
 * created once per process, in a registry of their own, and each node's registry registers the
 * same metric objects (see `NodeMetrics`): every node's `/metrics` shows them, no collector is
 * started twice, and none leaks with each node a test opens and closes.
 */
import { collectDefaultMetrics, Registry, type Metric } from 'prom-client';

/** How often the event-loop delay histogram samples (ms); prom-client's default. */
const EVENT_LOOP_MONITORING_PRECISION_MS = 10;

let processRegistry: Registry | undefined;

/** The process metrics (created at the first call), to register in a node's registry. */
export function processMetrics(): Metric[] {
  if (processRegistry === undefined) {
    processRegistry = new Registry();
    collectDefaultMetrics({
      register: processRegistry,
      eventLoopMonitoringPrecision: EVENT_LOOP_MONITORING_PRECISION_MS,
    });
  }
  // prom-client types these as plain `MetricObject`s; they are the Counter/Gauge/Histogram objects.
  return processRegistry.getMetricsAsArray() as unknown as Metric[];
}
