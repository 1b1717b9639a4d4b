/* C reference for the netlink dump benchmark: RTM_GETROUTE dump (IPv4), recv with a 32 KiB buffer,
 * counts RTM_NEWROUTE messages. Run inside the namespace holding the routes.
 *   nldump        -> prints "routes=N"
 */
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(void) {
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0) { perror("socket"); return 1; }
  struct { struct nlmsghdr n; struct rtmsg r; } req;
  memset(&req, 0, sizeof req);
  req.n.nlmsg_len = sizeof req;
  req.n.nlmsg_type = RTM_GETROUTE;
  req.n.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  req.n.nlmsg_seq = 1;
  req.r.rtm_family = AF_INET;
  if (send(fd, &req, sizeof req, 0) < 0) { perror("send"); return 1; }
  static char buf[32768];
  long routes = 0;
  for (;;) {
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n < 0) { perror("recv"); return 1; }
    for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n)) {
      if (h->nlmsg_type == NLMSG_DONE) { printf("routes=%ld\n", routes); return 0; }
      if (h->nlmsg_type == NLMSG_ERROR) { fprintf(stderr, "dump error\n"); return 1; }
      if (h->nlmsg_type == RTM_NEWROUTE) routes++;
    }
  }
}
