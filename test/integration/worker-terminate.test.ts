// worker.terminate() during a capture or a dump: the process goes on (no native abort), in a child
// process so that an abort fails this test instead of the run.
import { execFileSync, spawnSync } from 'node:child_process';
import { iptables } from '../helpers/udp';
import { join } from 'node:path';
import { createVethPair, VethPair } from '../helpers/netns';
import { describePrivileged } from '../helpers/privileged';

describePrivileged('worker threads terminated mid-capture, mid-dump and mid-NFQUEUE', () => {
  let t: VethPair;
  beforeAll(() => {
    t = createVethPair();
    execFileSync('ip', ['-n', t.capNs, 'addr', 'add', '10.99.1.1/24', 'dev', t.capIf]);
    iptables(t.capNs, ['-t', 'mangle', '-A', 'INPUT', '-p', 'udp', '--dport', '9', '-j', 'NFQUEUE', '--queue-balance', '30:33', '--queue-bypass']);
  });
  afterAll(() => t?.destroy());
  // (the rule and the address go with the namespace)

  // An abort here was intermittent (a native call caught mid-termination): three rounds of 40.
  it.each([1, 2, 3])(
    'round %i: 40 workers terminated a few ms in: no abort, exit 0, every kind had work in flight, a queue is free again for the next worker',
    () => {
      const r = spawnSync(
        process.execPath,
        [join(__dirname, '..', 'fixtures', 'worker-terminate.js'), t.capNs, t.capIf, t.genNs, t.genIf, '40', t.capMac.toString('hex')],
        {
          encoding: 'utf8',
          timeout: 60_000,
        },
      );
      expect({ signal: r.signal, status: r.status, stderr: r.stderr }).toEqual({ signal: null, status: 0, stderr: '' });
      expect(JSON.parse(r.stdout)).toEqual({ terminated: 40, frames: true, dumps: true, judged: true });
    },
  );
});
