/**
 * Netlink traces, judged by tshark's netlink and rtnetlink dissectors: `kring routes --trace` writes
 * every request and reply of its dumps, directions marked, each message dissected (no malformed
 * one), its route messages as many as the routes `ip -j` lists; a socket's own request and answer
 * are both there; a trace file that cannot be opened fails open() and leaves no socket behind.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { lastValueFrom, toArray } from 'rxjs';
import { MessageBuilder } from '../../src/netlink/message';
import { NetlinkSocket } from '../../src/netlink/socket';
import { NLM_F_DUMP, RTM_GETLINK } from '../../src/constants';
import { openSockets } from '../helpers/netlink';
import { createNamespace, ipBatch, ipJson } from '../helpers/netns';
import { describePrivileged } from '../helpers/privileged';
import { KRING } from '../helpers/kring-process';
import { scratchDir } from '../helpers/tcpdump';

const tshark = (file: string, ...args: string[]) =>
  execFileSync('tshark', ['-r', file, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
    .split('\n')
    .filter((l) => l !== '');

describePrivileged(
  'netlink traces (pcapng, LINKTYPE_NETLINK) read by tshark',
  () => {
    let ns = '';
    let destroy: () => void = () => undefined;
    beforeAll(() => {
      ({ ns, destroy } = createNamespace());
      ipBatch(ns, [
        'link set lo up',
        'link add d0 type veth peer name d1',
        'link set d0 up',
        'link set d1 up',
        'addr add 10.3.0.1/24 dev d0',
        ...Array.from({ length: 300 }, (_, i) => `route add 10.4.${i >> 8}.${i & 255}/32 dev d0`),
      ]);
    });
    afterAll(() => destroy());

    it('kring routes --trace: every datagram, each message dissected as netlink/rtnetlink, the routes ip lists', () => {
      const file = join(scratchDir(), 'routes.pcapng');
      const r = spawnSync(process.execPath, [KRING, 'routes', '-n', ns, '--table', 'all', '--trace', file], { encoding: 'utf8' });
      expect([r.status, r.stderr]).toEqual([0, '']);
      const routes = (ipJson(ns, ['route', 'show', 'table', 'all']) as unknown[]).length;
      expect(r.stdout.trim().split('\n').length).toBe(routes);
      // Each record: its direction, then the netlink family and each message's seq.
      const rows = tshark(
        file,
        '-T',
        'fields',
        '-E',
        'occurrence=a',
        '-E',
        'aggregator=,',
        '-e',
        'frame.packet_flags_direction',
        '-e',
        'frame.protocols',
        '-e',
        'netlink.hdr_seq',
        '-e',
        'netlink-route.rt_family',
        '-e',
        'netlink.hatype',
      );
      expect(rows.length).toBeGreaterThan(3);
      const parsed = rows.map((l) => l.split('\t'));
      for (const [, protocols, , , hatype] of parsed) {
        expect(protocols).toMatch(/^netlink(:|$)/);
        expect(protocols).not.toMatch(/malformed/);
        expect(hatype).toBe('824');
      }
      // Two requests (the link dump for names, then the route dump), sent; everything else received.
      const sent = parsed.filter(([dir]) => dir === '0x00000002');
      expect(sent.length).toBe(2);
      expect(parsed.filter(([dir]) => dir === '0x00000001').length).toBe(parsed.length - 2);
      // Every route message of the trace: as many as ip lists.
      const routeMessages = parsed.filter(([dir]) => dir === '0x00000001').reduce((n, [, , , fam]) => n + (fam ? fam.split(',').length : 0), 0);
      expect(routeMessages).toBe(routes);
      expect(tshark(file, '-Y', '_ws.malformed || _ws.expert.severity >= 8388608')).toEqual([]);
    });

    it("a socket's request and the kernel's answer are both in its trace, the bytes as sent and as read", async () => {
      const file = join(scratchDir(), 'request.pcapng');
      const sock = NetlinkSocket.open({ protocol: 'route', netns: ns, trace: file });
      const request = new MessageBuilder().begin(RTM_GETLINK, NLM_F_DUMP, 0).bytes(new Uint8Array(16)).finish();
      const replies = await lastValueFrom(sock.dump(request).pipe(toArray()));
      sock.close();
      const hex = tshark(file, '-T', 'json', '-x').join('\n');
      const raw = (JSON.parse(hex) as { _source: { layers: { frame_raw: [string] } } }[]).map((f) => Buffer.from(f._source.layers.frame_raw[0], 'hex'));
      // The 16-byte cooked header: PACKET_USER (6) out, PACKET_KERNEL (7) in; ARPHRD_NETLINK; NETLINK_ROUTE.
      expect(raw[0].subarray(0, 16).toString('hex')).toBe('0006' + '0338' + '0000' + '0000000000000000' + '0000');
      expect(raw[1].readUInt16BE(0)).toBe(7);
      const out = raw[0].subarray(16);
      expect(out.readUInt16LE(4)).toBe(RTM_GETLINK);
      expect(out.subarray(16)).toEqual(Buffer.from(request.subarray(16)));
      const links = (ipJson(ns, ['link', 'show']) as unknown[]).length;
      expect(replies.filter((m) => m.type === 16).length).toBe(links);
    });

    it('a trace that cannot be written fails open() with the file error and leaves no socket open', () => {
      const before = openSockets();
      expect(() => NetlinkSocket.open({ protocol: 'route', trace: '/nonexistent-dir/x.pcapng' })).toThrow(expect.objectContaining({ code: 'ENOENT' }));
      expect([...openSockets()].filter((s) => !before.has(s))).toEqual([]);
      expect(() => NetlinkSocket.open({ protocol: 'route', trace: '' })).toThrow(TypeError);
    });
  },
  ['tshark'],
);
