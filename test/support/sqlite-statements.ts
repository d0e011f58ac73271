/**
 * What SQLite work a piece of code does, seen from outside: every better-sqlite3 statement run
 * (`run`, `get`, `all`, `iterate`) while a recorder is on is noted with its SQL and its file, and
 * each SQL can be explained (`EXPLAIN QUERY PLAN`) on a connection of its own. Tests use it to
 * assert that a request's queries reach their rows through an index (no walk of a table that grows
 * with the node) and that the number of statements a request runs is bounded.
 */
import Database from 'better-sqlite3';

/** One statement run: its SQL and the file of its connection. */
export interface StatementRun {
  readonly sql: string;
  readonly file: string;
}

const METHODS = ['run', 'get', 'all', 'iterate'] as const;

/**
 * Notes every statement run while on (see the module comment). Install it before the code under
 * test prepares its statements or not: the methods are those of every statement.
 *
 * @example
 * const recorder = StatementRecorder.install();
 * const runs = await recorder.during(() => fetchSomething());
 * recorder.uninstall();
 */
export class StatementRecorder {
  private runs: StatementRun[] | undefined;
  private readonly originals = new Map<string, (...args: unknown[]) => unknown>();
  private readonly prototype: Record<string, unknown>;

  private constructor() {
    const scratch = new Database(':memory:');
    this.prototype = Object.getPrototypeOf(scratch.prepare('SELECT 1')) as Record<string, unknown>;
    scratch.close();
    const note = (run: StatementRun) => this.runs?.push(run);
    for (const method of METHODS) {
      const original = this.prototype[method] as (...args: unknown[]) => unknown;
      this.originals.set(method, original);
      this.prototype[method] = function (this: Database.Statement, ...args: unknown[]) {
        note({ sql: this.source, file: this.database.name });
        return original.apply(this, args);
      };
    }
  }

  static install(): StatementRecorder {
    return new StatementRecorder();
  }

  /** The statements run while `work` runs (awaited). */
  async during(work: () => Promise<unknown>): Promise<StatementRun[]> {
    const runs: StatementRun[] = [];
    this.runs = runs;
    try {
      await work();
    } finally {
      this.runs = undefined;
    }
    return runs;
  }

  uninstall(): void {
    for (const [method, original] of this.originals) this.prototype[method] = original;
  }
}

/**
 * The query plan lines (`EXPLAIN QUERY PLAN`'s `detail`) of `sql` in the SQLite file `file`,
 * its `?` parameters bound to NULL (the plan does not depend on their values).
 */
export function queryPlan(file: string, sql: string): string[] {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const parameters = (sql.match(/\?/g) ?? []).map(() => null);
    return db
      .prepare<unknown[], { detail: string }>(`EXPLAIN QUERY PLAN ${sql}`)
      .all(...parameters)
      .map((row) => row.detail);
  } finally {
    db.close();
  }
}
