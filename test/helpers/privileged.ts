/**
 * Privileged suites need root (CAP_NET_RAW, CAP_NET_ADMIN, CAP_SYS_ADMIN) and `ip`. Without them a
 * suite is skipped with its reason, unless KRING_REQUIRE_PRIVILEGED=1 (CI), which turns the skip
 * into a failure.
 */
import { execFileSync } from 'node:child_process';

function missingBase(): string | null {
  if (process.platform !== 'linux') return 'not Linux';
  if (typeof process.getuid === 'function' && process.getuid() !== 0) return 'not running as root (needs CAP_NET_RAW, CAP_NET_ADMIN, CAP_SYS_ADMIN)';
  try {
    execFileSync('ip', ['-V'], { stdio: 'ignore' });
  } catch {
    return "iproute2's `ip` is not installed";
  }
  return null;
}

const base = missingBase();
const missing = (): string | null => base;

function missingTool(tools: string[]): string | null {
  for (const t of tools) {
    try {
      execFileSync('sh', ['-c', `command -v ${t}`], { stdio: 'ignore' });
    } catch {
      return `\`${t}\` is not installed`;
    }
  }
  return null;
}

/** `describe` for suites that need privileges and real namespaces (and `tools`, commands they run). */
export function describePrivileged(name: string, fn: () => void, tools: string[] = []): void {
  const reason = missing() ?? missingTool(tools);
  if (reason === null) {
    describe(name, fn);
  } else if (process.env.KRING_REQUIRE_PRIVILEGED === '1') {
    describe(name, () => {
      it('has the privileges it needs', () => {
        throw new Error(`privileged suite cannot run: ${reason} (KRING_REQUIRE_PRIVILEGED=1)`);
      });
    });
  } else {
    console.warn(`skipping "${name}": ${reason}`);
    describe.skip(name, fn);
  }
}
