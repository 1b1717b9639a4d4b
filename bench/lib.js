// What the benchmarks share: commands, the two-namespace veth topology, a process's CPU time, the
// median, building the C references, and the table written into docs/benchmarks.md.
'use strict';
const { execFileSync, spawn } = require('node:child_process');
const { parseArgs } = require('node:util');
const fs = require('node:fs');
const path = require('node:path');

const HERE = __dirname;
const WORK = path.join(HERE, '.work');

const sh = (cmd, args, o = {}) => execFileSync(cmd, args, { encoding: 'utf8', ...o });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/**
 * The options of the frame benchmarks: --count, --warmup, --sizes (defaults from `defaults`), --reps,
 * --write, `extra` string options and `flags` boolean ones ({ name: default }). Numbers come back as
 * numbers; `opt` has every value as given.
 */
function frameBenchOptions(defaults, extra = {}, flags = {}) {
  const options = {
    count: { type: 'string', default: '1000000' },
    warmup: { type: 'string', default: '300000' },
    sizes: { type: 'string', default: defaults.sizes },
    reps: { type: 'string', default: '3' },
    write: { type: 'boolean', default: false },
  };
  for (const [name, value] of Object.entries(extra)) options[name] = { type: 'string', default: value };
  for (const [name, value] of Object.entries(flags)) options[name] = { type: 'boolean', default: value };
  const { values: opt } = parseArgs({ options });
  return { COUNT: Number(opt.count), WARMUP: Number(opt.warmup), SIZES: opt.sizes.split(',').map(Number), REPS: Number(opt.reps), opt };
}

/** Compiles bench/c/NAME.c into bench/.work/NAME for each name. */
function buildC(names) {
  fs.mkdirSync(WORK, { recursive: true });
  for (const name of names) sh('gcc', ['-O2', '-Wall', '-o', path.join(WORK, name), path.join(HERE, 'c', `${name}.c`)]);
}

/**
 * Two namespaces joined by veth (`lo` up in both, `genIf` in `genNs`, `capIf` in `capNs`, both up);
 * `ipv6: false` turns IPv6 off in both. `down()` removes them (idempotent; also on SIGINT).
 */
function vethPair(prefix, { ipv6 = true } = {}) {
  const tag = process.pid.toString(36);
  const t = {
    genNs: `kring-${prefix}-${tag}-gen`,
    capNs: `kring-${prefix}-${tag}-cap`,
    genIf: `k${prefix[0]}g${tag}`.slice(0, 15),
    capIf: `k${prefix[0]}c${tag}`.slice(0, 15),
  };
  const down = () => {
    for (const ns of [t.genNs, t.capNs]) {
      try {
        sh('ip', ['netns', 'del', ns], { stdio: 'ignore' });
      } catch {
        // already gone
      }
    }
  };
  process.on('SIGINT', () => {
    down();
    process.exit(130);
  });
  for (const ns of [t.genNs, t.capNs]) {
    sh('ip', ['netns', 'add', ns]);
    if (!ipv6) {
      sh('ip', ['netns', 'exec', ns, 'sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1']);
      sh('ip', ['netns', 'exec', ns, 'sysctl', '-qw', 'net.ipv6.conf.default.disable_ipv6=1']);
    }
    sh('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
  }
  sh('ip', ['-n', t.genNs, 'link', 'add', t.genIf, 'type', 'veth', 'peer', 'name', t.capIf, 'netns', t.capNs]);
  sh('ip', ['-n', t.genNs, 'link', 'set', t.genIf, 'up']);
  sh('ip', ['-n', t.capNs, 'link', 'set', t.capIf, 'up']);
  return { ...t, down };
}

/**
 * Starts `argv` inside namespace `ns` pinned to `cpu` (ip netns exec and taskset both exec, so the
 * child's pid is the program's) and waits for it to print "ready" (10 s at most). `output()` is what it
 * printed so far; `stop(signal)` signals it, waits for its exit and answers everything it printed.
 */
async function startReady(ns, cpu, argv) {
  const child = spawn('ip', ['netns', 'exec', ns, 'taskset', '-c', String(cpu), ...argv], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  // 'close', not 'exit': the child's last output can still be in the pipe when it has exited.
  const exited = new Promise((r) => child.on('close', r));
  const deadline = Date.now() + 10000;
  while (!out.includes('ready')) {
    if (Date.now() > deadline) throw new Error(`${argv.join(' ')} did not start`);
    await sleep(10);
  }
  return {
    pid: child.pid,
    /** What it printed so far. */
    output: () => out,
    async stop(signal = 'SIGINT') {
      child.kill(signal);
      await exited;
      return out;
    },
  };
}

/** On-CPU time of every thread of `pid` (ns), from /proc/PID/task/{@literal *}/schedstat. */
function cpuNs(pid) {
  let total = 0;
  for (const task of fs.readdirSync(`/proc/${pid}/task`)) {
    try {
      total += Number(fs.readFileSync(`/proc/${pid}/task/${task}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      // thread exited
    }
  }
  return total;
}

/** Replaces what stands between `<!-- MARK:begin -->` and `<!-- MARK:end -->` in docs/benchmarks.md. */
function writeTable(mark, stamp, table) {
  const file = path.join(HERE, '..', 'docs', 'benchmarks.md');
  const begin = `<!-- ${mark}:begin -->`;
  const end = `<!-- ${mark}:end -->`;
  const doc = fs.readFileSync(file, 'utf8');
  fs.writeFileSync(file, doc.replace(new RegExp(`${begin}[\\s\\S]*${end}`), `${begin}\n${stamp}\n\n${table}\n${end}`));
}

module.exports = { HERE, WORK, sh, sleep, median, buildC, vethPair, cpuNs, startReady, writeTable, frameBenchOptions };
