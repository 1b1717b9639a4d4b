/**
 * The `kring` command line: one module per command (`capture`, the rtnetlink `listings`,
 * `monitor`, `nfqueue`, `send`), dispatched here, with the usage and the exit codes (2 for a usage error, 1 for a
 * failure, or ip's code where kring fails as ip does).
 * @packageDocumentation
 */
import { capture, CAPTURE_USAGE } from './capture';
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
${NFQUEUE_USAGE}`;

/**
 * Runs the CLI with `argv` (without the node and script paths); resolves to the exit code.
 */
export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  // A closed pipe (| head) ends the output, not with a stack trace.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0);
  });
  try {
    switch (command) {
      case 'capture':
        return await capture(rest);
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
      case '-h':
      case '--help':
      case 'help':
        process.stdout.write(USAGE);
        return command === undefined ? 2 : 0;
      default:
        throw new UsageError(`unknown command ${JSON.stringify(command)}`);
    }
  } catch (e) {
    if (e instanceof UsageError || (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`kring: ${(e as Error).message}\n${USAGE}`);
      return 2;
    }
    if (e instanceof CommandError) {
      process.stderr.write(`kring: ${e.message}\n`);
      return e.exitCode;
    }
    if (e instanceof TypeError || e instanceof RangeError) {
      process.stderr.write(`kring: ${e.message}\n`);
      return 2;
    }
    process.stderr.write(`kring: ${(e as Error).message}\n`);
    return 1;
  }
}
