/**
 * `kring monitor routes`: the route mirror's changes as they happen, printed as `ip monitor` prints
 * routes (deletions prefixed `Deleted`), with device names following the link events.
 * @packageDocumentation
 */
import { parseArgs } from 'node:util';
import { getLinks } from '../rtnetlink/readers';
import { plainRoute } from '../rtnetlink/route';
import { RouteTable } from '../rtnetlink/route-table';
import { ipContext, routeJson, routeText } from './ip-format';
import { common, family, UsageError } from './usage';

/** The monitor's usage line. */
export const MONITOR_USAGE = `  kring monitor routes [-4|-6] [--json] [-n|--netns NAME]
`;

/** Runs `kring monitor ARGV` until SIGINT or SIGTERM; resolves to the exit code. */
export async function monitor(argv: string[]): Promise<number> {
  const [what, ...rest] = argv;
  if (what !== 'routes') throw new UsageError(`monitor: only 'routes' is supported, got ${JSON.stringify(what)}`);
  const { values } = parseArgs({ args: rest, options: common, strict: true });
  const fam = family(values);
  const table = RouteTable.open({ family: fam, netns: values.netns });
  // Device names follow the link events, which come in order with the route events: a route on a
  // link made after the start is printed with its name, not ifN.
  const links = new Map((await getLinks({ netns: values.netns })).map((l) => [l.index, l]));
  let ctx = ipContext(links.values());
  table.linkChanges().subscribe((l) => {
    // A deleted link keeps its name here: its routes' deletions are printed after it went.
    links.set(l.index, l.name === undefined ? { ...l, name: links.get(l.index)?.name } : l);
    ctx = ipContext(links.values());
  });
  let live = false;
  table.changes().subscribe((d) => {
    if (!live) return; // the first dump is the baseline, not a change
    const r = d.kind === 'delete' ? { ...plainRoute(d.route), deleted: true } : d.route;
    const line = values.json ? JSON.stringify({ ...routeJson(r, ctx), change: d.kind, cause: d.cause }) : routeText(r, ctx);
    process.stdout.write(line + '\n');
  });
  await table.ready;
  live = true;
  process.stderr.write(`kring: monitoring ${table.size} routes\n`);
  return new Promise<number>((resolve) => {
    const stop = () => {
      table.close();
      resolve(0);
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}
