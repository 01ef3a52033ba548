/**
 * sharedb's database for shared documents: memory only (never disk: a conference's notes are
 * confidential and die with it), one entry per open document, forgotten entirely on `drop`.
 *
 * sharedb's own MemoryDB keeps every document and every op forever and has no delete; this one
 * writes only documents that were `open`ed (so nothing a client names can make an entry), keeps
 * the last `maxOps` ops of each (enough to transform a late op or catch up a brief disconnection),
 * and removes an entry with everything in it when its conference ends.
 */
import ShareDB from 'sharedb';

type Callback = (...args: any[]) => void;

interface StoredSnapshot {
  v: number;
  type: string | null;
  data: unknown;
  m: unknown;
}

interface StoredOp {
  v: number;
  src?: string;
  seq?: number;
  m?: unknown;
  [key: string]: unknown;
}

interface Entry {
  snapshot: StoredSnapshot | undefined;
  /** Version of the current snapshot (= the version of the next op). */
  version: number;
  /** The most recent ops, oldest first; `ops[0]` has version `firstOp`. */
  ops: StoredOp[];
  firstOp: number;
}

function later(callback: Callback, ...args: unknown[]): void {
  process.nextTick(callback, ...args);
}

export class DocumentStore extends ShareDB.DB {
  private readonly entries = new Map<string, Entry>();

  /**
   * @param collection the only collection served.
   * @param maxOps ops kept per document for transforms and catch-up. Default 1000.
   */
  constructor(private readonly collection: string, private readonly maxOps = 1000) {
    super();
  }

  /** Makes room for document `id`; before this (and after `drop`) nothing about it is stored. */
  open(id: string): void {
    if (!this.entries.has(id)) this.entries.set(id, { snapshot: undefined, version: 0, ops: [], firstOp: 0 });
  }

  /** Forgets document `id`: its snapshot, its ops, its entry. */
  drop(id: string): void {
    this.entries.delete(id);
  }

  /** Whether anything is stored for `id` (tests check that an ended conference left nothing). */
  holds(id: string): boolean {
    return this.entries.has(id);
  }

  get size(): number {
    return this.entries.size;
  }

  private entry(collection: string, id: string): Entry | undefined {
    return collection === this.collection ? this.entries.get(id) : undefined;
  }

  override commit(collection: string, id: string, op: StoredOp, snapshot: StoredSnapshot, _options: unknown, callback: Callback): void {
    const entry = this.entry(collection, id);
    if (!entry) return later(callback, new Error('no such document'));
    // sharedb retries on `false` after loading the newer snapshot (optimistic concurrency).
    if (snapshot.v !== entry.version + 1) return later(callback, null, false);
    entry.ops.push(structuredClone(op));
    entry.snapshot = snapshot.type ? structuredClone(snapshot) : undefined;
    entry.version = snapshot.v;
    const excess = entry.ops.length - this.maxOps;
    if (excess > 0) {
      entry.ops.splice(0, excess);
      entry.firstOp += excess;
    }
    later(callback, null, true);
  }

  override getSnapshot(collection: string, id: string, fields: { $submit?: boolean } | null, options: { metadata?: boolean } | null, callback: Callback): void {
    const withMeta = Boolean(fields?.$submit || options?.metadata);
    const entry = this.entry(collection, id);
    const stored = entry?.snapshot;
    const snapshot = stored
      ? { id, v: stored.v, type: stored.type, data: structuredClone(stored.data), m: withMeta ? structuredClone(stored.m) : null }
      : { id, v: entry?.version ?? 0, type: null, data: undefined, m: null };
    later(callback, null, snapshot);
  }

  override getOps(collection: string, id: string, from: number | null, to: number | null, options: { metadata?: boolean } | null, callback: Callback): void {
    const entry = this.entry(collection, id);
    if (!entry) return later(callback, null, []);
    const start = from ?? 0;
    const end = to ?? entry.version;
    if (start < entry.firstOp) return later(callback, new Error('Missing ops: older changes are no longer kept'));
    const ops = entry.ops.slice(start - entry.firstOp, end - entry.firstOp).map((op) => {
      const copy = structuredClone(op);
      if (!options?.metadata) delete copy.m;
      return copy;
    });
    later(callback, null, ops);
  }

  override getCommittedOpVersion(collection: string, id: string, _snapshot: unknown, op: StoredOp, _options: unknown, callback: Callback): void {
    const found = this.entry(collection, id)?.ops.findLast((o) => o.src === op.src && o.seq === op.seq);
    later(callback, null, found?.v);
  }

  override query = (_collection: string, _query: unknown, _fields: unknown, _options: unknown, callback: Callback): void => {
    later(callback, new Error('queries are not served'));
  };

  override close(callback?: (err?: Error) => void): void {
    this.entries.clear();
    if (callback) later(callback);
  }
}
