/**
 * The memory-ordering claim of docs/memory-model.md, checked against the node binary that runs the
 * tests: its Atomics.store builtin stores with a sequentially consistent instruction (xchg on x64,
 * stlr on arm64, both at least release) and its Atomics.load reads with no weaker instruction than
 * acquire (a plain mov on x64, where every load is an acquire; ldar on arm64). The ring's status
 * words go through these builtins (kring calls Atomics on a non-shared buffer, which V8 does not
 * inline: the builtin is what runs).
 */
import { execFileSync } from 'node:child_process';
import { arch } from 'node:process';
import { realpathSync } from 'node:fs';
import { describePrivileged } from '../helpers/privileged';

function builtin(name: string): string[] {
  const node = realpathSync(process.execPath);
  const symbols = execFileSync('nm', [node], { encoding: 'utf8', maxBuffer: 1 << 28 }).split('\n');
  const sorted = symbols
    .map((l) => l.split(' '))
    .filter((f) => f.length === 3 && /^[tT]$/.test(f[1]))
    .map(([addr, , sym]) => ({ addr: parseInt(addr, 16), sym }))
    .sort((a, b) => a.addr - b.addr);
  const i = sorted.findIndex((s) => s.sym === `Builtins_${name}`);
  if (i < 0) throw new Error(`no Builtins_${name} in ${node}`);
  const start = sorted[i].addr;
  const stop = sorted.slice(i + 1).find((s) => s.addr > start)!.addr;
  return execFileSync('objdump', ['-d', '--no-show-raw-insn', `--start-address=0x${start.toString(16)}`, `--stop-address=0x${stop.toString(16)}`, node], {
    encoding: 'utf8',
    maxBuffer: 1 << 26,
  })
    .split('\n')
    .filter((l) => /^\s+[0-9a-f]+:\t/.test(l))
    .map((l) => l.split('\t').slice(1).join(' ').trim());
}

describePrivileged(
  "this node's Atomics builtins order as the ring needs",
  () => {
    it('Atomics.store: a sequentially consistent 32-bit store (xchg on x64, stlr on arm64)', () => {
      const code = builtin('AtomicsStore');
      if (arch === 'x64') expect(code.filter((l) => /^xchg\s+%r\d+d,\(/.test(l)).length).toBe(1);
      else expect(code.filter((l) => /^stlr\s+w\d+/.test(l)).length).toBeGreaterThanOrEqual(1);
      // and no plain 32-bit store to the array's memory beside it
      if (arch === 'x64') expect(code.filter((l) => /^mov\s+%r\d+d,\(%r\w+,%r\w+,1\)/.test(l))).toEqual([]);
    });

    it('Atomics.load: acquire (any load on x64, whose loads are not reordered with later loads or stores; ldar on arm64)', () => {
      const code = builtin('AtomicsLoad');
      if (arch === 'x64') {
        expect(code.filter((l) => /^mov\s+\(%r\w+,%r\w+,1\),%e\w+$/.test(l)).length).toBeGreaterThanOrEqual(1);
        expect(code.filter((l) => /^lock/.test(l))).toEqual([]);
      } else expect(code.filter((l) => /^ldar\s+w\d+/.test(l)).length).toBeGreaterThanOrEqual(1);
    });
  },
  ['nm', 'objdump'],
);
