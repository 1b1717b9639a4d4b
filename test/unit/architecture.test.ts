// The rooms of src/ (docs/architecture.md) import only from the rooms below them.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative, sep } from 'node:path';

const SRC = join(__dirname, '..', '..', 'src');
const RANK: Record<string, number> = {
  base: 0,
  layouts: 1,
  pcap: 1.5,
  bpf: 1.5,
  ring: 2,
  packet: 3,
  netlink: 3,
  rtnetlink: 4,
  nfqueue: 4.5,
  cli: 5,
  testing: 5,
  index: 6,
};

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => (statSync(join(dir, n)).isDirectory() ? files(join(dir, n)) : n.endsWith('.ts') ? [join(dir, n)] : []));
}
function room(file: string): string {
  const parts = relative(SRC, file).split(sep);
  if (parts.length === 1) return parts[0] === 'index.ts' ? 'index' : 'base';
  return parts[0];
}

describe('architecture', () => {
  it('every room of src/ is known', () => {
    expect(new Set(files(SRC).map(room))).toEqual(new Set(Object.keys(RANK)));
  });

  it('no import goes up a layer or sideways between rooms of one layer', () => {
    const bad: string[] = [];
    for (const f of files(SRC)) {
      for (const m of readFileSync(f, 'utf8').matchAll(/from '(\.[^']+)'/g)) {
        const target = normalize(join(dirname(f), m[1])) + '.ts';
        const [a, b] = [room(f), room(target)];
        if (a !== b && RANK[b] >= RANK[a]) bad.push(`${relative(SRC, f)} imports ${relative(SRC, target)}`);
      }
    }
    expect(bad).toEqual([]);
  });
});
