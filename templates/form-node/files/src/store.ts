// Where submissions are kept. In memory by default; set FORM_DATA_FILE to a
// JSON file path on a persistent volume to keep them across restarts.
// Swap in a real database by implementing SubmissionStore.
import { randomUUID } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
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
  list(): Promise<Submission[]>;
  get(id: string): Promise<Submission | null>;
  /** Atomically moves a pending submission to approved/rejected; throws AlreadyDecided otherwise. */
  decide(id: string, status: Exclude<Status, 'pending'>, by: Person, note: string): Promise<Submission>;
}

export class MemoryStore implements SubmissionStore {
  #items = new Map<string, Submission>();

  /** Replace the contents (newest first, as list() returns them). */
  restore(list: Submission[]): void {
    this.#items = new Map([...list].reverse().map((s) => [s.id, s]));
  }

  async create(input: SubmissionInput, by: Person): Promise<Submission> {
    const s: Submission = {
      ...input,
      id: randomUUID(),
      status: 'pending',
      submittedBy: { sub: by.sub, name: by.name },
      submittedAt: new Date().toISOString(),
      decidedBy: null,
      decidedAt: null,
      note: '',
    };
    this.#items.set(s.id, s);
    return structuredClone(s);
  }

  async list(): Promise<Submission[]> {
    return [...this.#items.values()].reverse().map((s) => structuredClone(s));
  }

  async get(id: string): Promise<Submission | null> {
    const s = this.#items.get(id);
    return s ? structuredClone(s) : null;
  }

  async decide(id: string, status: Exclude<Status, 'pending'>, by: Person, note: string): Promise<Submission> {
    const s = this.#items.get(id);
    if (!s) throw new Error(`no submission ${id}`);
    if (s.status !== 'pending') throw new AlreadyDecided(`submission is already ${s.status}`);
    s.status = status;
    s.decidedBy = { sub: by.sub, name: by.name };
    s.decidedAt = new Date().toISOString();
    s.note = note;
    return structuredClone(s);
  }
}

/** A JSON file, rewritten atomically (temp file + rename) after every change, one change at a time. */
export class JsonFileStore implements SubmissionStore {
  #path: string;
  #memory = new MemoryStore();
  #loaded: Promise<void> | null = null;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(path: string) {
    this.#path = path;
  }

  #load(): Promise<void> {
    this.#loaded ??= (async () => {
      let list: Submission[] = [];
      try {
        list = JSON.parse(await readFile(this.#path, 'utf8')) as Submission[];
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
      this.#memory.restore(list);
    })();
    return this.#loaded;
  }

  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(async () => {
      await this.#load();
      return fn();
    });
    this.#queue = run.catch(() => {});
    return run;
  }

  async #save(): Promise<void> {
    await mkdir(dirname(this.#path), { recursive: true });
    const tmp = `${this.#path}.${process.pid}.tmp`;
    await writeFile(tmp, JSON.stringify(await this.#memory.list(), null, 2), { mode: 0o600 });
    await rename(tmp, this.#path);
  }

  create(input: SubmissionInput, by: Person): Promise<Submission> {
    return this.#serial(async () => {
      const s = await this.#memory.create(input, by);
      await this.#save();
      return s;
    });
  }

  list(): Promise<Submission[]> {
    return this.#serial(() => this.#memory.list());
  }

  get(id: string): Promise<Submission | null> {
    return this.#serial(() => this.#memory.get(id));
  }

  decide(id: string, status: Exclude<Status, 'pending'>, by: Person, note: string): Promise<Submission> {
    return this.#serial(async () => {
      const s = await this.#memory.decide(id, status, by, note);
      await this.#save();
      return s;
    });
  }
}
