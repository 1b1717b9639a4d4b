/**
 * PACKET_FANOUT: joining a fanout group, whose members share an interface's packets (by flow hash,
 * round robin, CPU, …), and the group's BPF program (PACKET_FANOUT_DATA).
 * @packageDocumentation
 */
import {
  PACKET_FANOUT,
  PACKET_FANOUT_CBPF,
  PACKET_FANOUT_CPU,
  PACKET_FANOUT_DATA,
  PACKET_FANOUT_EBPF,
  PACKET_FANOUT_FLAG_DEFRAG,
  PACKET_FANOUT_FLAG_ROLLOVER,
  PACKET_FANOUT_FLAG_UNIQUEID,
  PACKET_FANOUT_HASH,
  PACKET_FANOUT_LB,
  PACKET_FANOUT_QM,
  PACKET_FANOUT_RND,
  PACKET_FANOUT_ROLLOVER,
  SOL_PACKET,
} from '../constants';
import { encodeSockFilter } from '../layouts/packet-sockopt';
import { native } from '../native';
import type { FanoutMode, NormalizedFanout } from './options';

const MODES: Record<FanoutMode, number> = {
  hash: PACKET_FANOUT_HASH,
  lb: PACKET_FANOUT_LB,
  cpu: PACKET_FANOUT_CPU,
  rollover: PACKET_FANOUT_ROLLOVER,
  rnd: PACKET_FANOUT_RND,
  qm: PACKET_FANOUT_QM,
  cbpf: PACKET_FANOUT_CBPF,
  ebpf: PACKET_FANOUT_EBPF,
};

/**
 * The PACKET_FANOUT option value: the group id in the low 16 bits, mode and flags in the high 16
 * (`fanout_add()` in net/packet/af_packet.c). Written as bytes: with DEFRAG it does not fit a
 * signed int.
 * @internal
 */
export function encodeFanout(f: Pick<NormalizedFanout, 'group' | 'mode' | 'rollover' | 'defrag' | 'uniqueId'>): Uint8Array {
  const flags = (f.rollover ? PACKET_FANOUT_FLAG_ROLLOVER : 0) | (f.defrag ? PACKET_FANOUT_FLAG_DEFRAG : 0) | (f.uniqueId ? PACKET_FANOUT_FLAG_UNIQUEID : 0);
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, (f.group | ((MODES[f.mode] | flags) << 16)) >>> 0, true);
  return b;
}

/**
 * Joins the group (the socket must be bound: the kernel refuses an unbound one), sets its program
 * for the BPF modes, and returns the group id as the kernel reports it (its own pick with
 * `uniqueId`).
 * @internal
 */
export function joinFanout(fd: number, f: NormalizedFanout): number {
  native.krSetsockopt({ fd, level: SOL_PACKET, name: PACKET_FANOUT, value: encodeFanout(f), op: 'PACKET_FANOUT' });
  if (f.mode === 'cbpf') {
    native.krSetProgram({ fd, level: SOL_PACKET, name: PACKET_FANOUT_DATA, instructions: encodeSockFilter(f.program as never), op: 'PACKET_FANOUT_DATA' });
  } else if (f.mode === 'ebpf') {
    native.krSetsockopt({ fd, level: SOL_PACKET, name: PACKET_FANOUT_DATA, value: f.program as number, op: 'PACKET_FANOUT_DATA' });
  }
  const out = new Uint8Array(4);
  native.krGetsockopt({ fd, level: SOL_PACKET, name: PACKET_FANOUT, out, op: 'PACKET_FANOUT' });
  return new DataView(out.buffer).getUint32(0, true) & 0xffff;
}
