/**
 * Group commit for the write path: the requests that reach one step within the same event-loop
 * turn (e.g. the creates whose bodies arrived together, or whose anchors committed in the same
 * block) are handed to that step together, so they share one SQLite transaction, one fsync and
 * one ledger submission instead of paying one each.
 */

/** The answer of a batch step for one item: its value or its own error. */
export type Settled<T> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: unknown };

interface Waiting<I, O> {
  readonly item: I;
  readonly resolve: (value: O) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Collects the items `add`ed during one event-loop turn and runs `step` once over all of them
 * (on `setImmediate`, after the I/O callbacks of the turn). `step` answers one `Settled` per item,
 * in order; when `step` itself throws, every item of the batch gets that error.
 *
 * @example
 * const commits = new TurnBatch((groups: Row[][]) => db.durably(() => groups.map(write)));
 * await commits.add(rows); // one durable commit shared with the writes of the same turn
 */
export class TurnBatch<I, O> {
  private waiting: Waiting<I, O>[] = [];

  constructor(private readonly step: (items: readonly I[]) => Promise<Settled<O>[]> | Settled<O>[]) {}

  /** Runs `item` through the step with the other items of this turn. */
  add(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      if (this.waiting.length === 0) setImmediate(() => void this.run());
      this.waiting.push({ item, resolve, reject });
    });
  }

  private async run(): Promise<void> {
    const batch = this.waiting;
    this.waiting = [];
    let answers: Settled<O>[];
    try {
      answers = await this.step(batch.map((w) => w.item));
      if (answers.length !== batch.length)
        throw new Error(`a batch step answered ${answers.length} results for ${batch.length} items`);
    } catch (error) {
      for (const w of batch) w.reject(error);
      return;
    }
    batch.forEach((w, i) => {
      const answer = answers[i]!;
      if (answer.ok) w.resolve(answer.value);
      else w.reject(answer.error);
    });
  }
}

/** `fn()` as a Settled value. */
export function settle<T>(fn: () => T): Settled<T> {
  try {
    return { ok: true, value: fn() };
  } catch (error) {
    return { ok: false, error };
  }
}
