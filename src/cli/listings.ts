/**
 * The routing-table listings of the `kring` CLI: `routes`, `links`, `addrs`, `neigh`. `--json`
 * prints what `ip -j` prints for the same listing; text follows `ip`'s layout.
 * @packageDocumentation
 */
import { parseArgs } from 'node:util';
import { NetlinkError } from '../netlink/message';
import { countRoutes, getAddresses, getLinks, getNeighbours, routeBatches } from '../rtnetlink/readers';
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
} from './ip-format';
import { tableId } from '../rtnetlink/names';
import { NetlinkSocket } from '../netlink/socket';
import { DUMP_RX_RING } from '../rtnetlink/readers';
import { AF_INET, AF_INET6 } from '../constants';
import type { AddressFamily } from '../rtnetlink/readers';
import { CommandError, common, family, UsageError, write } from './usage';

/** The listings' usage lines. */
export const LISTINGS_USAGE = `  kring routes [-4|-6] [--table main|local|all|N] [--json] [--count] [-n|--netns NAME] [--trace FILE]
  kring links [--json] [-n|--netns NAME]
  kring addrs [-4|-6] [--json] [-n|--netns NAME]
  kring neigh [-4|-6] [--json] [-n|--netns NAME]
`;

/** What the listings' usage says about them. */
export const LISTINGS_NOTES = `  routes lists the main table by default, IPv4 unless -6 or --table all (as ip route show);
  --count prints only routes=N. --json output equals ip -j for the same listing.
  --trace FILE writes the netlink conversation (every request and reply) to FILE as pcapng,
  which Wireshark and tshark dissect as netlink/rtnetlink.
`;

/** The names ip prints for interface indexes, from a link dump. */
export async function context(netns: string | undefined, socket?: NetlinkSocket): Promise<IpContext> {
  return ipContext(await getLinks({ netns, socket }));
}

async function routesCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { ...common, table: { type: 'string' }, count: { type: 'boolean' }, trace: { type: 'string' } },
    strict: true,
  });
  const tableArg = values.table ?? 'main';
  const id = tableArg === 'all' ? 0 : tableId(tableArg);
  if (id === undefined || id > 0xffffffff)
    throw new UsageError(`--table must be main, local, default, all, a name from rt_tables or a number 0..4294967295, got ${JSON.stringify(tableArg)}`);
  // Table 0 (RT_TABLE_UNSPEC) is every table, as for ip.
  const table = id === 0 ? 'all' : id;
  // ip route show: one table means IPv4 unless -6; "table all" (and 0) lists both families.
  const fam = family(values) ?? (table === 'all' ? undefined : AF_INET);
  // --trace: one socket for every dump of the command, its conversation written as it goes.
  const socket =
    values.trace === undefined
      ? undefined
      : NetlinkSocket.open({ protocol: 'route', netns: values.netns, strict: true, rx: DUMP_RX_RING, trace: values.trace });
  try {
    return await listRoutes(values, fam, table, socket);
  } catch (e) {
    // ip: "Error: ipv4: FIB table does not exist." (the kernel's extended ACK), exit 2.
    if (e instanceof NetlinkError && e.code === 'ENOENT' && table !== 'all') {
      const reason = e.extackMessage ?? 'FIB table does not exist';
      // ip ends the kernel's message with a period (nl_dump_ext_ack()).
      throw new CommandError(`table ${tableArg}: ${reason}${reason.endsWith('.') ? '' : '.'}`, 2);
    }
    throw e;
  } finally {
    socket?.close();
  }
}

async function listRoutes(
  values: { json?: boolean; count?: boolean; netns?: string },
  fam: AddressFamily | undefined,
  table: number | 'all',
  socket: NetlinkSocket | undefined,
): Promise<number> {
  if (values.count) {
    // Counted as the dump goes, nothing kept; an interrupted pass is counted again.
    const { count, interrupted } = await countRoutes({ family: fam, table, netns: values.netns, socket });
    await write(`routes=${count}${interrupted ? ' interrupted' : ''}\n`);
    return 0;
  }
  const ctx = await context(values.netns, socket);
  const json = values.json ?? false;
  let first = true;
  if (json) await write('[');
  // Output follows each datagram; stdout buffers what the terminal or pipe has not taken yet.
  await new Promise<void>((resolve, reject) =>
    routeBatches({ family: fam, table, netns: values.netns, socket }).subscribe({
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
  if (fam === AF_INET6) {
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

/** Runs one listing (`routes`, `links`, `addrs`, `neigh`); resolves to the exit code. */
export function runListing(command: 'routes' | 'links' | 'addrs' | 'neigh', argv: string[]): Promise<number> {
  switch (command) {
    case 'routes':
      return routesCommand(argv);
    case 'links':
      return linksCommand(argv);
    case 'addrs':
      return addrsCommand(argv);
    case 'neigh':
      return neighCommand(argv);
  }
}
