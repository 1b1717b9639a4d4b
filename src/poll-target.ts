/**
 * How a socket's poll callback reaches its socket without pinning it.
 *
 * The native poller holds its callback strongly (a persistent reference, a GC root), so the
 * callback must not hold the socket while nobody reads from it: an unclosed socket its owner
 * dropped has to stay collectable for its finalizer to close it. While it is polled, on the other
 * hand, it must be held: a socket whose only owner is its consumer (a subscription, an async
 * iteration nobody else holds) would otherwise be collected mid-read and the stream go silent.
 *
 * A {@link PollTarget} is both: the callback closes over the target, which points at the socket
 * exactly while it is polled ({@link PollTarget.hold}) and at nothing otherwise. Not a `WeakRef`:
 * `deref()` adds its target to the heap's kept-objects set (a runtime call and an allocation on
 * every wake-up), and a strong set beside it was needed anyway.
 * @packageDocumentation
 */

/** @internal The socket a poll callback reaches: set while the socket is polled, null otherwise. */
export class PollTarget<T> {
  socket: T | null = null;
  /** Holds the socket while it is polled (`on`), lets go of it otherwise. */
  hold(socket: T, on: boolean): void {
    this.socket = on ? socket : null;
  }
}
