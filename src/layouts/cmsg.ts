/**
 * `struct cmsghdr` (include/linux/socket.h): the control messages recvmsg returns, walked as
 * CMSG_FIRSTHDR/CMSG_NXTHDR do. `cmsg_len` is a size_t, so the header and the alignment follow the
 * platform's word size.
 * @packageDocumentation
 */
import { arch } from 'node:process';

const LP64 = new Set(['x64', 'arm64', 'ppc64', 's390x', 'riscv64', 'loong64', 'mips64el']);
/** `sizeof(size_t)`: both the alignment of control messages and the size of `cmsg_len`. */
const WORD = LP64.has(arch) ? 8 : 4;
/** `CMSG_ALIGN(sizeof(struct cmsghdr))`: where a control message's data starts. */
const CMSG_HDR = WORD + 8;

/** `struct cmsghdr` field offsets (cmsg_len is a size_t; its low 32 bits are read). */
export const CMSGHDR = { cmsg_len: 0, cmsg_level: WORD, cmsg_type: WORD + 4 } as const;

/**
 * Calls `visit(dv, level, type, data, dataLen, context)` for each control message in
 * `[at, at + len)` of `dv` (`data` an offset in `dv`). Stops at a truncated or malformed one.
 * `dv` and `context` are handed through, so that a caller on a per-datagram path can pass a
 * module-level visitor instead of allocating a closure per call.
 */
export function forEachCmsg<T>(
  dv: DataView,
  at: number,
  len: number,
  visit: (dv: DataView, level: number, type: number, data: number, dataLen: number, context: T) => void,
  context: T,
): void {
  const end = at + len;
  let p = at;
  while (end - p >= CMSG_HDR) {
    const l = dv.getUint32(p + CMSGHDR.cmsg_len, true);
    if (l < CMSG_HDR || l > end - p) return;
    visit(dv, dv.getInt32(p + CMSGHDR.cmsg_level, true), dv.getInt32(p + CMSGHDR.cmsg_type, true), p + CMSG_HDR, l - CMSG_HDR, context);
    p += l + WORD - 1 - ((l + WORD - 1) % WORD);
  }
}
