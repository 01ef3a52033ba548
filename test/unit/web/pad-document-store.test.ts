import assert from 'node:assert/strict';
import { DocumentStore } from '../../../web/server/pad/document-store.ts';

type Snapshot = { id: string; v: number; type: string | null; data: unknown; m: unknown };

function call<T>(fn: (callback: (err: Error | null, value?: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => fn((err, value) => (err ? reject(err) : resolve(value as T))));
}

const TYPE = 'http://sharejs.org/types/rich-text/v1';

async function commitVersions(store: DocumentStore, id: string, count: number): Promise<void> {
  for (let v = 0; v < count; v++) {
    const op = { v, src: 'c', seq: v + 1, ...(v === 0 ? { create: { type: TYPE, data: [] } } : { op: [{ insert: `${v}` }] }), m: { ts: v } };
    const ok = await call<boolean>((cb) => store.commit('pad', id, op, { v: v + 1, type: TYPE, data: { ops: [{ insert: `text ${v}\n` }] }, m: { mtime: v } }, {}, cb));
    assert.equal(ok, true);
  }
}

describe('web/server/pad/document-store (memory-only sharedb database)', () => {
  it('stores nothing for a document it was not asked to open, whatever a client names', async () => {
    const store = new DocumentStore('pad');
    await assert.rejects(call((cb) => store.commit('pad', 'unknown', { v: 0, create: {} }, { v: 1, type: TYPE, data: [], m: null }, {}, cb)), /no such document/);
    const snapshot = await call<Snapshot>((cb) => store.getSnapshot('pad', 'unknown', null, null, cb));
    assert.deepEqual([snapshot.v, snapshot.type], [0, null]);
    assert.deepEqual(await call((cb) => store.getOps('other', 'unknown', 0, null, null, cb)), []);
    assert.equal(store.size, 0);
  });

  it('keeps snapshots and ops of an open document, with metadata only when asked', async () => {
    const store = new DocumentStore('pad');
    store.open('d1');
    await commitVersions(store, 'd1', 3);
    const plain = await call<Snapshot>((cb) => store.getSnapshot('pad', 'd1', null, null, cb));
    assert.deepEqual(plain, { id: 'd1', v: 3, type: TYPE, data: { ops: [{ insert: 'text 2\n' }] }, m: null });
    const withMeta = await call<Snapshot>((cb) => store.getSnapshot('pad', 'd1', { $submit: true }, null, cb));
    assert.deepEqual(withMeta.m, { mtime: 2 });
    const ops = await call<{ v: number; m?: unknown }[]>((cb) => store.getOps('pad', 'd1', 1, null, null, cb));
    assert.deepEqual(ops.map((o) => [o.v, 'm' in o]), [[1, false], [2, false]]);
    // sharedb retries a commit whose base version is stale.
    assert.equal(await call<boolean>((cb) => store.commit('pad', 'd1', { v: 1 }, { v: 2, type: TYPE, data: [], m: null }, {}, cb)), false);
  });

  it('returns copies: changing what it returned changes nothing stored', async () => {
    const store = new DocumentStore('pad');
    store.open('d1');
    await commitVersions(store, 'd1', 1);
    const first = await call<Snapshot>((cb) => store.getSnapshot('pad', 'd1', null, null, cb));
    (first.data as { ops: unknown[] }).ops.push({ insert: 'mutated' });
    const second = await call<Snapshot>((cb) => store.getSnapshot('pad', 'd1', null, null, cb));
    assert.deepEqual(second.data, { ops: [{ insert: 'text 0\n' }] });
  });

  it('keeps only the last maxOps ops and says which are gone', async () => {
    const store = new DocumentStore('pad', { maxOps: 3 });
    store.open('d1');
    await commitVersions(store, 'd1', 5);
    const kept = await call<{ v: number }[]>((cb) => store.getOps('pad', 'd1', 2, 5, null, cb));
    assert.deepEqual(kept.map((o) => o.v), [2, 3, 4]);
    await assert.rejects(call((cb) => store.getOps('pad', 'd1', 1, null, null, cb)), /Missing ops/);
    assert.equal(await call((cb) => store.getCommittedOpVersion('pad', 'd1', null, { v: 0, src: 'c', seq: 4 }, null, cb)), 3);
  });

  it('bounds the op log by the size of its ops too, dropping the oldest and keeping at least the newest', async () => {
    const store = new DocumentStore('pad', { maxOps: 1000, maxOpChars: 10_000 });
    store.open('d1');
    const paste = (v: number, chars: number) => ({ v, src: 'c', seq: v + 1, op: [{ insert: 'x'.repeat(chars) }], m: { ts: v } });
    const snapshot = (v: number) => ({ v, type: TYPE, data: { ops: [{ insert: '\n' }] }, m: null });
    for (let v = 0; v < 10; v++) assert.equal(await call<boolean>((cb) => store.commit('pad', 'd1', paste(v, 3000), snapshot(v + 1), {}, cb)), true);
    const log = store.opLog('d1')!;
    assert.equal(log.ops, 3, 'three 3000-character ops fit in 10000 characters, a fourth does not');
    assert.ok(log.chars <= 10_000, `${log.chars} characters kept`);
    assert.deepEqual((await call<{ v: number }[]>((cb) => store.getOps('pad', 'd1', 7, null, null, cb))).map((o) => o.v), [7, 8, 9]);
    await assert.rejects(call((cb) => store.getOps('pad', 'd1', 6, null, null, cb)), /Missing ops/);

    // One op larger than the whole bound is still kept alone: a late op can be transformed against it.
    await call((cb) => store.commit('pad', 'd1', paste(10, 50_000), snapshot(11), {}, cb));
    assert.deepEqual(store.opLog('d1'), { ops: 1, chars: JSON.stringify(paste(10, 50_000)).length, firstOp: 10 });
  });

  it('hands out ops whose changes never reach what it stores', async () => {
    const store = new DocumentStore('pad');
    store.open('d1');
    await commitVersions(store, 'd1', 3);
    const [first] = await call<{ v: number; c?: string; op: { insert: string }[] }[]>((cb) => store.getOps('pad', 'd1', 1, 2, null, cb));
    // sharedb sets an op's own fields on what it is handed; the content is shared, frozen.
    first!.c = 'pad';
    first!.v = 99;
    assert.throws(() => first!.op.push({ insert: 'mutated' }), TypeError);
    assert.throws(() => { first!.op[0]!.insert = 'mutated'; }, TypeError);
    const [again] = await call<{ v: number; c?: string; op: { insert: string }[] }[]>((cb) => store.getOps('pad', 'd1', 1, 2, { metadata: true }, cb));
    assert.deepEqual(again, { v: 1, src: 'c', seq: 2, op: [{ insert: '1' }], m: { ts: 1 } });
  });

  it('forgets everything of a dropped document and refuses later writes to it', async () => {
    const store = new DocumentStore('pad');
    store.open('d1');
    store.open('d2');
    await commitVersions(store, 'd1', 2);
    store.drop('d1');
    assert.equal(store.holds('d1'), false);
    assert.equal(store.holds('d2'), true);
    assert.equal(store.size, 1);
    const snapshot = await call<Snapshot>((cb) => store.getSnapshot('pad', 'd1', null, null, cb));
    assert.deepEqual([snapshot.v, snapshot.type, snapshot.data], [0, null, undefined]);
    assert.deepEqual(await call((cb) => store.getOps('pad', 'd1', 0, null, null, cb)), []);
    await assert.rejects(call((cb) => store.commit('pad', 'd1', { v: 2 }, { v: 3, type: TYPE, data: [], m: null }, {}, cb)), /no such document/);
    assert.equal(store.holds('d1'), false);
  });
});
