/* UDP generator for `npm run bench:nfqueue`: sends COUNT datagrams of SIZE payload bytes to
 * DST:PORT with sendmmsg, 64 per call; with RATE > 0, paced to RATE datagrams per second (a
 * burst every millisecond), else as fast as the stack takes them.
 *
 *   udpgen DST PORT COUNT SIZE RATE
 * Prints "sent=N".
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH 64

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
  if (argc < 6) { fprintf(stderr, "usage: udpgen DST PORT COUNT SIZE RATE\n"); return 2; }
  long count = atol(argv[3]);
  int size = atoi(argv[4]);
  double rate = atof(argv[5]);
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  if (fd < 0) { perror("socket"); return 1; }
  struct sockaddr_in dst = {0};
  dst.sin_family = AF_INET;
  dst.sin_port = htons((unsigned short)atoi(argv[2]));
  inet_pton(AF_INET, argv[1], &dst.sin_addr);
  if (connect(fd, (struct sockaddr *)&dst, sizeof dst) < 0) { perror("connect"); return 1; }
  static char buf[BATCH][9000];
  struct iovec iov[BATCH];
  struct mmsghdr msgs[BATCH];
  memset(msgs, 0, sizeof msgs);
  for (int i = 0; i < BATCH; i++) {
    memset(buf[i], 'k', (size_t)size);
    iov[i].iov_base = buf[i];
    iov[i].iov_len = (size_t)size;
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
  }
  long sent = 0;
  double t0 = now();
  while (sent < count) {
    int n = (int)(count - sent < BATCH ? count - sent : BATCH);
    if (rate > 0) {
      /* Paced: never ahead of RATE; a burst is what one millisecond allows. */
      long allowed = (long)((now() - t0) * rate) + 1;
      if (allowed <= sent) { usleep(200); continue; }
      if (allowed - sent < n) n = (int)(allowed - sent);
    }
    int k = sendmmsg(fd, msgs, (unsigned)n, 0);
    if (k < 0) { usleep(100); continue; } /* ENOBUFS and the like: the stack is full, wait */
    sent += k;
  }
  printf("sent=%ld\n", sent);
  return 0;
}
