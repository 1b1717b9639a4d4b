// Address text as inet_ntop writes it.
import { formatIPv6, parseAddress } from '../../src/rtnetlink/ip-address';

describe('IPv6 text as inet_ntop writes it', () => {
  it.each([
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['1:0:0:2:0:0:0:3', '1:0:0:2::3'],
    ['0:0:0:0:0:0:0:1', '::1'],
    ['0:0:0:0:0:ffff:102:304', '::ffff:1.2.3.4'],
    ['fe80:0:0:0:0:0:0:0', 'fe80::'],
    ['2001:db8:1:2:3:4:5:6', '2001:db8:1:2:3:4:5:6'],
    ['2001:0:1:0:1:0:1:0', '2001:0:1:0:1:0:1:0'],
  ])('%s → %s', (full, text) => {
    expect(formatIPv6(parseAddress(full).bytes)).toBe(text);
  });
});
