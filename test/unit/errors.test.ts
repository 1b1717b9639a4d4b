import { RingError } from '../../src';

describe('RingError', () => {
  it('is shaped like a SystemError plus op, with a capability hint for EPERM', () => {
    const e = new RingError(1, 'setsockopt', 'PACKET_RX_RING', 'Operation not permitted');
    expect(e).toBeInstanceOf(Error);
    expect(e.name).toBe('RingError');
    expect(e.code).toBe('EPERM');
    expect(e.errno).toBe(1);
    expect(e.syscall).toBe('setsockopt');
    expect(e.op).toBe('PACKET_RX_RING');
    expect(e.hint).toMatch(/CAP_NET_RAW/);
    expect(e.message).toBe(`setsockopt(PACKET_RX_RING): EPERM, Operation not permitted (${e.hint})`);
  });
  it('gives no privilege hint for an EPERM that is not about privileges', () => {
    expect(new RingError(1, 'epoll_ctl', 'poll', 'Operation not permitted').hint).toBeUndefined();
  });
  it('has no hint when the fix is not a privilege', () => {
    const e = new RingError(19, 'ioctl', 'SIOCGIFINDEX', 'No such device');
    expect(e.code).toBe('ENODEV');
    expect(e.hint).toBeUndefined();
    expect(e.message).toBe('ioctl(SIOCGIFINDEX): ENODEV, No such device');
  });
});
