// What `kring` exports: what a user needs, not the internals (docs/architecture.md).
import * as kring from '../../src';

describe('the public surface', () => {
  it('exports the sockets, readers, batches, errors, layouts and constants', () => {
    for (const name of [
      'PacketSocket',
      'NetlinkSocket',
      'routes',
      'getLinks',
      'RouteTable',
      'NfQueue',
      'QueueWorkers',
      'VerdictError',
      'PacketWriter',
      'WrongFormatError',
      'PacketSocketClosedError',
      'FanoutWorkers',
      'CaptureParser',
      'readCaptureFile',
      'CaptureFileError',
      'FrameBatch',
      'RingError',
      'LeaseError',
      'SocketClosedError',
      'Ring',
      'RingWriter',
      'tpacketV3Block',
      'nlMmap',
      'MessageBuilder',
      'constants',
    ]) {
      expect(typeof (kring as Record<string, unknown>)[name]).not.toBe('undefined');
    }
  });

  it('leaves the internals out', () => {
    for (const name of [
      'KernelRings',
      'nativeRingCalls',
      'EmulatedRxRing',
      'EmulatedTxRing',
      'NetlinkReader',
      'locateMessage',
      'v3FirstFrame',
      'v3NextFrame',
      'routeJson',
      'tableName',
      'openNetlinkSocket',
      'setDefaultRingCalls',
      'VerdictBook',
      'packFrames',
      'joinFanout',
      'setTimestamping',
      'CapturedFrame',
    ]) {
      expect(Object.keys(kring)).not.toContain(name);
    }
  });
});
