// The verdict book against a model of the kernel's side (nfqnl_recv_verdict and
// nfqnl_recv_verdict_batch in net/netfilter/nfnetlink_queue.c): a single verdict judges its id, a
// batch verdict judges every queued packet with an id up to its own. The model is the test's.
import { NF_ACCEPT, NF_DROP, NFQNL_MSG_VERDICT, NFQNL_MSG_VERDICT_BATCH } from '../../src/constants';
import { VerdictBook, VerdictError } from '../../src/nfqueue/verdict-book';
import { prng } from '../helpers/route-fixture';

class KernelQueue {
  queued: number[] = [];
  judged = new Map<number, { verdict: number; mark?: number }>();
  order: number[] = [];
  batches = 0;
  apply(type: number, verdict: number, id: number, mark?: number): void {
    // A batch judges the queued packets up to the first one after `id` (nfq_id_after: wrap-safe).
    const stop = this.queued.findIndex((q) => ((q - id) | 0) > 0);
    const take = type === NFQNL_MSG_VERDICT_BATCH ? this.queued.slice(0, stop < 0 ? undefined : stop) : this.queued.filter((q) => q === id);
    if (take.length === 0) throw new Error(`ENOENT: verdict for ${id}, queued ${this.queued}`);
    if (type === NFQNL_MSG_VERDICT_BATCH) this.batches++;
    for (const q of take) {
      this.judged.set(q, mark === undefined ? { verdict } : { verdict, mark });
      this.order.push(q);
    }
    this.queued = this.queued.filter((q) => !take.includes(q));
  }
}

describe('VerdictBook', () => {
  it('judges every packet by its own decision, in any decision order, in delivery order within the decided prefix (1000 seeded runs; ids with gaps, some wrapping past 2^32)', () => {
    for (let seed = 1; seed <= 1000; seed++) {
      const rnd = prng(seed);
      const book = new VerdictBook();
      const k = new KernelQueue();
      const decided = new Map<number, { verdict: number; mark?: number }>();
      // Some runs start just below the u32 wrap; ids skip now and then (packets the kernel did not deliver).
      let next = seed % 3 === 0 ? 0xfffffff0 : 1;
      for (let step = 0; step < 30; step++) {
        const r = rnd();
        if (r < 0.4) {
          book.deliver(0, next);
          k.queued.push(next);
          next = (next + (rnd() < 0.25 ? 2 + Math.floor(rnd() * 3) : 1)) >>> 0;
        } else if (r < 0.85) {
          const open = k.queued.filter((id) => !decided.has(id));
          if (open.length === 0) continue;
          const id = open[Math.floor(rnd() * open.length)];
          const d = rnd() < 0.2 ? { verdict: NF_ACCEPT, mark: 7 } : { verdict: rnd() < 0.7 ? NF_ACCEPT : NF_DROP };
          decided.set(id, d);
          book.decide(0, id, d.verdict, 'mark' in d ? { mark: d.mark } : undefined);
        } else {
          const before = k.order.length;
          const firstOpen = k.queued.findIndex((id) => !decided.has(id));
          const prefix = new Set(firstOpen < 0 ? k.queued : k.queued.slice(0, firstOpen));
          const n = book.flush((type, queue, verdict, id, extras) => {
            expect(queue).toBe(0);
            k.apply(type, verdict, id, extras?.mark);
          });
          expect(n).toBe(k.order.length - before);
          // Nothing undecided was judged, and every decision reached the kernel as made.
          for (const [id, v] of k.judged) expect([id, v]).toEqual([id, decided.get(id)]);
          expect([...decided.keys()].filter((id) => !k.judged.has(id))).toEqual([]);
          const prefixOrder = k.order.slice(before).filter((id) => prefix.has(id));
          expect(prefixOrder).toEqual([...prefix]);
        }
      }
      expect(book.outstanding).toBe(k.queued.length);
    }
  });

  it('a run of one plain verdict over a decided prefix is one batch at its last id; a gap makes singles', () => {
    const book = new VerdictBook();
    for (let id = 10; id < 16; id++) book.deliver(3, id);
    const sent: [number, number, number][] = [];
    const sink = (type: number, _q: number, verdict: number, id: number) => void sent.push([type, verdict, id]);
    for (const id of [10, 11, 12, 14, 15]) book.decide(3, id, NF_ACCEPT);
    expect(book.flush(sink)).toBe(5);
    expect(sent).toEqual([
      [NFQNL_MSG_VERDICT_BATCH, NF_ACCEPT, 12],
      [NFQNL_MSG_VERDICT, NF_ACCEPT, 14],
      [NFQNL_MSG_VERDICT, NF_ACCEPT, 15],
    ]);
    expect(() => book.decide(3, 14, NF_DROP)).toThrow(VerdictError);
    expect(() => book.decide(3, 99, NF_DROP)).toThrow(new VerdictError('packet 99 of queue 3 was not delivered, or is judged already'));
    book.decide(3, 13, NF_DROP);
    expect(() => book.decide(3, 13, NF_ACCEPT)).toThrow(new VerdictError('packet 13 of queue 3 is decided already'));
    sent.length = 0;
    expect(book.flush(sink)).toBe(1);
    expect(sent).toEqual([[NFQNL_MSG_VERDICT, NF_DROP, 13]]);
    expect(book.outstanding).toBe(0);
  });

  it('finds packets a fake kernel delivered out of id order', () => {
    const book = new VerdictBook();
    const ids = [40, 7, 41, 3, 100, 8];
    for (const id of ids) book.deliver(1, id);
    for (const id of [8, 3, 100, 40, 7, 41]) book.decide(1, id, NF_ACCEPT);
    expect(() => book.decide(1, 9, NF_ACCEPT)).toThrow(new VerdictError('packet 9 of queue 1 was not delivered, or is judged already'));
    expect(() => book.decide(1, 7, NF_ACCEPT)).toThrow(new VerdictError('packet 7 of queue 1 is decided already'));
    expect(book.decided).toBe(6);
    expect(book.outstanding).toBe(6);
  });

  it('grows past its first 64 slots with packets outstanding', () => {
    const book = new VerdictBook();
    for (let id = 1; id <= 200; id++) book.deliver(0, id);
    for (let id = 200; id >= 2; id--) book.decide(0, id, NF_ACCEPT);
    const sent: number[][] = [];
    expect(book.flush((type, _q, _v, id) => void sent.push([type, id]))).toBe(199);
    expect(sent).toHaveLength(199); // all after the undecided first: singles
    book.decide(0, 1, NF_DROP);
    expect(book.flush(() => undefined)).toBe(1);
    expect(book.outstanding).toBe(0);
  });

  it("deliver() answers how many ids the kernel skipped since the queue's last packet, across the u32 wrap", () => {
    const book = new VerdictBook();
    const ids = [7, 8, 11, 0xfffffffe, 0xffffffff, 1, 2];
    expect(ids.map((id) => book.deliver(0, id))).toEqual([0, 0, 2, 0xfffffffe - 12, 0, 1, 0]);
    expect([book.deliver(5, 100), book.deliver(5, 101), book.deliver(0, 4)]).toEqual([0, 0, 1]); // per queue
  });
});
