/* The C NFQUEUE consumer `npm run bench:nfqueue` compares kring with: what the best C consumers do
 * (libmnl-style raw netlink, no library): recvmmsg of up to 64 datagrams per wake-up, every packet
 * message walked and its fields read (id, hw protocol, hook, payload length), then one
 * NFQNL_MSG_VERDICT_BATCH (NF_ACCEPT, the batch's highest id) per wake-up.
 *
 *   nfqconsumer QUEUE MAXLEN RCVBUF
 * Prints "ready" once bound; on SIGTERM or SIGINT "enobufs=N" and "verdicts=N".
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <linux/netlink.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define BATCH 64
#define BUFSZ 65536

static volatile sig_atomic_t stop;
static void on_signal(int s) { (void)s; stop = 1; }

static int fd;
static uint32_t seq;

static void put_attr(char *msg, uint16_t type, const void *data, uint16_t len) {
  struct nlmsghdr *nlh = (struct nlmsghdr *)msg;
  struct nlattr *a = (struct nlattr *)(msg + NLMSG_ALIGN(nlh->nlmsg_len));
  a->nla_type = type;
  a->nla_len = (uint16_t)(NLA_HDRLEN + len);
  memcpy((char *)a + NLA_HDRLEN, data, len);
  nlh->nlmsg_len = NLMSG_ALIGN(nlh->nlmsg_len) + NLA_ALIGN(a->nla_len);
}

static void start(char *msg, uint16_t type, uint16_t flags, uint16_t queue) {
  struct nlmsghdr *nlh = (struct nlmsghdr *)msg;
  memset(msg, 0, 256);
  nlh->nlmsg_len = NLMSG_HDRLEN + sizeof(struct nfgenmsg);
  nlh->nlmsg_type = (uint16_t)((NFNL_SUBSYS_QUEUE << 8) | type);
  nlh->nlmsg_flags = (uint16_t)(NLM_F_REQUEST | flags);
  nlh->nlmsg_seq = ++seq;
  struct nfgenmsg *g = NLMSG_DATA(nlh);
  g->nfgen_family = AF_UNSPEC;
  g->version = NFNETLINK_V0;
  g->res_id = htons(queue);
}

/* Sends a config message and waits for its ACK. */
static int config(char *msg) {
  if (send(fd, msg, ((struct nlmsghdr *)msg)->nlmsg_len, 0) < 0) return -errno;
  char buf[8192];
  for (;;) {
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n < 0) return -errno;
    for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n)) {
      if (h->nlmsg_type == NLMSG_ERROR && h->nlmsg_seq == seq) return ((struct nlmsgerr *)NLMSG_DATA(h))->error;
    }
  }
}

int main(int argc, char **argv) {
  if (argc < 4) { fprintf(stderr, "usage: nfqconsumer QUEUE MAXLEN RCVBUF\n"); return 2; }
  uint16_t queue = (uint16_t)atoi(argv[1]);
  uint32_t maxlen = htonl((uint32_t)atol(argv[2]));
  int rcvbuf = atoi(argv[3]);
  signal(SIGTERM, on_signal);
  signal(SIGINT, on_signal);
  fd = socket(AF_NETLINK, SOCK_RAW, NETLINK_NETFILTER);
  if (fd < 0) { perror("socket"); return 1; }
  struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
  if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0) { perror("bind"); return 1; }
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf) < 0) perror("SO_RCVBUFFORCE");
  char msg[256];
  struct nfqnl_msg_config_cmd cmd = { .command = NFQNL_CFG_CMD_BIND };
  start(msg, NFQNL_MSG_CONFIG, NLM_F_ACK, queue);
  put_attr(msg, NFQA_CFG_CMD, &cmd, sizeof cmd);
  int err = config(msg);
  if (err) { fprintf(stderr, "bind: %s\n", strerror(-err)); return 1; }
  struct nfqnl_msg_config_params params = { .copy_range = htonl(0xffff), .copy_mode = NFQNL_COPY_PACKET };
  start(msg, NFQNL_MSG_CONFIG, NLM_F_ACK, queue);
  put_attr(msg, NFQA_CFG_PARAMS, &params, sizeof params);
  put_attr(msg, NFQA_CFG_QUEUE_MAXLEN, &maxlen, sizeof maxlen);
  err = config(msg);
  if (err) { fprintf(stderr, "params: %s\n", strerror(-err)); return 1; }
  printf("ready\n");
  fflush(stdout);

  static char bufs[BATCH][BUFSZ];
  struct iovec iov[BATCH];
  struct mmsghdr msgs[BATCH];
  for (int i = 0; i < BATCH; i++) {
    iov[i].iov_base = bufs[i];
    iov[i].iov_len = BUFSZ;
    memset(&msgs[i], 0, sizeof msgs[i]);
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
  }
  long verdicts = 0, enobufs = 0;
  uint64_t sum = 0;
  struct pollfd pfd = { .fd = fd, .events = POLLIN };
  while (!stop) {
    if (poll(&pfd, 1, 100) <= 0) continue;
    int n = recvmmsg(fd, msgs, BATCH, MSG_DONTWAIT, NULL);
    if (n < 0) {
      if (errno == ENOBUFS) enobufs++;
      continue;
    }
    uint32_t maxid = 0;
    long got = 0;
    for (int i = 0; i < n; i++) {
      int len = (int)msgs[i].msg_len;
      for (struct nlmsghdr *h = (struct nlmsghdr *)bufs[i]; NLMSG_OK(h, (size_t)len); h = NLMSG_NEXT(h, len)) {
        if (h->nlmsg_type != ((NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET)) continue;
        char *p = (char *)NLMSG_DATA(h) + sizeof(struct nfgenmsg);
        char *end = (char *)h + h->nlmsg_len;
        while (p + NLA_HDRLEN <= end) {
          struct nlattr *a = (struct nlattr *)p;
          if (a->nla_len < NLA_HDRLEN || p + a->nla_len > end) break;
          int type = a->nla_type & NLA_TYPE_MASK;
          if (type == NFQA_PACKET_HDR) {
            struct nfqnl_msg_packet_hdr *ph = (struct nfqnl_msg_packet_hdr *)(p + NLA_HDRLEN);
            uint32_t id = ntohl(ph->packet_id);
            if (id > maxid) maxid = id;
            sum += ntohs(ph->hw_protocol) + ph->hook;
          } else if (type == NFQA_PAYLOAD) {
            sum += (uint64_t)(a->nla_len - NLA_HDRLEN);
          }
          p += NLA_ALIGN(a->nla_len);
        }
        got++;
      }
    }
    if (got == 0) continue;
    start(msg, NFQNL_MSG_VERDICT_BATCH, 0, queue);
    struct nfqnl_msg_verdict_hdr vh = { .verdict = htonl(NF_ACCEPT), .id = htonl(maxid) };
    put_attr(msg, NFQA_VERDICT_HDR, &vh, sizeof vh);
    if (send(fd, msg, ((struct nlmsghdr *)msg)->nlmsg_len, 0) < 0) perror("verdict");
    verdicts += got;
  }
  printf("enobufs=%ld\nverdicts=%ld\n", enobufs, verdicts);
  fprintf(stderr, "sum=%llu\n", (unsigned long long)sum);
  return 0;
}
