/**
 * Option checks shared by every socket kind: they run before any native call and throw
 * TypeError (wrong type) or RangeError (out of range), naming the option.
 * @internal
 * @packageDocumentation
 */

/** A value for an error message: numbers and strings as JSON, anything else by its type only (never a function's source). */
export function describe(v: unknown): string {
  return typeof v === 'number' || typeof v === 'string' ? JSON.stringify(v) : v === null ? 'null' : typeof v;
}

/** An integer option in [min, max]; `why` explains the bound in the message. */
export function int(name: string, v: unknown, min: number, max: number, why = ''): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new TypeError(`${name} must be an integer, got ${describe(v)}`);
  if (v < min || v > max) throw new RangeError(`${name} must be between ${min} and ${max}${why}, got ${v}`);
  return v;
}

/** A boolean option; undefined is `dflt`. */
export function bool(name: string, v: unknown, dflt = false): boolean {
  if (v === undefined) return dflt;
  if (typeof v !== 'boolean') throw new TypeError(`${name} must be a boolean, got ${describe(v)}`);
  return v;
}

/** The options argument itself: undefined is `{}`; anything but an object is a TypeError. */
export function optionsObject<T extends object>(what: string, o: T | undefined | null): T {
  if (o === undefined) return {} as T;
  if (o === null || typeof o !== 'object') throw new TypeError(`${what} takes an options object, got ${describe(o)}`);
  return o;
}

/** One of `choices`, looked up without touching the prototype chain ('toString' is not a choice). */
export function choice<K extends string>(name: string, v: unknown, choices: readonly K[]): K {
  if (typeof v !== 'string' || !(choices as readonly string[]).includes(v)) {
    throw new RangeError(`${name} must be ${choices.map((c) => `'${c}'`).join(', ')}, got ${describe(v)}`);
  }
  return v as K;
}

/**
 * Resolves a namespace option to a path: names live in /run/netns, as `ip netns` puts them; an
 * absolute path (`/proc/PID/ns/net`) is used as it is.
 */
export function netnsPath(netns: unknown): string | null {
  if (netns === undefined || netns === null) return null;
  if (typeof netns !== 'string' || netns.length === 0) throw new TypeError(`netns must be a non-empty string, got ${describe(netns)}`);
  if (netns.includes('\0')) throw new TypeError(`netns ${JSON.stringify(netns)} contains a NUL character`);
  if (netns.startsWith('/')) return netns;
  if (netns.includes('/') || netns === '.' || netns === '..')
    throw new RangeError(`netns name ${JSON.stringify(netns)} must not contain '/' (give an absolute path instead)`);
  return `/run/netns/${netns}`;
}
