/**
 * The routing-table commands of the `kring` CLI: `routes`, `links`, `addrs`, `neigh`, `monitor
 * routes`. `--json` prints what `ip -j` prints for the same listing; text follows `ip`'s layout.
 * @packageDocumentation
 */
import { parseArgs } from 'node:util';
import { NetlinkError } from './netlink/message';
import { getAddresses, getLinks, getNeighbours, routeBatches } from './rtnetlink/readers';
import {
  addressText,
  addrShowJson,
  ipContext,
  IpContext,
  linkJson,
  linkText,
  neighbourJson,
  neighbourShown,
  neighbourText,
  routeJson,
  routeText,
} from './rtnetlink/ip-format';
import { tableId } from './rtnetlink/names';
import { RouteTable } from './rtnetlink/route-table';
import { plainRoute } from './rtnetlink/route';

/** A bad command line (exit code 2). */
export class UsageError extends Error {}

/** A command that failed the way `ip` fails for the same request: the message, and ip's exit code. */
export class CommandError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

export const RTNETLINK_USAGE = `  kring routes [-4|-6] [--table main|local|all|N] [--json] [--count] [--netns NAME]
  kring links [--json] [--netns NAME]
  kring addrs [-4|-6] [--json] [--netns NAME]
  kring neigh [-4|-6] [--json] [--netns NAME]
  kring monitor routes [-4|-6] [--json] [--netns NAME]

  routes lists the main table by default, IPv4 unless -6 or --table all (as ip route show);
  --count prints only routes=N. --json output equals ip -j for the same listing.
`;

const common = {
  4: { type: 'boolean', short: '4' },
  6: { type: 'boolean', short: '6' },
  json: { type: 'boolean', short: 'j' },
  netns: { type: 'string' },
} as const;

function family(v: { 4?: boolean; 6?: boolean }): 4 | 6 | undefined {
  if (v[4] && v[6]) throw new UsageError('-4 and -6 exclude each other');
  return v[4] ? 4 : v[6] ? 6 : undefined;
}

async function context(netns: string | undefined): Promise<IpContext> {
  return ipContext(await getLinks({ netns }));
}

function write(s: string): Promise<void> {
  return new Promise((resolve) => (process.stdout.write(s) ? resolve() : process.stdout.once('drain', resolve)));
}

async function routesCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { ...common, table: { type: 'string' }, count: { type: 'boolean' } }, strict: true });
  const tableArg = values.table ?? 'main';
  const id = tableArg === 'all' ? 0 : tableId(tableArg);
  if (id === undefined || id > 0xffffffff)
    throw new UsageError(`--table must be main, local, default, all, a name from rt_tables or a number 0..4294967295, got ${JSON.stringify(tableArg)}`);
  // Table 0 (RT_TABLE_UNSPEC) is every table, as for ip.
  const table = id === 0 ? 'all' : id;
  // ip route show: one table means IPv4 unless -6; "table all" (and 0) lists both families.
  const fam = family(values) ?? (table === 'all' ? undefined : 4);
  try {
    return await listRoutes(values, fam, table);
  } catch (e) {
    // ip: "Error: ipv4: FIB table does not exist." (the kernel's extended ACK), exit 2.
    if (e instanceof NetlinkError && e.code === 'ENOENT' && table !== 'all') {
      const reason = e.extackMessage ?? 'FIB table does not exist';
      // ip ends the kernel's message with a period (nl_dump_ext_ack()).
      throw new CommandError(`table ${tableArg}: ${reason}${reason.endsWith('.') ? '' : '.'}`, 2);
    }
    throw e;
  }
}

