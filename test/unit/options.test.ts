// Misuse is caught in TypeScript before any native call.
import { PacketSocket } from '../../src';
import { native } from '../../src/native';

describe('PacketSocket.open validates options before native code runs', () => {
  let socketSpy: jest.SpyInstance;
  beforeEach(() => {
    socketSpy = jest.spyOn(native, 'krSocket');
  });
  afterEach(() => {
    expect(socketSpy).not.toHaveBeenCalled();
    socketSpy.mockRestore();
  });
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
    ['geometry and hints', { interface: 'lo', geometry: { blockSize: 4096, blockCount: 1, frameSize: 2048, frameCount: 2 }, bufferBytes: 4096 }, TypeError, /either geometry or the sizing hints/],
    ['half a rate hint', { interface: 'lo', lineRatePps: 1000 }, TypeError, 'lineRatePps and milliseconds go together'],
    ['promiscuous type', { interface: 'lo', promiscuous: 1 }, TypeError, 'promiscuous must be a boolean, got 1'],
    ['netns with slash', { interface: 'lo', netns: 'a/b' }, RangeError, /must not contain '\/'/],
    ['bad geometry', { interface: 'lo', version: 'v2', geometry: { blockSize: 4096, blockCount: 1, frameSize: 2048, frameCount: 3 } }, RangeError, /frameCount \(tp_frame_nr\) 3 must equal/],
  ];
  it.each(cases)('%s', (_n, opts, cls, msg) => {
    let err: unknown;
    try {
      PacketSocket.open(opts as never);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(cls);
    if (typeof msg === 'string') expect((err as Error).message).toBe(msg);
    else expect((err as Error).message).toMatch(msg);
  });
});
