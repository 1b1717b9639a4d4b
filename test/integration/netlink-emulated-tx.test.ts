// The emulated NETLINK_TX_RING on real rtnetlink: requests written into frames go out in one
// sendmmsg, answers come back through the emulated RX ring; errors follow the kernel's TX rules.
import { AF_NETLINK, NL_MMAP_HDRLEN, NL_MMAP_STATUS_UNUSED, NL_MMAP_STATUS_VALID, RTM_GETLINK, RTM_NEWLINK } from '../../src/constants';
import { NL_MMAP_HDR } from '../../src/layouts/nl-mmap';
import { EmulatedRxRing } from '../../src/netlink/emulated-rx';
import { EmulatedTxRing } from '../../src/netlink/emulated-tx';
import { MessageBuilder, MessageCursor } from '../../src/netlink/message';
import { NLM_F_REQUEST } from '../../src/constants';
import { withRoute } from '../helpers/netlink';
import { createVethPair, VethPair } from '../helpers/netns';
import { describePrivileged } from '../helpers/privileged';
import { sleep } from '../helpers/traffic';

const geometry = { blockSize: 8192, blockCount: 8, frameSize: 4096, frameCount: 16 };
// RTM_GETLINK for ifindex 1 (lo), one request per frame.
const getLo = (seq: number) => {
  const ifinfomsg = new Uint8Array(16);
  new DataView(ifinfomsg.buffer).setInt32(4, 1, true);
  return new MessageBuilder().begin(RTM_GETLINK, NLM_F_REQUEST, seq).bytes(ifinfomsg).finish().slice();
};

describePrivileged('emulated netlink TX ring on rtnetlink', () => {
  let t: VethPair;
  beforeAll(() => {
    t = createVethPair();
  });
  afterAll(() => t?.destroy());

  it('50 requests written into frames go out in one flush and are answered in order', () =>
    withRoute(t.capNs, async (fd) => {
      const tx = new EmulatedTxRing(fd, geometry);
      const rx = new EmulatedRxRing(fd, { blockSize: 65536, blockCount: 16, frameSize: 16384, frameCount: 64 });
      const writer = tx.writer();
      const sent = await writer.writeAll(Array.from({ length: 50 }, (_, i) => getLo(i + 1)));
      expect(sent).toBe(50);
      expect(Array.from({ length: 16 }, (_, i) => tx.ring.status(i)).every((s) => s === NL_MMAP_STATUS_UNUSED)).toBe(true);
      const seqs: number[] = [];
      const idx = new Uint32Array(64);
      for (const deadline = Date.now() + 5000; seqs.length < 50 && Date.now() < deadline;) {
        rx.fill();
        const n = rx.ring.takeRx(64, idx);
        if (n === 0) await sleep(1);
        for (let k = 0; k < n; k++) {
          const at = rx.ring.slotOffsets[idx[k]];
          const len = new DataView(rx.buffer).getUint32(at + NL_MMAP_HDR.nm_len, true);
          const m = new MessageCursor(new Uint8Array(rx.buffer, at + NL_MMAP_HDRLEN, len));
          while (m.next()) if (m.type === RTM_NEWLINK) seqs.push(m.seq);
          rx.ring.releaseRx(idx[k]);
        }
      }
      expect(seqs).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    }));

  it('an unknown destination: the first frame is consumed and lost, ECONNREFUSED, later frames stay VALID', () =>
    withRoute(t.capNs, async (fd) => {
      const tx = new EmulatedTxRing(fd, geometry);
      const w = tx.writer();
      for (let i = 0; i < 3; i++) w.tryWrite(getLo(i + 1));
      const nowhere = new Uint8Array(12);
      new DataView(nowhere.buffer).setUint16(0, AF_NETLINK, true);
      new DataView(nowhere.buffer).setUint32(4, 0x7ffe1234, true); // no socket has this port id
      expect(tx.send(nowhere)).toEqual({ sent: 0, bytes: 0, errno: 111 });
      expect([0, 1, 2].map((i) => tx.ring.status(i))).toEqual([NL_MMAP_STATUS_UNUSED, NL_MMAP_STATUS_VALID, NL_MMAP_STATUS_VALID]);
      expect(tx.head).toBe(1);
      expect(tx.send()).toEqual({ sent: 2, bytes: 64, errno: 0 }); // to the kernel: fine
    }));

  it('an nm_len larger than a frame stops the walk with EINVAL, the frame left VALID and the head unchanged', () =>
    withRoute(t.capNs, async (fd) => {
      const tx = new EmulatedTxRing(fd, geometry);
      tx.writer().tryWrite(getLo(1));
      const i = tx.ring.takeTx();
      new DataView(tx.buffer).setUint32(tx.ring.slotOffsets[i] + NL_MMAP_HDR.nm_len, 4096, true);
      tx.ring.submitTx(i);
      expect(tx.send()).toEqual({ sent: 1, bytes: 32, errno: 22 });
      expect([tx.ring.status(0), tx.ring.status(1)]).toEqual([NL_MMAP_STATUS_UNUSED, NL_MMAP_STATUS_VALID]);
      expect(tx.head).toBe(1);
      expect(tx.send()).toEqual({ sent: 0, bytes: 0, errno: 22 }); // and it blocks later sends, as in the kernel
    }));

  it('close() detaches and unmaps the ring: a writer or view kept past it throws TypeError; a second close() does nothing', () => {
    const tx = new EmulatedTxRing(-1, geometry);
    const w = tx.writer();
    const stale = new Uint8Array(tx.buffer);
    expect(tx.buffer.byteLength).toBe(64 - NL_MMAP_HDRLEN + 8 * 8192);
    tx.close();
    tx.close();
    expect([tx.buffer.byteLength, stale.length]).toEqual([0, 0]);
    expect(() => w.tryWrite(getLo(1))).toThrow(TypeError);
    expect(() => tx.ring.status(0)).toThrow(TypeError);
  });
});
