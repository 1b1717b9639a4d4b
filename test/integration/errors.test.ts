// Kernel failures surface as RingError with code, errno, syscall, op and (for privileges) a hint.
import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { PacketSocket, RingError } from '../../src';
import { createVethPair, VethPair } from '../helpers/netns';
import { describePrivileged } from '../helpers/privileged';

const fdCount = () => readdirSync('/proc/self/fd').length;

function openError(opts: Parameters<typeof PacketSocket.open>[0]): RingError {
  try {
    PacketSocket.open(opts).close();
  } catch (e) {
    return e as RingError;
  }
  throw new Error('open() succeeded');
}

describePrivileged('kernel errors', () => {
  let t: VethPair;
  beforeAll(() => {
    t = createVethPair();
  });
  afterAll(() => t?.destroy());

  it('a missing interface is ENODEV from SIOCGIFINDEX, and the failed open leaks nothing', () => {
    const before = fdCount();
    const e = openError({ interface: 'kring-nope0', netns: t.capNs });
    expect(e).toBeInstanceOf(RingError);
    expect(e).toMatchObject({ code: 'ENODEV', errno: 19, syscall: 'ioctl', op: 'SIOCGIFINDEX', hint: undefined });
    expect(e.message).toBe(`ioctl(SIOCGIFINDEX): ENODEV, no interface named kring-nope0 in network namespace /run/netns/${t.capNs}`);
    expect(fdCount()).toBe(before);
  });

  it('an interface that exists only in another namespace is ENODEV here', () => {
    const e = openError({ interface: t.genIf, netns: t.capNs });
    expect(e.code).toBe('ENODEV');
  });

  it('a missing namespace is ENOENT from open, named', () => {
    const e = openError({ interface: 'lo', netns: 'kring-no-such-netns' });
    expect(e).toMatchObject({ code: 'ENOENT', errno: 2, syscall: 'open', op: '/run/netns/kring-no-such-netns' });
    expect(e.message).toBe('open(/run/netns/kring-no-such-netns): ENOENT, no such network namespace');
  });

  it('without CAP_NET_RAW, socket(AF_PACKET) is EPERM with the capability hint', () => {
    // setpriv drops CAP_NET_RAW from the bounding set, so the child (still uid 0) cannot have it.
    const out = execFileSync(
      'setpriv',
      ['--bounding-set', '-net_raw', '--inh-caps', '-net_raw', process.execPath, join(__dirname, '..', 'fixtures', 'open-packet.js'), 'lo'],
      {
        encoding: 'utf8',
      },
    );
    const e = JSON.parse(out);
    expect(e).toMatchObject({ name: 'RingError', code: 'EPERM', errno: 1, syscall: 'socket', op: 'AF_PACKET' });
    expect(e.hint).toMatch(/CAP_NET_RAW/);
    expect(e.message).toMatch(/^socket\(AF_PACKET\): EPERM, Operation not permitted \(AF_PACKET sockets need CAP_NET_RAW/);
  });

  it('the same child with CAP_NET_RAW opens the socket (the EPERM above is the capability)', () => {
    const out = execFileSync(process.execPath, [join(__dirname, '..', 'fixtures', 'open-packet.js'), 'lo'], { encoding: 'utf8' });
    expect(JSON.parse(out)).toEqual({ opened: true });
  });
});

describe('native limits', () => {
  it('a mapping past buffer.constants.MAX_LENGTH is a RangeError from krMmap, never a double free (child process)', () => {
    const script = `
      const { native } = require(${JSON.stringify(join(__dirname, '..', '..', 'dist', 'native'))});
      const out = [];
      for (const len of [2 ** 33, 4097 * 2 ** 20]) {
        try { native.krMmap(-1, len, 'test'); out.push('mapped'); } catch (e) { out.push(e.name + ': ' + e.message); }
      }
      const ok = native.krMmap(-1, 4096, 'test');
      native.krMunmap(ok, 'ring');
      out.push(ok.byteLength);
      console.log(JSON.stringify(out));
    `;
    const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 20_000 });
    expect({ status: r.status, signal: r.signal, stderr: r.stderr }).toEqual({ status: 0, signal: null, stderr: '' });
    expect(JSON.parse(r.stdout)).toEqual([
      'RangeError: krMmap(test): a mapping of 8589934592 bytes cannot be an ArrayBuffer in this runtime (larger than buffer.constants.MAX_LENGTH?)',
      'RangeError: krMmap(test): a mapping of 4296015872 bytes cannot be an ArrayBuffer in this runtime (larger than buffer.constants.MAX_LENGTH?)',
      0,
    ]);
  });
});
