/* The TX reference for `npm run bench:tx`: sends COUNT frames of SIZE bytes (ethertype 0x88B5,
 * sequence number at byte 14) on IFACE through a TPACKET_V2 TX ring of FRAMES frames of FRAME_SIZE
 * bytes, BATCH frames per send(fd, NULL, 0, MSG_DONTWAIT), waiting in poll(POLLOUT) when the ring
 * is full: the same work, geometry and kick as kring's PacketWriter.
 *
 *   txring IFACE COUNT SIZE FRAME_SIZE FRAMES BATCH [WARMUP]
 * Sends WARMUP frames first (not counted), prints "ready", then sends COUNT and prints
 * "sent=N ns=WALL cpu_ns=CPU": the frames the kernel took, and the wall and process CPU time
 * (CLOCK_PROCESS_CPUTIME_ID, every thread) from "ready" to the kernel having taken the last one.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc < 7) { fprintf(stderr, "usage: txring IFACE COUNT SIZE FRAME_SIZE FRAMES BATCH [WARMUP]\n"); return 2; }
  long warmup = argc > 7 ? atol(argv[7]) : 0;
  long count = atol(argv[2]) + warmup;
  int size = atoi(argv[3]), frame_size = atoi(argv[4]), frames = atoi(argv[5]), batch = atoi(argv[6]);
  int fd = socket(AF_PACKET, SOCK_RAW, 0);
  if (fd < 0) { perror("socket"); return 1; }
  int v = TPACKET_V2;
  if (setsockopt(fd, SOL_PACKET, PACKET_VERSION, &v, sizeof v)) { perror("PACKET_VERSION"); return 1; }
  long page = sysconf(_SC_PAGESIZE);
  /* One frame per block rounded to pages would waste memory: pack as many frames per page-multiple block as kring's planner does for this size (blocks of 16 pages at most). */
  int block = (int)page;
  while (block < frame_size) block += (int)page;
  int best = block, pages;
  double best_waste = (double)(block % frame_size) / (block / frame_size);
  for (pages = block / (int)page + 1; pages <= 16; pages++) {
    int b = pages * (int)page;
    double w = (double)(b % frame_size) / (b / frame_size);
    if (w < best_waste) { best = b; best_waste = w; }
  }
  int per_block = best / frame_size;
  int blocks = (frames + per_block - 1) / per_block;
  struct tpacket_req req = { (unsigned)best, (unsigned)blocks, (unsigned)frame_size, (unsigned)(per_block * blocks) };
  frames = (int)req.tp_frame_nr;
  if (setsockopt(fd, SOL_PACKET, PACKET_TX_RING, &req, sizeof req)) { perror("PACKET_TX_RING"); return 1; }
  size_t bytes = (size_t)best * (size_t)blocks;
  uint8_t *map = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (map == MAP_FAILED) { perror("mmap"); return 1; }
  struct sockaddr_ll ll = {0};
  ll.sll_family = AF_PACKET;
  ll.sll_ifindex = (int)if_nametoindex(argv[1]);
  if (bind(fd, (struct sockaddr *)&ll, sizeof ll)) { perror("bind"); return 1; }
  uint8_t tmpl[9000];
  memset(tmpl, 0xff, 6);
  memset(tmpl + 6, 0x02, 6);
  tmpl[12] = 0x88;
  tmpl[13] = 0xb5;
  for (int i = 18; i < size; i++) tmpl[i] = (uint8_t)i;
  const size_t data_off = TPACKET_ALIGN(sizeof(struct tpacket2_hdr));
  struct timespec w0, c0, w1, c1;
  long written = 0, head = 0;
  int pending = 0;
  if (warmup == 0) {
    printf("ready\n");
    fflush(stdout);
    clock_gettime(CLOCK_MONOTONIC, &w0);
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c0);
  }
  while (written < count) {
    if (written == warmup && warmup > 0) {
      if (pending) { send(fd, NULL, 0, MSG_DONTWAIT); pending = 0; }
      printf("ready\n");
      fflush(stdout);
      clock_gettime(CLOCK_MONOTONIC, &w0);
      clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c0);
      warmup = 0;
    }
    uint8_t *f = map + (head / per_block) * best + (head % per_block) * frame_size;
    struct tpacket2_hdr *h = (struct tpacket2_hdr *)f;
    if (__atomic_load_n(&h->tp_status, __ATOMIC_ACQUIRE) != TP_STATUS_AVAILABLE) {
      if (pending) { send(fd, NULL, 0, MSG_DONTWAIT); pending = 0; continue; }
      struct pollfd p = { fd, POLLOUT, 0 };
      poll(&p, 1, -1);
      send(fd, NULL, 0, MSG_DONTWAIT); /* frames the kernel left SEND_REQUEST (a full send buffer) */
      continue;
    }
    memcpy(f + data_off, tmpl, (size_t)size);
    uint32_t seq = htonl((uint32_t)written);
    memcpy(f + data_off + 14, &seq, 4);
    h->tp_len = (uint32_t)size;
    __atomic_store_n(&h->tp_status, TP_STATUS_SEND_REQUEST, __ATOMIC_RELEASE);
    written++;
    head = head + 1 == frames ? 0 : head + 1;
    if (++pending == batch) { send(fd, NULL, 0, MSG_DONTWAIT); pending = 0; }
  }
  /* Kick until the kernel took everything (a frame still SEND_REQUEST was not taken yet). */
  for (;;) {
    send(fd, NULL, 0, MSG_DONTWAIT);
    int left = 0;
    for (int i = 0; i < frames; i++) {
      struct tpacket2_hdr *h = (struct tpacket2_hdr *)(map + (i / per_block) * best + (i % per_block) * frame_size);
      if (__atomic_load_n(&h->tp_status, __ATOMIC_ACQUIRE) == TP_STATUS_SEND_REQUEST) left = 1;
    }
    if (!left) break;
    struct pollfd p = { fd, POLLOUT, 0 };
    poll(&p, 1, 10);
  }
  clock_gettime(CLOCK_MONOTONIC, &w1);
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c1);
  long long wall = (w1.tv_sec - w0.tv_sec) * 1000000000LL + (w1.tv_nsec - w0.tv_nsec);
  long long cpu = (c1.tv_sec - c0.tv_sec) * 1000000000LL + (c1.tv_nsec - c0.tv_nsec);
  printf("sent=%ld ns=%lld cpu_ns=%lld\n", written - (argc > 7 ? atol(argv[7]) : 0), wall, cpu);
  return 0;
}
