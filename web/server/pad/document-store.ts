/**
 * sharedb's database for shared documents: memory only (never disk: a conference's notes are
 * confidential and die with it), one entry per open document, forgotten entirely on `drop`.
 *
 * sharedb's own MemoryDB keeps every document and every op forever and has no delete; this one
 * writes only documents that were `open`ed (so nothing a client names can make an entry), keeps
 * the last ops of each (enough to transform a late op or catch up a brief disconnection), at most
 * `maxOps` of them and `maxOpChars` characters of their JSON together (one op can carry a
 * megabyte-long paste, so a count alone bounds nothing), and removes an entry with everything in
 * it when its conference ends.
 *
 * Stored ops are copied once on commit and frozen; reads hand out shallow copies sharing that
 * frozen content, so catching up a reconnecting client does not deep-copy the whole log each
 * time. sharedb rewrites only an op's own fields (v, c, d, m); the rich-text type copies what it
 * keeps (quill-delta's `push` clones), and its strict-mode code would throw rather than change a
 * frozen op.
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
  /** The most recent ops, oldest first, frozen; `ops[0]` has version `firstOp`. */
  ops: StoredOp[];
  /** The JSON length of each op in `ops`, in the same order. */
  sizes: number[];
  /** The sum of `sizes`. */
  opChars: number;
  firstOp: number;
}

export interface DocumentStoreLimits {
  /** Ops kept per document for transforms and catch-up. Default 1000. */
  maxOps?: number;
  /**
   * Characters of op JSON kept per document; the oldest ops go first, the newest always stays.
   * Default 8 Mi (8388608).
   */
  maxOpChars?: number;
}

function later(callback: Callback, ...args: unknown[]): void {
  process.nextTick(callback, ...args);
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

export class DocumentStore extends ShareDB.DB {
  private readonly entries = new Map<string, Entry>();
  private readonly maxOps: number;
  private readonly maxOpChars: number;

  /** @param collection the only collection served. */
  constructor(private readonly collection: string, limits: DocumentStoreLimits = {}) {
    super();
    this.maxOps = Math.max(1, limits.maxOps ?? 1000);
    this.maxOpChars = limits.maxOpChars ?? 8 * 1024 * 1024;
  }

  /** Makes room for document `id`; before this (and after `drop`) nothing about it is stored. */
  open(id: string): void {
    if (!this.entries.has(id)) this.entries.set(id, { snapshot: undefined, version: 0, ops: [], sizes: [], opChars: 0, firstOp: 0 });
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
    // One serialisation gives both the copy kept and its size (sharedb's ops are JSON by nature).
    const json = JSON.stringify(op);
    entry.ops.push(deepFreeze(JSON.parse(json) as StoredOp));
    entry.sizes.push(json.length);
    entry.opChars += json.length;
    entry.snapshot = snapshot.type ? structuredClone(snapshot) : undefined;
    entry.version = snapshot.v;
    let drop = 0;
    while (entry.ops.length - drop > 1 && (entry.ops.length - drop > this.maxOps || entry.opChars > this.maxOpChars)) {
      entry.opChars -= entry.sizes[drop]!;
      drop += 1;
    }
    if (drop > 0) {
      entry.ops.splice(0, drop);
      entry.sizes.splice(0, drop);
      entry.firstOp += drop;
    }
    later(callback, null, true);
  }

  /** Ops and characters of op JSON kept for `id` (tests check the bounds). */
  opLog(id: string): { ops: number; chars: number; firstOp: number } | undefined {
    const entry = this.entries.get(id);
    return entry && { ops: entry.ops.length, chars: entry.opChars, firstOp: entry.firstOp };
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
    // Shallow copies: sharedb sets an op's own fields on what it is given; the content stays shared and frozen.
    const ops = entry.ops.slice(start - entry.firstOp, end - entry.firstOp).map((op) => {
      if (options?.metadata) return { ...op };
      const { m: _m, ...rest } = op;
      return rest;
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
