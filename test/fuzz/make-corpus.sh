#!/usr/bin/env bash
# Captures the fuzzers' starting corpus from this kernel (as root; run from the repository after
# `npm run build`): kring's netlink traces of route, link, address and neighbour dumps and of an
# NFQUEUE conversation (bind, packets, verdicts, an error ACK), and tcpdump capture files of
# Ethernet frames (pcap, pcapng). The files are committed; the fuzzers mutate what they hold.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=test/fuzz/corpus
ns=kring-corpus-$$
peer=kring-corpus-peer-$$
ip netns add "$ns"
ip netns add "$peer"
trap 'ip netns del "$ns" 2>/dev/null || true; ip netns del "$peer" 2>/dev/null || true' EXIT
ip -n "$ns" link set lo up
ip -n "$ns" link add c0 type veth peer name c1 netns "$peer"
ip -n "$ns" link set c0 up
ip -n "$peer" link set c1 up
ip -n "$peer" addr add 10.8.0.2/24 dev c1
ip -n "$ns" addr add 10.8.0.1/24 dev c0
ip -n "$ns" addr add fd00::1/64 dev c0 nodad
ip -n "$ns" route add 10.9.0.0/16 via 10.8.0.2 proto static metric 7
ip -n "$ns" route add 10.10.0.0/16 nexthop via 10.8.0.2 weight 1 nexthop via 10.8.0.3 weight 2
ip -n "$ns" route add blackhole 10.11.0.0/16 table 100
ip -n "$ns" -6 route add fd01::/64 via fd00::2 metric 5
ip -n "$ns" neigh add 10.8.0.2 lladdr 02:00:00:00:00:02 dev c0
ip -n "$ns" neigh add fd00::2 lladdr 02:00:00:00:00:03 dev c0

node bin/kring.js routes -n "$ns" --table all --trace "$out/routes.pcapng" >/dev/null
node -e "
const { NetlinkSocket, getLinks, getAddresses, getNeighbours, NfQueue } = require('.');
(async () => {
  const socket = NetlinkSocket.open({ protocol: 'route', netns: '$ns', trace: '$out/rtnetlink.pcapng' });
  await getLinks({ socket }); await getAddresses({ socket }); await getNeighbours({ socket });
  socket.close();
})().catch((e) => { console.error(e); process.exit(1); });
"
# NFQUEUE: packets from c1 to c0's address queued, judged, and a second bind refused (EPERM, an error ACK).
ip netns exec "$ns" iptables-legacy -w -t mangle -A PREROUTING -i c0 -p udp --dport 9 -j NFQUEUE --queue-num 3
node -e "
const { NfQueue } = require('.');
(async () => {
  const q = await NfQueue.open({ queue: 3, netns: '$ns', trace: '$out/nfqueue.pcapng', flags: { uidGid: true } });
  let n = 0;
  q.batches().subscribe((ps) => ps.forEach((p) => { n++ % 2 ? q.drop(p) : q.accept(p, { mark: 7 }); }));
  await NfQueue.open({ queue: 3, netns: '$ns' }).catch(() => undefined);
  require('node:child_process').spawnSync('ip', ['netns', 'exec', '$peer', 'python3', '-c',
    \"import socket\\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\\nfor i in range(6): s.sendto(b'corpus%d'%i,('10.8.0.1',9))\"]);
  await new Promise((r) => setTimeout(r, 500));
  q.close();
  console.error('nfqueue packets:', n);
})().catch((e) => { console.error(e); process.exit(1); });
"
# Capture files: tcpdump on c0 while frames of several kinds cross the pair.
ip netns exec "$ns" tcpdump -i c0 -w "$out/frames.pcap" -c 10 -U 2>/dev/null &
t1=$!
ip netns exec "$ns" tcpdump -i c0 -w "$out/frames.pcapng" --time-stamp-precision=nano -c 10 -U 2>/dev/null &
t2=$!
sleep 1
ip netns exec "$peer" python3 -c "
import socket
s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)
for i in range(4): s.sendto(b'udp%d'%i,('10.8.0.1',5000+i))
t=socket.socket(socket.AF_INET,socket.SOCK_STREAM); t.settimeout(0.2)
try: t.connect(('10.8.0.1',7))
except Exception: pass
r=socket.socket(socket.AF_PACKET,socket.SOCK_RAW); r.bind(('c1',0))
for i in range(4): r.send(bytes.fromhex('ffffffffffff020000000002810000640800')+bytes.fromhex('4500001c0001000040110000')+bytes(28))
"
wait $t1 $t2 || true
ls -l "$out"
