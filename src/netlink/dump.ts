/**
 * The dump engine: one dump request out, its reply datagrams in, each datagram walked once, and
 * NLM_F_DUMP_INTR's policy applied in one place. Everything that reads a dump is a sink on it:
 * `NetlinkSocket.dump()` (a copied message per record), `dumpBatches()` (a cursor per datagram),
 * the rtnetlink readers (records decoded in place) and the CLI's counts.
 *
 * The policy ({@link DumpInterruptPolicy}):
 * - `'retry'`: a pass that saw NLM_F_DUMP_INTR is done again (up to `retries` times, then
 *   {@link DumpInterruptedError}); the sink is told to forget the pass (`discard`), so a sink that
 *   hands records on holds them until `complete`.
 * - `'error'`: the first flagged record ends the dump with {@link DumpInterruptedError}.
 * - `'flag'`: records from the first flagged one on are given with `interrupted` set.
 * In kernel mode an overrun during the dump counts as an interruption too: the kernel's COPY path
 * drops a chunk that meets a busy head frame (docs/netlink-ring.md §2.4), so records may be missing.
 * @packageDocumentation
 */
import { NLM_F_DUMP_INTR, NLMSG_DONE, NLMSG_ERROR } from '../constants';
import { MalformedMessageError, MessageCursor, NetlinkError, NetlinkParseError, parseAck, parseDone } from './message';

/** How a dump treats NLM_F_DUMP_INTR (the table changed during the dump). */
export type DumpInterruptPolicy = 'retry' | 'error' | 'flag';

/** A dump that saw NLM_F_DUMP_INTR under the 'error' policy, or after every retry. */
export class DumpInterruptedError extends Error {
  readonly code = 'ERR_KRING_DUMP_INTERRUPTED';
  constructor(attempts: number) {
    super(`the dump was interrupted by concurrent changes (NLM_F_DUMP_INTR) ${attempts} time(s)`);
    this.name = 'DumpInterruptedError';
  }
}

/** What the engine needs from a socket: a dump request sent, and its reply datagrams routed back. */
export interface DumpPort {
  /** Sends `request` as a dump; every reply datagram goes to `handlers.datagram` until the returned stop runs. */
  sendDump(request: Uint8Array, handlers: DumpHandlers): () => void;
}

/** How a socket reports on a dump it runs for the engine. */
export interface DumpHandlers {
  /** A reply datagram, in place in the ring: valid during the call only. */
  datagram(data: Uint8Array): void;
  /** The kernel's ring overran meanwhile (kernel mode). */
  overran(): void;
  /** The request could not go out, or the socket gave up on it. */
  fail(e: unknown): void;
  /** The socket closed. */
  closed(): void;
}

/** A dump's consumer. Every call is synchronous; a throw ends the dump with that error. */
export interface DumpSink {
  /** A datagram's records follow (its view, for sinks that keep bytes: copy, do not keep it). */
  begin?(dv: DataView): void;
  /**
   * One record, `m` on it (a flyweight: valid during the call only). `interrupted`: under 'flag',
   * the pass saw NLM_F_DUMP_INTR (or an overrun) at or before this record.
   */
  record(m: MessageCursor, interrupted: boolean): void;
  /** The datagram's records are done; `end` is the offset after the last one (NLMSG_DONE excluded). */
  end?(end: number, interrupted: boolean, overran: boolean): void;
  /** 'retry': the pass was interrupted and is done again; forget what it gave. */
  discard?(): void;
  /** The dump ended clean (NLMSG_DONE of an uninterrupted pass, or any pass under 'flag'). */
  complete(): void;
  /** The dump ended with an error (the kernel's, a policy's, a sink's or a send's). */
  error(e: unknown): void;
  /** The socket closed first: streams complete, as every stream of a closed socket does. */
  closed?(): void;
}

/**
 * Runs a dump of `request` on `port` into `sink`. Returns the teardown: it stops the dump (no
 * further sink call).
 */
export function runDump(port: DumpPort, request: Uint8Array, policy: DumpInterruptPolicy, retries: number, sink: DumpSink): () => void {
  let stop: (() => void) | null = null;
  let over = false;
  let attempt = 0;
  const finish = (f: () => void) => {
    if (over) return;
    over = true;
    stop?.();
    f();
  };
  const start = () => {
    attempt++;
    let interrupted = false;
    let overran = false;
    stop = port.sendDump(request, {
      overran: () => {
        overran = interrupted = true;
        if (policy === 'error') finish(() => sink.error(new DumpInterruptedError(attempt)));
      },
      fail: (e) => finish(() => sink.error(e)),
      closed: () => finish(() => (sink.closed ?? sink.complete).call(sink)),
      datagram: (data) => {
        if (over) return;
        try {
          const m = new MessageCursor(data); // one per datagram, a flyweight over its records
          sink.begin?.(m.dv);
          let end = 0;
          while (m.next()) {
            if (m.flags & NLM_F_DUMP_INTR && !interrupted) {
              interrupted = true;
              if (policy === 'error') return finish(() => sink.error(new DumpInterruptedError(attempt)));
            }
            if (m.type === NLMSG_DONE) {
              sink.end?.(end, interrupted, overran);
              const d = parseDone(m);
              if (d.error < 0) return finish(() => sink.error(new NetlinkError(-d.error, m.seq, d.extackMessage, d.extackOffset)));
              if (interrupted && policy === 'retry') {
                stop?.();
                if (attempt > retries) return finish(() => sink.error(new DumpInterruptedError(attempt)));
                sink.discard?.();
                return start();
              }
              return finish(() => sink.complete());
            }
            if (m.type === NLMSG_ERROR) {
              const ack = parseAck(m);
              // The kernel never acknowledges a dump (netlink_rcv_skb skips the ACK of a started
              // one): an ACK here, or an error message that cannot be read, is a malformed answer.
              const e =
                'error' in ack && ack.error < 0
                  ? new NetlinkError(-ack.error, m.seq, ack.extackMessage, ack.extackOffset)
                  : new MalformedMessageError(ack instanceof NetlinkParseError ? ack : new NetlinkParseError('an ACK inside a dump', m.offset));
              return finish(() => sink.error(e));
            }
            sink.record(m, interrupted);
            if (over) return;
            end = m.offset + m.len;
          }
          if (m.error) return finish(() => sink.error(new MalformedMessageError(m.error!)));
          sink.end?.(end, interrupted, overran);
        } catch (e) {
          finish(() => sink.error(e));
        }
      },
    });
  };
  start();
  return () => {
    over = true;
    stop?.();
  };
}