async function listRoutes(values: { json?: boolean; count?: boolean; netns?: string }, fam: 4 | 6 | undefined, table: number | 'all'): Promise<number> {
  if (values.count) {
    // Counting keeps nothing: records of an interrupted pass are not held, the pass is redone.
    for (let attempt = 1; ; attempt++) {
      let n = 0;
      let interrupted = false;
      await new Promise<void>((resolve, reject) =>
        routeBatches({ family: fam, table, netns: values.netns, onInterrupted: 'flag' }).subscribe({
          next: (batch) => {
            n += batch.length;
            if (batch.length && batch[batch.length - 1].interrupted) interrupted = true;
          },
          error: reject,
          complete: resolve,
        }),
      );
      if (!interrupted || attempt > 3) {
        await write(`routes=${n}${interrupted ? ' interrupted' : ''}\n`);
        return 0;
      }
    }
  }
  const ctx = await context(values.netns);
  const json = values.json ?? false;
  let first = true;
  if (json) await write('[');
  // Output follows each datagram; stdout buffers what the terminal or pipe has not taken yet.
  await new Promise<void>((resolve, reject) =>
    routeBatches({ family: fam, table, netns: values.netns }).subscribe({
      next: (batch) => {
        if (batch.length === 0) return;
        const lines = batch.map((r) => (json ? JSON.stringify(routeJson(r, ctx, table === 'all')) : routeText(r, ctx, table === 'all')));
        process.stdout.write(json ? (first ? '' : ',') + lines.join(',') : lines.join('\n') + '\n');
        first = false;
      },
      error: reject,
      complete: resolve,
    }),
  );
  if (json) await write(']\n');
  return 0;
}

async function linksCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { json: common.json, netns: common.netns }, strict: true });
  const links = await getLinks({ netns: values.netns });
  const ctx = ipContext(links);
  if (values.json) await write(JSON.stringify(links.map((l) => linkJson(l, ctx))) + '\n');
  else await write(links.map((l) => linkText(l, ctx) + '\n').join(''));
  return 0;
}

async function addrsCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: common, strict: true });
  const fam = family(values);
  // As ip: links asked for with the address family (IPv6 answers with its own, shorter set).
  const links = await getLinks({ netns: values.netns, family: fam });
  const addrs = await getAddresses({ netns: values.netns, family: fam });
  const linkLayer = fam === undefined;
  if (fam === 6) {
    // IPv6's link handler sends no IFLA_TXQLEN; ip asks SIOCGIFTXQLEN, which is the same value.
    const full = new Map((await getLinks({ netns: values.netns })).map((l) => [l.index, l.txqlen]));
    for (const l of links) l.txqlen ??= full.get(l.index);
  }
  const ctx = ipContext(links);
  // ip -4/-6 addr show lists only links that have an address of that family.
  const shown = fam === undefined ? links : links.filter((l) => addrs.some((a) => a.index === l.index));
  if (values.json) {
    await write(JSON.stringify(addrShowJson(shown, addrs, ctx, linkLayer)) + '\n');
    return 0;
  }
  let out = '';
  for (const l of shown) {
    out += linkText(l, ctx, true, linkLayer) + '\n';
    for (const a of addrs) if (a.index === l.index) out += addressText(a) + '\n';
  }
  await write(out);
  return 0;
}

async function neighCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: common, strict: true });
  const ctx = await context(values.netns);
  const all = (await getNeighbours({ netns: values.netns, family: family(values) })).filter(neighbourShown);
  if (values.json) await write(JSON.stringify(all.map((n) => neighbourJson(n, ctx))) + '\n');
  else await write(all.map((n) => neighbourText(n, ctx) + '\n').join(''));
  return 0;
}

async function monitorCommand(argv: string[]): Promise<number> {
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

/** Runs one routing-table command; undefined when `command` is not one of them. */
export function runRtnetlinkCommand(command: string, argv: string[]): Promise<number> | undefined {
  switch (command) {
    case 'routes':
      return routesCommand(argv);
    case 'links':
      return linksCommand(argv);
    case 'addrs':
      return addrsCommand(argv);
    case 'neigh':
      return neighCommand(argv);
    case 'monitor':
      return monitorCommand(argv);
    default:
      return undefined;
  }
}
