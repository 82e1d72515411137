// Where submissions are kept: SQLite (Node's built-in node:sqlite) in
// $DATA_DIR/submissions.sqlite3 (DATA_DIR defaults to ./data; deploy/ mounts a volume there).
// The Python form keeps the same table in the same file, so either stack reads the other's data.
// Swap in a real database by implementing SubmissionStore.
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import type { Env } from './config.ts';
import type { SubmissionInput } from './validation.ts';

export type Status = 'pending' | 'approved' | 'rejected';

export interface Person {
  sub: string;
  name: string;
}

export interface Submission extends SubmissionInput {
  id: string;
  status: Status;
  submittedBy: Person;
  submittedAt: string;
  decidedBy: Person | null;
  decidedAt: string | null;
  note: string;
}

/** The submission was decided by someone else in the meantime. */
export class AlreadyDecided extends Error {
  override name = 'AlreadyDecided';
}

export interface SubmissionStore {
  create(input: SubmissionInput, by: Person): Promise<Submission>;
  /** Newest first; only `submittedBy` when given. */
  list(submittedBy?: string): Promise<Submission[]>;
  get(id: string): Promise<Submission | null>;
  /** Atomically moves a pending submission to approved/rejected; throws AlreadyDecided otherwise. */
  decide(id: string, status: Exclude<Status, 'pending'>, by: Person, note: string): Promise<Submission>;
  close(): void;
}

/** DATA_DIR: the one directory the app writes to (see CONTRACT.md). */
export function dataDir(env: Env): string {
  return resolve(env.DATA_DIR?.trim() || 'data');
}

export const SCHEMA = `
CREATE TABLE IF NOT EXISTS submissions (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    amount TEXT NOT NULL,
    category TEXT NOT NULL,
    details TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',
    submitted_by TEXT NOT NULL,
    submitted_by_name TEXT NOT NULL,
    submitted_at TEXT NOT NULL,
    decided_by TEXT,
    decided_by_name TEXT,
    decided_at TEXT,
    note TEXT NOT NULL DEFAULT ''
)`;

type Row = Record<string, string | null>;

function toSubmission(r: Row): Submission {
  return {
    id: r.id!,
    title: r.title!,
    amount: r.amount!,
    category: r.category as Submission['category'],
    details: r.details!,
    status: r.status as Status,
    submittedBy: { sub: r.submitted_by!, name: r.submitted_by_name! },
    submittedAt: r.submitted_at!,
    decidedBy: r.decided_by ? { sub: r.decided_by, name: r.decided_by_name ?? r.decided_by } : null,
    decidedAt: r.decided_at ?? null,
    note: r.note ?? '',
  };
}

export class SqliteStore implements SubmissionStore {
  #db: DatabaseSync;

  constructor(path: string) {
    if (path !== ':memory:') mkdirSync(resolve(path, '..'), { recursive: true });
    this.#db = new DatabaseSync(path);
    this.#db.exec('PRAGMA busy_timeout = 5000');
    this.#db.exec(SCHEMA);
  }

  static inDataDir(env: Env): SqliteStore {
    return new SqliteStore(join(dataDir(env), 'submissions.sqlite3'));
  }

  async create(input: SubmissionInput, by: Person): Promise<Submission> {
    const id = randomUUID();
    this.#db
      .prepare(
        'INSERT INTO submissions (id, title, amount, category, details, submitted_by, submitted_by_name, submitted_at)' +
          ' VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
      )
      .run(id, input.title, input.amount, input.category, input.details, by.sub, by.name, new Date().toISOString());
    return (await this.get(id))!;
  }

  async list(submittedBy?: string): Promise<Submission[]> {
    const rows =
      submittedBy === undefined
        ? this.#db.prepare('SELECT * FROM submissions ORDER BY rowid DESC').all()
        : this.#db.prepare('SELECT * FROM submissions WHERE submitted_by = ? ORDER BY rowid DESC').all(submittedBy);
    return (rows as Row[]).map(toSubmission);
  }

  async get(id: string): Promise<Submission | null> {
    const row = this.#db.prepare('SELECT * FROM submissions WHERE id = ?').get(id) as Row | undefined;
    return row ? toSubmission(row) : null;
  }

  async decide(id: string, status: Exclude<Status, 'pending'>, by: Person, note: string): Promise<Submission> {
    const changed = this.#db
      .prepare(
        "UPDATE submissions SET status = ?, decided_by = ?, decided_by_name = ?, decided_at = ?, note = ? WHERE id = ? AND status = 'pending'",
      )
      .run(status, by.sub, by.name, new Date().toISOString(), note, id);
    const s = await this.get(id);
    if (!s) throw new Error(`no submission ${id}`);
    if (Number(changed.changes) !== 1) throw new AlreadyDecided(`submission is already ${s.status}`);
    return s;
  }

  close(): void {
    this.#db.close();
  }
}
