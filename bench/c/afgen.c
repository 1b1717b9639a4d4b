/* Traffic generator for `npm run bench`: sends COUNT frames of SIZE bytes (ethertype 0x88B5,
 * sequence number at byte 14) on IFACE with sendmmsg, 64 per call, as fast as the link takes them.
 *
 *   afgen IFACE COUNT SIZE
 * Prints "sent=N".
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define BATCH 64

int main(int argc, char **argv) {
  if (argc < 4) { fprintf(stderr, "usage: afgen IFACE COUNT SIZE\n"); return 2; }
  long count = atol(argv[2]);
  int size = atoi(argv[3]);
  if (size < 60 || size > 9000) { fprintf(stderr, "SIZE must be 60..9000\n"); return 2; }
  int fd = socket(AF_PACKET, SOCK_RAW, 0);
  if (fd < 0) { perror("socket"); return 1; }
  struct sockaddr_ll ll = {0};
  ll.sll_family = AF_PACKET;
  ll.sll_ifindex = (int)if_nametoindex(argv[1]);
  if (bind(fd, (struct sockaddr *)&ll, sizeof ll)) { perror("bind"); return 1; }
  static uint8_t frames[BATCH][9000];
  struct mmsghdr msgs[BATCH];
  struct iovec iov[BATCH];
  for (int i = 0; i < BATCH; i++) {
    memset(frames[i], 0xff, 6);
    memset(frames[i] + 6, 0x02, 6);
    frames[i][12] = 0x88;
    frames[i][13] = 0xb5;
    iov[i].iov_base = frames[i];
    iov[i].iov_len = (size_t)size;
    memset(&msgs[i], 0, sizeof msgs[i]);
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
  }
  long sent = 0;
  while (sent < count) {
    int n = count - sent < BATCH ? (int)(count - sent) : BATCH;
    for (int i = 0; i < n; i++) {
      uint32_t seq = htonl((uint32_t)(sent + i));
      memcpy(frames[i] + 14, &seq, 4);
    }
    int r = sendmmsg(fd, msgs, (unsigned)n, 0);
    if (r < 0) {
      if (errno == ENOBUFS || errno == EAGAIN || errno == EINTR) continue;
      perror("sendmmsg");
      return 1;
    }
    sent += r;
  }
  printf("sent=%ld\n", sent);
  return 0;
}
