// kring imports Observable and Subject from rxjs/internal/* to keep start-up short; they must be
// the very classes the public 'rxjs' entry exports, so instanceof and every operator keep working.
import { Observable as PublicObservable, Subject as PublicSubject, firstValueFrom, map } from 'rxjs';
import { Observable } from 'rxjs/internal/Observable';
import { Subject } from 'rxjs/internal/Subject';

it('rxjs deep imports are the public classes', async () => {
  expect(Observable).toBe(PublicObservable);
  expect(Subject).toBe(PublicSubject);
  const o = new Observable<number>((s) => s.next(20));
  expect(o).toBeInstanceOf(PublicObservable);
  expect(await firstValueFrom(o.pipe(map((x) => x + 1)))).toBe(21);
});
