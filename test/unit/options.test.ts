// Misuse is caught in TypeScript before any native call.
import { PacketSocket } from '../../src';
import { constants as bufferConstants } from 'node:buffer';
import { native } from '../../src/native';
import { NetlinkSocket } from '../../src/netlink/socket';
import { links, routes } from '../../src/rtnetlink/readers';

const MAX_LENGTH = bufferConstants.MAX_LENGTH;

// Every case must throw before native code opens anything.
function noSocketOpened(): void {
  let socketSpy: jest.SpyInstance;
  beforeEach(() => {
    socketSpy = jest.spyOn(native, 'krSocket');
  });
  afterEach(() => {
    expect(socketSpy).not.toHaveBeenCalled();
    socketSpy.mockRestore();
  });
}

function expectThrown(f: () => unknown, cls: ErrorConstructor, msg: string | RegExp): void {
  let err: unknown;
  try {
    f();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(cls);
  if (typeof msg === 'string') expect((err as Error).message).toBe(msg);
  else expect((err as Error).message).toMatch(msg);
}

describe('PacketSocket.open validates options before native code runs', () => {
  noSocketOpened();
  const cases: [string, unknown, ErrorConstructor, string | RegExp][] = [
    ['no options', undefined, TypeError, 'PacketSocket.open() needs an options object'],
    ['missing interface', {}, TypeError, /interface must be a non-empty string/],
    ['long interface', { interface: 'x'.repeat(16) }, RangeError, /longer than IFNAMSIZ - 1 \(15\)/],
    ['bad version', { interface: 'lo', version: 'v4' }, RangeError, `version must be 'v1', 'v2' or 'v3', got "v4"`],
    ['bad mode', { interface: 'lo', mode: 'cooked' }, RangeError, /mode must be 'raw' or 'dgram'/],
    ['protocol range', { interface: 'lo', protocol: 0x10000 }, RangeError, 'protocol must be between 0 and 65535, got 65536'],
    ['protocol type', { interface: 'lo', protocol: '3' }, TypeError, 'protocol must be an integer, got "3"'],
    ['snaplen 0', { interface: 'lo', snaplen: 0 }, RangeError, 'snaplen must be between 1 and 262144, got 0'],
    ['copyThreshold on v3', { interface: 'lo', copyThreshold: true }, RangeError, /copyThreshold applies to TPACKET_V1\/V2 only/],
    ['rxhash on v2', { interface: 'lo', version: 'v2', rxhash: true }, RangeError, /rxhash needs TPACKET_V3/],
    [
      'geometry and hints',
      { interface: 'lo', geometry: { blockSize: 4096, blockCount: 1, frameSize: 2048, frameCount: 2 }, bufferBytes: 4096 },
      TypeError,
      /either geometry or the sizing hints/,
    ],
    ['half a rate hint', { interface: 'lo', lineRatePps: 1000 }, TypeError, 'lineRatePps and milliseconds go together'],
    ['promiscuous type', { interface: 'lo', promiscuous: 1 }, TypeError, 'promiscuous must be a boolean, got 1'],
    ['netns with slash', { interface: 'lo', netns: 'a/b' }, RangeError, /must not contain '\/'/],
    [
      'bad geometry',
      { interface: 'lo', version: 'v2', geometry: { blockSize: 4096, blockCount: 1, frameSize: 2048, frameCount: 3 } },
      RangeError,
      /frameCount \(tp_frame_nr\) 3 must equal/,
    ],
    // The ring is one ArrayBuffer: Node refuses one past buffer.constants.MAX_LENGTH (native used to double-free).
    [
      'ring over MAX_LENGTH',
      { interface: 'lo', bufferBytes: 2 ** 33 },
      RangeError,
      `bufferBytes must be between 4096 and ${MAX_LENGTH} (buffer.constants.MAX_LENGTH: the ring is one ArrayBuffer), got 8589934592`,
    ],
    [
      'geometry over MAX_LENGTH',
      { interface: 'lo', geometry: { blockSize: 1 << 20, blockCount: 4097, frameSize: 1 << 20, frameCount: 4097 } },
      RangeError,
      `a ring of ${4097 * 2 ** 20} bytes is larger than the largest ArrayBuffer this Node allows (buffer.constants.MAX_LENGTH = ${MAX_LENGTH})`,
    ],
    // A C string ends at the NUL: 'lo\0garbage' would open lo.
    ['NUL in interface', { interface: 'lo\0garbage' }, TypeError, 'interface name "lo\\u0000garbage" contains a NUL character'],
    ['NUL in netns', { interface: 'lo', netns: 'a\0b' }, TypeError, /contains a NUL character/],
    // Names on Object.prototype are not versions, and the message never prints a function's source.
    ['toString as version', { interface: 'lo', version: 'toString' }, RangeError, `version must be 'v1', 'v2' or 'v3', got "toString"`],
    ['constructor as version', { interface: 'lo', version: 'constructor' }, RangeError, `version must be 'v1', 'v2' or 'v3', got "constructor"`],
    ['function as version', { interface: 'lo', version: () => 1 }, RangeError, `version must be 'v1', 'v2' or 'v3', got function`],
    // TX rings, fanout, timestamps.
    ['no ring at all', { interface: 'lo', rx: false }, TypeError, 'a PacketSocket needs a ring: rx (the default) or tx'],
    ['tx on any', { interface: 'any', tx: true }, RangeError, "a TX ring sends on one interface: name it (not 'any')"],
    ['tx in dgram mode', { interface: 'lo', mode: 'dgram', tx: true }, RangeError, "a TX ring sends link-layer frames: use mode 'raw'"],
    ['tx not an object', { interface: 'lo', tx: 'yes' }, TypeError, 'tx must be a boolean or an options object, got "yes"'],
    ['tx batch 0', { interface: 'lo', tx: { batch: 0 } }, RangeError, 'tx.batch must be between 1 and 65536, got 0'],
    ['tx packetLoss type', { interface: 'lo', tx: { packetLoss: 'on' } }, TypeError, 'tx.packetLoss must be a boolean, got "on"'],
    [
      'tx geometry and size',
      { interface: 'lo', tx: { geometry: { blockSize: 4096, blockCount: 1, frameSize: 2048, frameCount: 2 }, frameSize: 2048 } },
      TypeError,
      /tx.geometry or tx.bufferBytes\/tx.frameSize, not both/,
    ],
    [
      'tx bad geometry',
      { interface: 'lo', version: 'v2', tx: { geometry: { blockSize: 4096, blockCount: 1, frameSize: 2008, frameCount: 2 } } },
      RangeError,
      /frameSize \(tp_frame_size\) 2008 must be a multiple of TPACKET_ALIGNMENT/,
    ],
    ['fanout without group', { interface: 'lo', fanout: { mode: 'hash' } }, TypeError, 'fanout.group is required (or set fanout.uniqueId)'],
    [
      'fanout mode',
      { interface: 'lo', fanout: { group: 1, mode: 'fair' } },
      RangeError,
      /fanout.mode must be 'hash', 'lb', 'cpu', 'rollover', 'rnd', 'qm', 'cbpf', 'ebpf', got "fair"/,
    ],
    ['fanout group range', { interface: 'lo', fanout: { group: 65536, mode: 'hash' } }, RangeError, 'fanout.group must be between 0 and 65535, got 65536'],
    ['fanout uniqueId with group', { interface: 'lo', fanout: { group: 5, mode: 'hash', uniqueId: true } }, RangeError, /leave fanout.group out/],
    ['fanout cbpf without program', { interface: 'lo', fanout: { group: 1, mode: 'cbpf' } }, TypeError, /needs program: 1 to 4096 classic BPF instructions/],
    [
      'fanout program for hash',
      { interface: 'lo', fanout: { group: 1, mode: 'hash', program: 3 } },
      TypeError,
      "fanout.program is for modes 'cbpf' and 'ebpf', not 'hash'",
    ],
    [
      'fanout send-only',
      { interface: 'lo', rx: false, tx: true, fanout: { group: 1, mode: 'hash' } },
      RangeError,
      'fanout spreads received packets: it needs the RX ring',
    ],
    [
      'timestamp source',
      { interface: 'lo', timestampSource: 'atomic' },
      RangeError,
      `timestampSource must be 'software', 'hardware', 'raw-hardware', got "atomic"`,
    ],
    [
      'hardware stamps on any',
      { interface: 'any', timestampSource: 'raw-hardware' },
      RangeError,
      "hardware timestamps are a device's: name the interface (not 'any')",
    ],
  ];
  it.each(cases)('%s', (_n, opts, cls, msg) => expectThrown(() => PacketSocket.open(opts as never), cls, msg));
});

describe('NetlinkSocket.open and the readers validate options before native code runs', () => {
  noSocketOpened();
  const cases: [string, () => unknown, ErrorConstructor, string | RegExp][] = [
    // 2^31 used to reach setsockopt as an int: INT_MIN, which the kernel clamps to its minimum.
    ['rcvbuf 2^31', () => NetlinkSocket.open({ protocol: 'route', rcvbuf: 2 ** 31 }), RangeError, 'rcvbuf must be between 1024 and 2147483647, got 2147483648'],
    ['extAck not a boolean', () => NetlinkSocket.open({ protocol: 'route', extAck: 'no' as never }), TypeError, 'extAck must be a boolean, got "no"'],
    ['strict not a boolean', () => NetlinkSocket.open({ protocol: 'route', strict: 1 as never }), TypeError, 'strict must be a boolean, got 1'],
    ['noEnobufs not a boolean', () => NetlinkSocket.open({ protocol: 'route', noEnobufs: null as never }), TypeError, 'noEnobufs must be a boolean, got null'],
    [
      'protocol from the prototype',
      () => NetlinkSocket.open({ protocol: 'constructor' as never }),
      RangeError,
      `protocol must be 'route', 'netfilter' or a netlink protocol number 0..31, got "constructor"`,
    ],
    [
      'ring from the prototype',
      () => NetlinkSocket.open({ protocol: 'route', ring: 'toString' as never }),
      RangeError,
      `ring must be 'auto', 'kernel', 'emulated', got "toString"`,
    ],
    [
      'rings over MAX_LENGTH',
      () => NetlinkSocket.open({ protocol: 'route', rx: { blockSize: 1 << 20, blockCount: 4097, frameSize: 1 << 20, frameCount: 4097 } }),
      RangeError,
      /the RX and TX rings of \d+ bytes is larger than the largest ArrayBuffer/,
    ],
    ['links(null)', () => links(null as never), TypeError, 'links() takes an options object, got null'],
    ['filter.oif not a number', () => routes({ filter: { oif: 'eth0' as never } }), TypeError, 'filter.oif must be an integer, got "eth0"'],
    ['filter.oif 0', () => routes({ filter: { oif: 0 } }), RangeError, 'filter.oif must be between 1 and 2147483647 (an interface index), got 0'],
    ['filter.predicate not a function', () => routes({ filter: { predicate: 5 as never } }), TypeError, 'filter.predicate must be a function, got 5'],
    ['netns with a NUL', () => routes({ netns: 'a\0' }), TypeError, /contains a NUL character/],
  ];
  it.each(cases)('%s', (_n, f, cls, msg) => expectThrown(f, cls, msg));
});
