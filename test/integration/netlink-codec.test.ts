// The netlink message codec against the real kernel's rtnetlink, in a test namespace.
import { execFileSync } from 'node:child_process';
import { IFINFOMSG_SIZE, IFLA_IFNAME, NETLINK_EXT_ACK, RTM_GETLINK, RTM_NEWLINK, SOL_NETLINK } from '../../src/constants';
import { native } from '../../src/native';
import { AttrCursor, MessageBuilder, MessageCursor, parseAck } from '../../src/netlink/message';
import { NLM_F_ACK, NLM_F_CREATE, NLM_F_DUMP, NLM_F_EXCL, NLM_F_REQUEST, NLMSG_DONE, NLMSG_ERROR } from '../../src/constants';
import { createVethPair, VethPair } from '../helpers/netns';
import { describePrivileged } from '../helpers/privileged';
import { sleep } from '../helpers/traffic';
import { openRoute, sendNl } from '../helpers/netlink';

describePrivileged('netlink codec against rtnetlink', () => {
  let t: VethPair;
  let fd = -1;
  beforeAll(() => {
    t = createVethPair();
    fd = openRoute(t.capNs);
    native.krSetsockopt({ fd: fd, level: SOL_NETLINK, name: NETLINK_EXT_ACK, value: 1, op: 'NETLINK_EXT_ACK' });
  });
  afterAll(() => {
    if (fd >= 0) native.krClose(fd, 'AF_NETLINK');
    t?.destroy();
  });
  const send = (bytes: Uint8Array) => expect(sendNl(fd, bytes)).toBe(1);
  // Reads datagrams until one holds NLMSG_DONE or NLMSG_ERROR.
  async function receive(): Promise<Buffer[]> {
    const out: Buffer[] = [];
    const buf = Buffer.alloc(32768);
    for (let tries = 0; tries < 400; tries++) {
      const n = native.krRecv({ fd: fd, buf: buf, flags: 0, op: 'recv' });
      if (n < 0) {
        await sleep(5);
        continue;
      }
      const d = Buffer.from(buf.subarray(0, n));
      out.push(d);
      const m = new MessageCursor(d);
      let end = false;
      while (m.next()) end ||= m.type === NLMSG_DONE || m.type === NLMSG_ERROR;
      expect(m.error).toBeNull();
      if (end) return out;
    }
    throw new Error('no NLMSG_DONE');
  }

  it('a link dump decodes to exactly the links `ip -j link` shows', async () => {
    send(
      new MessageBuilder()
        .begin(RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP, 1)
        .bytes(new Uint8Array(IFINFOMSG_SIZE))
        .finish(),
    );
    const links: [number, string][] = [];
    for (const d of await receive()) {
      const m = new MessageCursor(d);
      while (m.next()) {
        if (m.type !== RTM_NEWLINK) continue;
        expect(m.seq).toBe(1);
        const a = new AttrCursor(m.dv, m.payload + IFINFOMSG_SIZE, m.offset + m.len);
        while (a.next()) if (a.type === IFLA_IFNAME) links.push([m.dv.getInt32(m.payload + 4, true), a.string()]);
        expect(a.error).toBeNull();
      }
    }
    const ip = JSON.parse(execFileSync('ip', ['-n', t.capNs, '-j', 'link'], { encoding: 'utf8' })) as { ifindex: number; ifname: string }[];
    expect(links).toEqual(ip.map((l) => [l.ifindex, l.ifname]));
    expect(links.map(([, n]) => n)).toEqual(['lo', t.capIf]);
  });

  it('a failed request comes back as NLMSG_ERROR with errno and the extended ACK naming the attribute offset', async () => {
    // IFLA_IFNAME longer than IFNAMSIZ fails policy validation; the attribute sits right after
    // nlmsghdr (16) and ifinfomsg (16): offset 32.
    const req = new MessageBuilder()
      .begin(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, 2)
      .bytes(new Uint8Array(IFINFOMSG_SIZE))
      .string(IFLA_IFNAME, 'x'.repeat(20))
      .finish()
      .slice();
    send(req);
    const [d] = await receive();
    const m = new MessageCursor(d);
    expect(m.next()).toBe(true);
    expect(m.type).toBe(NLMSG_ERROR);
    expect(parseAck(m)).toEqual({
      error: -34, // ERANGE
      request: { len: req.length, type: RTM_NEWLINK, flags: NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, seq: 2, pid: 0 },
      extackMessage: 'Attribute failed policy validation',
      extackOffset: 32,
    });
  });
});
