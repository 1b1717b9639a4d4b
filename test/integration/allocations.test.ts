// The batch path allocates per batch, not per frame: over 100k frames with a 1 MiB young generation,
// a consumer of batches (the arrays, or the flyweight) sees about no minor collection, where the
// copying frames() path sees dozens (which shows the count would catch a per-frame allocation).
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describePrivileged } from '../helpers/privileged';
import { useVethPair } from '../helpers/traffic';

const N = 100_000;

describePrivileged('allocations on the capture path', () => {
  const env = useVethPair();
  const run = (version: string, mode: string) =>
    JSON.parse(
      execFileSync(
        process.execPath,
        [
          '--max-semi-space-size=1',
          join(__dirname, '..', 'fixtures', 'batch-allocations.js'),
          env.t.capNs,
          env.t.capIf,
          env.t.genNs,
          env.t.genIf,
          version,
          mode,
          String(N),
        ],
        { encoding: 'utf8' },
      ),
    ) as { frames: number; minor: number; drops: number; sum: boolean };

  it.each([
    ['v3', 'arrays'],
    ['v3', 'flyweight'],
    ['v2', 'arrays'],
  ])('%s batches() read through %s: 100k frames, at most 2 minor collections', (version, mode) => {
    const r = run(version, mode);
    expect(r).toMatchObject({ frames: N, drops: 0, sum: true });
    expect(r.minor).toBeLessThanOrEqual(2);
  });

  it('frames() copies per frame: the same count sees many minor collections', () => {
    const r = run('v3', 'frames');
    expect(r).toMatchObject({ frames: N, drops: 0 });
    expect(r.minor).toBeGreaterThan(10);
  });
});
