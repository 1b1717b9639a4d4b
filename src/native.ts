/**
 * The typed interface of the native core (`native/`), and its one-time initialisation.
 *
 * Internal: only kring's own modules call these. Arguments are already validated by the callers;
 * every kernel failure throws a {@link RingError}.
 * @internal
 * @packageDocumentation
 */
import { join } from 'node:path';
import { RingError } from './errors';

/**
 * A libuv poll handle on one socket. Edge-triggered: its callback runs once per kernel wake-up,
 * with the socket's epoll events of that wake-up (EPOLLIN 1, EPOLLOUT 4, EPOLLERR 8).
 */
export interface NativePoller {
  /**
   * Start (or change) watching: 1 = readable, 2 = writable, 3 = both. A changed mask reports
   * readiness that holds now once; an unchanged one only new wake-ups.
   */
  start(events: number): void;
  /** Stop watching; start() may be called again. */
  stop(): void;
  /**
   * Blocks the calling thread until the socket's next wake-up (registered as start() registers
   * it, edge-triggered) or `timeoutMs` (-1: none); the handle must be stopped. Returns the
   * wake-up's epoll events, 0 on timeout.
   */
  wait(events: number, timeoutMs: number): number;
  /** Stop for good and drop the callback. Must run before the fd is closed. Idempotent. */
  close(): void;
}

/** The arguments krRecvmmsgInto and krRecvmmsgStart share: where datagram i goes, and its metadata. */
export interface RecvmmsgArgs {
  fd: number;
  /** The slots' memory (a ring's mapping, or any buffer). */
  buffer: ArrayBuffer | ArrayBufferView;
  /** Byte offset in `buffer` of each message's slot. */
  offsets: Float64Array;
  count: number;
  /** Bytes a slot holds; the rest of a message goes to its spill slot. */
  capacity: number;
  spill: Uint8Array;
  spillSize: number;
  /** RECV_META_WORDS u32 per message, written by the call (see RECV_META). */
  meta: Uint32Array;
  op: string;
}

/** What krSendmmsg sends: datagram i is buffer[offsets[i] .. + lengths[i]], or back to back without offsets. */
export interface SendmmsgArgs {
  fd: number;
  buffer: ArrayBuffer | ArrayBufferView;
  offsets?: Float64Array;
  lengths: Uint32Array;
  count: number;
  /** A sockaddr; the socket's default destination when absent. */
  address?: Uint8Array | null;
  op: string;
}

/**
 * krRecvmmsgInto set up once for arrays that stay the same (a ring's fill area): `new
 * native.RecvPlan(args without count)`; each `recv(count)` is one N-API crossing and the syscall.
 */
export interface NativeRecvPlan {
  /** Receives up to `count` (≤ offsets.length) datagrams into the slots `offsets` holds now; as krRecvmmsgInto. */
  recv(count: number): number;
}

/** krSendmmsg set up once for arrays that stay the same (a TX ring's send list). */
export interface NativeSendPlan {
  /** Sends datagrams `from` .. `from + count - 1` of the arrays as they hold now; as krSendmmsg. */
  send(from: number, count: number): number;
}

/**
 * The block walk set up once for a mapping and a header description (a layout's, e.g. `V3_WALK`):
 * `walk(first, end, n, scratch)` follows the next-offset words from the frame at `first` for at
 * most `n` frames, never past `end`, and writes each frame's offset, data offset and two words
 * into `scratch` (24 bytes per frame: f64 offsets, f64 data offsets, u32 word0s, u32 word1s, each
 * `scratch.byteLength / 24` long). Returns the frames walked: 0 when the first does not fit.
 */
export interface NativeWalkPlan {
  walk(first: number, end: number, n: number, scratch: ArrayBuffer): number;
}

/** The pooled store size of `krGather` (native/gather.cc kChunkBytes): runs of frames up to this share a pooled store. */
export const GATHER_CHUNK_BYTES = 65536;

