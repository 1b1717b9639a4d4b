/**
 * The pcap-filter compiler against tcpdump's: for every expression of the corpus, kring's program
 * and the one `tcpdump -ddd` prints (libpcap's compiler, for an Ethernet capture file) are both run
 * in kring's interpreter over the same generated frames, and must decide the same for each frame.
 * The interpreter itself is checked against the kernel elsewhere (filters attached on a live veth).
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { compileFilter, FilterSyntaxError } from '../../src/bpf/compile';
import { runFilter } from '../../src/bpf/interpret';
import { parseProgramText } from '../../src/bpf/program';
import { generatePackets } from '../helpers/packets';
import { describePrivileged } from '../helpers/privileged';
import { scratchDir } from '../helpers/tcpdump';

export const CORPUS = [
  'ip',
  'ip6',
  'arp',
  'rarp',
  'tcp',
  'udp',
  'sctp',
  'icmp',
  'icmp6',
  'igmp',
  'not ip',
  'ip or arp',
  'host 10.0.0.1',
  'src host 10.0.0.2',
  'dst host 192.168.1.1',
  'ip host 10.1.2.3',
  'arp host 10.0.0.1',
  'rarp src 172.16.5.4',
  'host fe80::1',
  'ip6 src host 2001:db8::1',
  'ip6 dst ff02::1',
  'src and dst host 10.0.0.1',
  'src or dst host 10.0.0.2',
  'host 10.0.0.1 or 10.0.0.2',
  'host 10.0.0.1 and not host 10.0.0.2',
  'net 10.0.0.0/8',
  'net 10.1',
  'src net 192.168.0.0/16',
  'dst net 10.0.0.0 mask 255.255.255.0',
  'net fe80::/10',
  'ip6 net 2001:db8::/32',
  'net 0.0.0.0/0',
  'port 80',
  'port 53 or port 443',
  'tcp port 22',
  'udp port 53',
  'sctp port 80',
  'src port 1000',
  'dst port 443',
  'tcp dst port 80 or udp src port 53',
  'src or dst port 8080',
  'portrange 10-20',
  'tcp portrange 15-22',
  'src portrange 0-21',
  'udp dst portrange 50-60',
  'ether host 00:11:22:33:44:55',
  'ether src 66:77:88:99:aa:bb',
  'ether dst ff:ff:ff:ff:ff:ff',
  'ether broadcast',
  'ether multicast',
  'broadcast',
  'ip broadcast',
  'ip multicast',
  'ip6 multicast',
  'ether proto 0x88cc',
  'ether proto \\ip6',
  'proto 6',
  'ip proto 17',
  'ip6 proto 58',
  'proto \\udp',
  'vlan',
  'vlan 100',
  'vlan and ip',
  'vlan 5 and tcp',
  'vlan and port 80',
  'vlan and vlan',
  'vlan and vlan and udp',
  'vlan 1 or vlan 200',
  'less 100',
  'greater 90',
  'len >= 80 and len <= 120',
  'tcp[13] & 2 != 0',
  'tcp[tcpflags] & (tcp-syn|tcp-ack) = tcp-syn',
  'tcp[13] = 0x12',
  'udp[0:2] > 1000',
  'udp[2:2] = 53',
  'icmp[icmptype] == icmp-echo',
  'icmp[0] != 8 and icmp[0] != 0',
  'icmp6[0] = 128',
  'ip[0] & 0xf > 5',
  'ip[6:2] & 0x1fff != 0',
  'ip[2:2] - 20 > 40',
  'ip[9] = 6 or ip[9] = 17',
  'ip6[6] = 44',
  'ether[0] & 1 = 1',
  'ether[12:2] = 0x0806',
  'arp[7] = 2',
  'ip[ip[0] & 0xf] = 0',
  'tcp[(tcp[12] >> 4) * 4] > 0',
  'len - 14 > 50 * 2',
  'ip[8] % 7 = 1',
  'ip[1] ^ 0xff = 0xff',
  'ip[0] << 2 >= 0x100',
  '(tcp or udp) and not port 22',
  'not (port 80 or port 443)',
  'ip and (host 10.0.0.1 or host 10.0.0.2) and (tcp or icmp)',
  'not ip6 and not arp',
  '!tcp && (udp || icmp)',
  'tcp or udp and host 10.0.0.1',
  '(tcp[13] & 2) != 0',
];

describePrivileged(
  'the pcap-filter compiler decides as tcpdump -dd does',
  () => {
    const dir = scratchDir();
    const empty = join(dir, 'empty.pcap');
    // An Ethernet capture file with no packets: tcpdump -r compiles for LINKTYPE_ETHERNET offline.
    const hdr = Buffer.alloc(24);
    hdr.writeUInt32LE(0xa1b2c3d4, 0);
    hdr.writeUInt16LE(2, 4);
    hdr.writeUInt16LE(4, 6);
    hdr.writeUInt32LE(262144, 16);
    hdr.writeUInt32LE(1, 20);
    writeFileSync(empty, hdr);
    const packets = generatePackets(4000);

    it(`the corpus has at least 60 expressions (${CORPUS.length})`, () => {
      expect(CORPUS.length).toBeGreaterThanOrEqual(60);
      expect(new Set(CORPUS).size).toBe(CORPUS.length);
    });

    it.each(CORPUS)('%s', (expression) => {
      const text = execFileSync('tcpdump', ['-r', empty, '-ddd', expression], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
      const theirs = parseProgramText(text);
      const ours = compileFilter(expression);
      const differ: string[] = [];
      let matched = 0;
      for (const p of packets) {
        const want = runFilter(theirs, p.bytes);
        if (want) matched++;
        if (runFilter(ours, p.bytes) !== want && differ.length < 3) differ.push(`${p.label} ${p.bytes.toString('hex')} tcpdump=${want}`);
      }
      expect(differ).toEqual([]);
      // The corpus is only a test where the frames both match and miss.
      expect([matched > 0, matched < packets.length]).toEqual([true, true]);
    });

    it('unknown syntax is a SyntaxError naming the column', () => {
      const at = (e: string) => {
        try {
          compileFilter(e);
        } catch (x) {
          expect(x).toBeInstanceOf(SyntaxError);
          expect(x).toBeInstanceOf(FilterSyntaxError);
          return (x as FilterSyntaxError).column;
        }
        throw new Error(`${e} compiled`);
      };
      expect(at('tcp and')).toBe(8);
      expect(at('port 80 xor port 81')).toBe(9);
      expect(at('host 10.0.0.300')).toBe(6);
      expect(at('tcp[13] & 2')).toBe(12);
      expect(at('ip # 1')).toBe(4);
      expect(at('(tcp or udp')).toBe(12);
      expect(at('portrange 20')).toBe(11);
      expect(at('host example.com')).toBe(6);
      expect(() => compileFilter('tcp and')).toThrow('the expression ended where a primitive was expected at column 8 of "tcp and"');
    });
  },
  ['tcpdump'],
);
