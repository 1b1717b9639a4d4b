/**
 * The `kring` command line: one module per command (`capture` and `read`, the rtnetlink `listings`,
 * `monitor`, `nfqueue`, `send`), dispatched here, with the usage and the exit codes (2 for a usage error, 1 for a
 * failure, or ip's code where kring fails as ip does).
 * @packageDocumentation
 */
import { capture, CAPTURE_USAGE, read } from './capture';
import { LISTINGS_NOTES, LISTINGS_USAGE, runListing } from './listings';
import { monitor, MONITOR_USAGE } from './monitor';
import { nfqueue, NFQUEUE_USAGE } from './nfqueue';
import { send, SEND_USAGE } from './send';
import { CommandError, UsageError } from './usage';

const USAGE = `usage:
${LISTINGS_USAGE}${MONITOR_USAGE}
${LISTINGS_NOTES}
${CAPTURE_USAGE}
${SEND_USAGE}
${NFQUEUE_USAGE}
  kring help [COMMAND] · kring COMMAND --help · kring --version
`;

/** Each command's own usage, for `kring help COMMAND` and `kring COMMAND --help`. */
const COMMAND_USAGE: Record<string, string> = {
  routes: `${LISTINGS_USAGE}\n${LISTINGS_NOTES}`,
  links: `${LISTINGS_USAGE}\n${LISTINGS_NOTES}`,
  addrs: `${LISTINGS_USAGE}\n${LISTINGS_NOTES}`,
  neigh: `${LISTINGS_USAGE}\n${LISTINGS_NOTES}`,
  monitor: MONITOR_USAGE,
  capture: CAPTURE_USAGE,
  read: CAPTURE_USAGE,
  send: SEND_USAGE,
  nfqueue: NFQUEUE_USAGE,
};

// The package's version, from its package.json (two levels up from src/cli and from dist/cli).
function version(): string {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require('../../package.json') as { version: string }).version;
}

/**
 * Runs the CLI with `argv` (without the node and script paths); resolves to the exit code.
 * Conventions: `kring --version`, `kring help [COMMAND]` and `kring COMMAND --help` print to stdout
 * and exit 0; a usage error prints one line naming the problem and where the usage is, on stderr,
 * and exits 2; a failure exits 1 (or ip's code where kring fails as ip does).
 */
export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  // A closed pipe (| head) ends the output, not with a stack trace.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0);
  });
  const known = command !== undefined && Object.hasOwn(COMMAND_USAGE, command);
  try {
    if (command === '--version' || command === '-V' || command === 'version') {
      process.stdout.write(`kring ${version()}\n`);
      return 0;
    }
    if (command === 'help' || command === '-h' || command === '--help') {
      const topic = rest[0];
      if (topic === undefined) process.stdout.write(USAGE);
      else if (Object.hasOwn(COMMAND_USAGE, topic)) process.stdout.write(`usage:\n${COMMAND_USAGE[topic]}`);
      else throw new UsageError(`no help for ${JSON.stringify(topic)}: not a command`);
      return 0;
    }
    if (known && (rest.includes('--help') || rest.includes('-h'))) {
      process.stdout.write(`usage:\n${COMMAND_USAGE[command]}`);
      return 0;
    }
    switch (command) {
      case 'capture':
        return await capture(rest);
      case 'read':
        return await read(rest);
      case 'monitor':
        return await monitor(rest);
      case 'nfqueue':
        return await nfqueue(rest);
      case 'send':
        return await send(rest);
      case 'routes':
      case 'links':
      case 'addrs':
      case 'neigh':
        return await runListing(command, rest);
      case undefined:
        process.stderr.write(USAGE);
        return 2;
      default:
        throw new UsageError(`unknown command ${JSON.stringify(command)}`);
    }
  } catch (e) {
    const see = known ? `see kring ${command} --help` : 'see kring help';
    if (e instanceof UsageError || (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS') || e instanceof TypeError || e instanceof RangeError) {
      process.stderr.write(`kring: ${(e as Error).message}\n${see}\n`);
      return 2;
    }
    if (e instanceof CommandError) {
      process.stderr.write(`kring: ${e.message}\n`);
      return e.exitCode;
    }
    process.stderr.write(`kring: ${(e as Error).message}\n`);
    return 1;
  }
}
