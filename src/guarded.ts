/**
 * Observables whose subscribers' own callbacks cannot throw into the process. RxJS reports an
 * exception thrown by a subscriber's `next` asynchronously, as an uncaught exception (its default
 * `onUnhandledError`): one bad callback would end the program. kring's Observables catch it
 * instead: the subscription ends (its source torn down: the dump stops, the socket's reading
 * stops) and the exception goes to that subscriber's `error` callback, as any failure of the stream
 * would. A subscriber with no `error` callback gets RxJS's behaviour (it chose not to handle errors).
 *
 * Operators and RxJS's own helpers (`pipe(...)`, `firstValueFrom`, `lastValueFrom`) subscribe with
 * a `Subscriber`, which already routes its callbacks' exceptions to `error`: those pass through
 * untouched, so teardown stays linked to them.
 * @packageDocumentation
 */
import { Observable } from 'rxjs/internal/Observable';
import { Subscriber } from 'rxjs/internal/Subscriber';
import type { Subscription } from 'rxjs/internal/Subscription';
import type { Observer } from 'rxjs/internal/types';

/** An Observable that turns an exception in a subscriber's `next` or `complete` into that subscriber's error. @internal */
export class GuardedObservable<T> extends Observable<T> {
  override subscribe(
    observerOrNext?: Partial<Observer<T>> | ((value: T) => void) | null,
    error?: ((e: unknown) => void) | null,
    complete?: (() => void) | null,
  ): Subscription {
    if (observerOrNext instanceof Subscriber) return super.subscribe(observerOrNext);
    const o: Partial<Observer<T>> =
      typeof observerOrNext === 'function' || observerOrNext === null || observerOrNext === undefined
        ? { next: observerOrNext ?? undefined, error: error ?? undefined, complete: complete ?? undefined }
        : observerOrNext;
    if (typeof o.error !== 'function') return super.subscribe(o);
    let sub: Subscription | null = null;
    let failed = false;
    const fail = (e: unknown) => {
      if (failed) return;
      failed = true;
      sub?.unsubscribe();
      o.error!(e);
    };
    sub = super.subscribe({
      next: (v) => {
        if (failed) return;
        try {
          o.next?.(v);
        } catch (e) {
          fail(e);
        }
      },
      error: (e) => {
        if (failed) return;
        failed = true;
        o.error!(e);
      },
      complete: () => {
        if (failed) return;
        try {
          o.complete?.();
        } catch (e) {
          fail(e);
        }
      },
    });
    // A callback that threw while subscribe() was still running: end what it started now.
    if (failed) sub.unsubscribe();
    return sub;
  }
}

/** A hot source (a Subject) behind a {@link GuardedObservable}. @internal */
export function guarded<T>(source: Observable<T>): Observable<T> {
  return new GuardedObservable<T>((subscriber) => source.subscribe(subscriber));
}
