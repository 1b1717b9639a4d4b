/**
 * What `f` threw, as its name and message. Native errors come from the main realm, not jest's
 * (so `toThrow(TypeError)` does not match them): compare these instead.
 */
export function thrown(f: () => unknown): { name: string; message: string } {
  try {
    f();
  } catch (e) {
    return { name: (e as Error).name, message: (e as Error).message };
  }
  throw new Error('did not throw');
}
