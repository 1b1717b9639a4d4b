/** The route mirror compared with iproute2's listing. */
import { ipContext, routeJson } from '../../src/cli/ip-format';
import { getLinks } from '../../src/rtnetlink/readers';
import { RouteTable } from '../../src/rtnetlink/route-table';
import { ipRoutesAll } from './netns';

// The mirror as ip would print it (`ip -j route show table all`), record by record, sorted: compared
// with ip's own listing, not with kring's dump, so that a wrong identity (routes collapsed into one)
// cannot pass.
export async function mirrorAsIp(table: RouteTable, ns: string): Promise<string[]> {
  const ctx = ipContext(await getLinks({ netns: ns }));
  return table
    .routes()
    .map((r) => JSON.stringify(routeJson(r, ctx, true)))
    .sort();
}

/** Waits (bounded) until the mirror lists what ip lists; then they must be equal. */
export async function equalsIp(table: RouteTable, ns: string): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    await table.settled();
    const ip = ipRoutesAll(ns);
    const mine = await mirrorAsIp(table, ns);
    if (Date.now() > deadline || (mine.length === ip.length && mine.every((x, i) => x === ip[i]))) {
      expect(mine).toEqual(ip);
      return;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}
