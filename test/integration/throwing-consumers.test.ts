/**
 * A consumer that throws inside its callback: the exception ends that subscription and reaches
 * its `error` callback (the source torn down: the socket's reading or the dump stops), never the
 * process. Each kind of kring Observable is subscribed in a child process with a `next` (or
 * `complete`) that throws; the child counts what reached each `error` callback and dies with exit
 * code 3 on an uncaught exception.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { createNamespace, ipBatch } from '../helpers/netns';
import { describePrivileged } from '../helpers/privileged';

const ROOT = join(__dirname, '..', '..');

describePrivileged('consumers whose callbacks throw', () => {
  it('every kind of stream errors with the callback’s exception; nothing reaches the process', () => {
    const { ns, destroy } = createNamespace();
    try {
      ipBatch(ns, ['link set lo up', 'link add t0 type veth peer name t1', 'link set t0 up', 'link set t1 up', 'route add blackhole 10.77.0.0/16']);
      const script = `
        const k = require(${JSON.stringify(ROOT)});
        const { from } = require('rxjs');
        process.on('uncaughtException', (e) => { console.log('UNCAUGHT ' + e.message); process.exit(3); });
        const got = {};
        const expectError = (name) => ({ error: (e) => { got[name] = e.message; } });
        const ns = ${JSON.stringify(ns)};
        const pkt = k.PacketSocket.open({ interface: 't0', netns: ns });
        const pkt2 = k.PacketSocket.open({ interface: 't0', netns: ns, version: 'v2' });
        pkt.batches().subscribe({ next: () => { throw new Error('batches'); }, ...expectError('batches') });
        pkt2.frames().subscribe({ next: () => { throw new Error('frames'); }, ...expectError('frames') });
        const tx = k.PacketSocket.open({ interface: 't1', netns: ns, rx: false, tx: true });
        const frame = Buffer.alloc(60, 0xff);
        tx.writer.sink(from([frame, frame])).subscribe({ next: () => { throw new Error('sink'); }, ...expectError('sink') });
        k.routes({ netns: ns }).subscribe({ next: () => { throw new Error('routes'); }, ...expectError('routes') });
        k.routeBatches({ netns: ns }).subscribe({ next: () => { throw new Error('routeBatches'); }, ...expectError('routeBatches') });
        k.links({ netns: ns }).subscribe({ next: () => {}, complete: () => { throw new Error('links complete'); }, ...expectError('links') });
        const nl = k.NetlinkSocket.open({ protocol: 'route', netns: ns });
        const dumpReq = k.linkDumpRequest();
        nl.dump(dumpReq).subscribe({ next: () => { throw new Error('dump'); }, ...expectError('dump') });
        const nl2 = k.NetlinkSocket.open({ protocol: 'route', netns: ns, groups: [1] });
        nl2.messages().subscribe({ next: () => { throw new Error('messages'); }, ...expectError('messages') });
        const table = k.RouteTable.open({ netns: ns });
        table.changes().subscribe({ next: () => { throw new Error('changes'); }, ...expectError('changes') });
        // A later subscriber of the same hot stream is not affected by the one that threw.
        let later = 0;
        table.ready.then(() => table.changes().subscribe(() => later++));
        setTimeout(() => {
          require('node:child_process').execFileSync('ip', ['-n', ns, 'link', 'add', 'x0', 'type', 'veth', 'peer', 'name', 'x1']);
          require('node:child_process').execFileSync('ip', ['-n', ns, 'route', 'add', 'blackhole', '10.78.0.0/16']);
          tx.writer.send();
        }, 300);
        setTimeout(() => {
          console.log(JSON.stringify({ got, later, nlClosed: nl.closed }));
          for (const s of [pkt, pkt2, tx, nl, nl2, table]) s.close();
        }, 1500);
      `;
      // Frames into t0 from t1 while it runs: the sink's two frames.
      const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 20_000 });
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as { got: Record<string, string>; later: number; nlClosed: boolean };
      expect(out.got).toEqual({
        batches: 'batches',
        frames: 'frames',
        sink: 'sink',
        routes: 'routes',
        routeBatches: 'routeBatches',
        links: 'links complete',
        dump: 'dump',
        messages: 'messages',
        changes: 'changes',
      });
      expect(out.later).toBeGreaterThan(0);
    } finally {
      destroy();
    }
  });
});