/** Bytes per frame of a {@link NativeWalkPlan}'s scratch. */
export const WALK_BYTES_PER_FRAME = 24;

/**
 * The native binding's exports, all prefixed `kr` (the classes `Poller`, `RecvPlan`, `SendPlan`,
 * `WalkPlan` excepted). One convention (native/kring.h): up to three
 * positional arguments, else one object of named ones; every call names its `op`; a failed
 * syscall throws {@link RingError}, misuse TypeError; "nothing now" (EAGAIN) is a result.
 */
export interface NativeBinding {
  krInit(classes: { RingError: typeof RingError }): void;
  krPageSize(): number;
  /** socket(2) with SOCK_CLOEXEC | SOCK_NONBLOCK, inside the namespace at `netns` (a path) when given. */
  krSocket(args: { domain: number; type: number; protocol: number; netns: string | null; op: string }): number;
  /** open(2) read-only, close-on-exec, inside the namespace at `netns` when given (a /proc/thread-self/net file then shows that namespace). */
  krOpen(args: { path: string; netns: string | null; op: string }): number;
  /** Reads the file from offset 0 into `buf` until it is full or the file ends; returns the bytes read. */
  krPread(fd: number, buf: Uint8Array, op: string): number;
  krBind(fd: number, sockaddr: Uint8Array, op: string): void;
  /** A number is set as a C int (range-checked), bytes as they are. */
  krSetsockopt(args: { fd: number; level: number; name: number; value: number | Uint8Array; op: string }): void;
  /** Returns the length the kernel wrote into `out`. */
  krGetsockopt(args: { fd: number; level: number; name: number; out: Uint8Array; op: string }): number;
  /** getsockname(2) into `out`; returns the address length. */
  krGetsockname(fd: number, out: Uint8Array, op: string): number;
  /** SIOCGIFINDEX through the socket (its namespace); the op is the request. */
  krIfIndex(fd: number, name: string): number;
  /** SIOCGIFMTU through the socket. */
  krIfMtu(fd: number, name: string): number;
  krAttachFilter(fd: number, instructions: Uint8Array, op: string): void;
  /** setsockopt with a `struct sock_fprog` over packed `sock_filter` entries (PACKET_FANOUT_DATA). */
  krSetProgram(args: { fd: number; level: number; name: number; instructions: Uint8Array; op: string }): void;
  /** One external ArrayBuffer over the whole mapping; fd -1 maps private anonymous memory. */
  krMmap(fd: number, length: number, op: string): ArrayBuffer;
  /** Detaches the ArrayBuffer, then unmaps. Idempotent. */
  krMunmap(mapping: ArrayBuffer, op: string): void;
  /** Bytes received (the full datagram length with MSG_TRUNC), or -1 when nothing is queued. */
  krRecv(args: { fd: number; buf: Uint8Array; flags: number; op: string }): number;
  /**
   * One sendmmsg (MSG_DONTWAIT): the datagrams sent. A failure after the first shows only as a
   * short count; a failure of the first throws, except EAGAIN (0 sent).
   */
  krSendmmsg(args: SendmmsgArgs): number;
  /**
   * recvmmsg of up to `count` datagrams, message i into `buffer[offsets[i]..+capacity]` then
   * `spill[i*spillSize..+spillSize]`; `meta` gets RECV_META_WORDS u32 per message (see RECV_META).
   * Returns the number received, 0 when nothing is queued. ENOBUFS (an overrun) throws RingError.
   */
  krRecvmmsgInto(args: RecvmmsgArgs): number;
  /**
   * krRecvmmsgInto's recvmmsg, queued on kring's receive thread (one per environment, jobs run in
   * submission order; an ENOBUFS is noted and reading goes on). `done` runs on the JavaScript
   * thread with `meta` written. Until then the caller leaves the slots, `spill` and `meta` alone
   * and keeps `fd` open. `chained`: the job continues the frames of an outstanding job on the same
   * fd; if that one came back short (or failed), this one is not run and completes with 0.
   */
  krRecvmmsgStart(args: RecvmmsgArgs & { chained: boolean; done: (error: RingError | null, received: number, overran: boolean) => void }): void;
  /** poll() without waiting: the revents (POLLIN = 1, POLLERR = 8), 0 when none. */
  krPoll(fd: number, events: number, op: string): number;
  /**
   * sendto(fd, NULL, 0, flags): the TX-ring send (netlink and AF_PACKET). `flags` default
   * MSG_DONTWAIT. Bytes sent; -1 when the kernel could take nothing now (EAGAIN); any other
   * failure throws RingError.
   */
  krRingKick(fd: number, op: string, flags?: number): number;
  /** An interface ioctl whose `struct ifreq` points at `data` (SIOCETHTOOL, SIOCSHWTSTAMP); the kernel reads and writes `data`. */
  krIfIoctl(args: { fd: number; name: string; request: number; data: Uint8Array; op: string }): void;
  krClose(fd: number, op: string): void;
  /** `onEvent(status, events)`: status is libuv's (negative errno on failure), events the epoll events seen. */
  Poller: new (fd: number, op: string, onEvent: (status: number, events: number) => void) => NativePoller;
  /** A prepared krRecvmmsgInto (`buffer` must be an ArrayBuffer; its detachment is checked at each call). */
  RecvPlan: new (args: Omit<RecvmmsgArgs, 'count'>) => NativeRecvPlan;
  /** A prepared krSendmmsg (`buffer` an ArrayBuffer; `offsets` and `lengths` as long). */
  SendPlan: new (args: {
    fd: number;
    buffer: ArrayBuffer;
    offsets: Float64Array;
    lengths: Uint32Array;
    address?: Uint8Array | null;
    op: string;
  }) => NativeSendPlan;
  /**
   * Copies `source[starts[i] .. starts[i] + lengths[i]]` for every i, concatenated, into a new
   * store (an ArrayBuffer of their total length). A store of at most {@link GATHER_CHUNK_BYTES}
   * is a chunk from a pool that its finalizer refills: no page fault or malloc in the steady state.
   */
  krGather(source: ArrayBuffer, starts: Float64Array, lengths: Uint32Array): ArrayBuffer;
  /** The krGather pool's mapped slabs (16 chunks each) and free chunks (for tests). */
  krGatherStats(): { slabs: number; free: number };
  /** A prepared block walk over `buffer` (a mapping; its detachment is checked at each call). */
  WalkPlan: new (args: { buffer: ArrayBuffer; next: number; word0: number; word1: number; half: number; hdrLen: number; align: number }) => NativeWalkPlan;
}

/**
 * Word indices of the per-message metadata krRecvmmsgInto writes (native/recv.cc KR_META_*): the
 * length received, msg_flags, the lengths of the sender's address and of the control messages,
 * then both as the kernel wrote them (`name` 32 bytes, `control` 64 bytes), for the caller to read.
 */
export const RECV_META = { len: 0, flags: 1, nameLen: 2, controlLen: 3, name: 4, control: 12 } as const;
/** u32 words per message in krRecvmmsgInto's metadata. */
export const RECV_META_WORDS = 28;

/** {@link NativePoller.start}: wake on readability (EPOLLIN). */
export const POLL_READABLE = 1;
/** {@link NativePoller.start}: wake on writability (EPOLLOUT). */
export const POLL_WRITABLE = 2;

// node-gyp-build finds the addon: a local build (build/Release, from `npm ci` or node-gyp) first,
// else the prebuilt binary the package ships for this platform (prebuilds/linux-x64). The package
// root is one level up from src/ (ts-jest) and from dist/ (the published build).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const loadAddon = require('node-gyp-build') as (root: string) => NativeBinding;
const binding = loadAddon(join(__dirname, '..'));
binding.krInit({ RingError });

/** The loaded, initialised native binding. */
export const native: NativeBinding = binding;
