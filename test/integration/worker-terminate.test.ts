// worker.terminate() during a capture or a dump: the process goes on (no native abort), in a child
// process so that an abort fails this test instead of the run.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { createVethPair, VethPair } from '../helpers/netns';
import { describePrivileged } from '../helpers/privileged';

describePrivileged('worker threads terminated mid-capture and mid-dump', () => {
  let t: VethPair;
  beforeAll(() => {
    t = createVethPair();
  });
  afterAll(() => t?.destroy());

  // An abort here was intermittent (a native call caught mid-termination): three rounds of 40.
  it.each([1, 2, 3])('round %i: 40 workers terminated a few ms in: no abort, exit 0, and both kinds had work in flight', () => {
    const r = spawnSync(process.execPath, [join(__dirname, '..', 'fixtures', 'worker-terminate.js'), t.capNs, t.capIf, t.genNs, t.genIf, '40'], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect({ signal: r.signal, status: r.status, stderr: r.stderr }).toEqual({ signal: null, status: 0, stderr: '' });
    expect(JSON.parse(r.stdout)).toEqual({ terminated: 40, frames: true, dumps: true });
  });
});
