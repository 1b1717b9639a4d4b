/* C reference reader for `npm run bench`: TPACKET_V3 RX ring, poll + block walk, reads each
 * frame's tp_len and tp_snaplen (as the kring readers do). Same geometry rule as kring's planner
 * for the same buffer size: blocks of min(1 MiB, buffer / 16), 4 ms block timeout.
 *
 *   v3reader IFACE RING_MB
 * Prints "ready" once capturing; on SIGUSR2 "mark captured=N" (the end of the warm-up: the benchmark
 * splits its loss figures there); on SIGINT "captured=N kpkts=N kdrops=N".
 */
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

static volatile sig_atomic_t stop;
static void on_sigint(int sig) { (void)sig; stop = 1; }
static volatile sig_atomic_t mark;
static void on_sigusr2(int sig) { (void)sig; mark = 1; }

int main(int argc, char **argv) {
  if (argc < 3) { fprintf(stderr, "usage: v3reader IFACE RING_MB\n"); return 2; }
  size_t ring = (size_t)atoi(argv[2]) << 20;
  unsigned block = ring / 16 < (1u << 20) ? (unsigned)(ring / 16) : (1u << 20);
  block = (block + 4095) & ~4095u;
  int fd = socket(AF_PACKET, SOCK_RAW, 0);
  if (fd < 0) { perror("socket"); return 1; }
  int v = TPACKET_V3;
  if (setsockopt(fd, SOL_PACKET, PACKET_VERSION, &v, sizeof v)) { perror("PACKET_VERSION"); return 1; }
  struct tpacket_req3 req = {0};
  req.tp_block_size = block;
  req.tp_block_nr = (unsigned)(ring / block);
  req.tp_frame_size = 2048;
  req.tp_frame_nr = req.tp_block_size / req.tp_frame_size * req.tp_block_nr;
  req.tp_retire_blk_tov = 4;
  if (setsockopt(fd, SOL_PACKET, PACKET_RX_RING, &req, sizeof req)) { perror("PACKET_RX_RING"); return 1; }
  size_t len = (size_t)req.tp_block_size * req.tp_block_nr;
  uint8_t *map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (map == MAP_FAILED) { perror("mmap"); return 1; }
  struct sockaddr_ll ll = {0};
  ll.sll_family = AF_PACKET;
  ll.sll_protocol = htons(ETH_P_ALL);
  ll.sll_ifindex = (int)if_nametoindex(argv[1]);
  if (bind(fd, (struct sockaddr *)&ll, sizeof ll)) { perror("bind"); return 1; }
  signal(SIGINT, on_sigint);
  signal(SIGUSR2, on_sigusr2);
  printf("ready\n");
  fflush(stdout);

  uint64_t captured = 0, sum = 0;
  unsigned cur = 0;
  struct pollfd pfd = {.fd = fd, .events = POLLIN | POLLERR};
  while (!stop) {
    if (mark) {
      mark = 0;
      printf("mark captured=%llu\n", (unsigned long long)captured);
      fflush(stdout);
    }
    struct tpacket_block_desc *bd = (void *)(map + (size_t)cur * req.tp_block_size);
    /* acquire: pairs with the kernel's release of block_status when it retires the block */
    if (!(__atomic_load_n(&bd->hdr.bh1.block_status, __ATOMIC_ACQUIRE) & TP_STATUS_USER)) {
      poll(&pfd, 1, 100);
      continue;
    }
    uint32_t n = bd->hdr.bh1.num_pkts;
    struct tpacket3_hdr *h = (void *)((uint8_t *)bd + bd->hdr.bh1.offset_to_first_pkt);
    for (uint32_t i = 0; i < n; i++) {
      sum += h->tp_len + h->tp_snaplen;
      h = (void *)((uint8_t *)h + h->tp_next_offset);
    }
    captured += n;
    /* release: the kernel reads block_status before reusing the block */
    __atomic_store_n(&bd->hdr.bh1.block_status, TP_STATUS_KERNEL, __ATOMIC_RELEASE);
    cur = (cur + 1) % req.tp_block_nr;
  }
  struct tpacket_stats_v3 st;
  socklen_t sl = sizeof st;
  getsockopt(fd, SOL_PACKET, PACKET_STATISTICS, &st, &sl);
  printf("captured=%llu kpkts=%u kdrops=%u sum=%llu\n", (unsigned long long)captured, st.tp_packets, st.tp_drops,
         (unsigned long long)sum);
  return 0;
}
