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
import { FILTER_CORPUS as CORPUS } from '../helpers/filter-corpus';

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
