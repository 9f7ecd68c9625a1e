/*
 * null-registrar: the cheapest REGISTER responder this box can run, to measure the
 * load harness's own ceiling (bench/ceiling.ts). It answers every request with a
 * 200 OK that copies Via, From, To, Call-ID and CSeq, and nothing else: no parsing
 * beyond line starts, no state, batched recvmmsg/sendmmsg, an 8 MiB receive buffer.
 * Whatever rate the SIPp harness cannot run clean against this, no SIP server can
 * show on this machine with that harness.
 * Usage: null-registrar 127.0.0.1 PORT
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define BATCH 64
#define MAXMSG 4096

static int copy_header(const char *in, size_t n, const char *name, char *out, size_t cap, size_t *len) {
  size_t nl = strlen(name);
  for (size_t i = 0; i + nl < n; i++) {
    if ((i == 0 || in[i - 1] == '\n') && strncasecmp(in + i, name, nl) == 0 && in[i + nl] == ':') {
      size_t e = i;
      while (e < n && in[e] != '\r' && in[e] != '\n') e++;
      if (*len + (e - i) + 2 > cap) return -1;
      memcpy(out + *len, in + i, e - i);
      *len += e - i;
      if (strcasecmp(name, "To") == 0 && memmem(in + i, e - i, ";tag=", 5) == NULL) {
        static const char tag[] = ";tag=nullreg";
        if (*len + sizeof tag > cap) return -1;
        memcpy(out + *len, tag, sizeof tag - 1);
        *len += sizeof tag - 1;
      }
      out[(*len)++] = '\r';
      out[(*len)++] = '\n';
      return 0;
    }
  }
  return -1;
}

int main(int argc, char **argv) {
  if (argc != 3) { fprintf(stderr, "usage: %s IP PORT\n", argv[0]); return 2; }
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  int buf = 8 << 20;
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof buf) != 0) /* needs CAP_NET_ADMIN */
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((unsigned short)atoi(argv[2]))};
  if (inet_pton(AF_INET, argv[1], &a.sin_addr) != 1 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0) {
    perror("bind");
    return 1;
  }
  static char in[BATCH][MAXMSG], out[BATCH][MAXMSG];
  static struct sockaddr_in from[BATCH];
  struct mmsghdr rx[BATCH], tx[BATCH];
  struct iovec riov[BATCH], tiov[BATCH];
  static const char *const names[] = {"Via", "From", "To", "Call-ID", "CSeq"};
  for (;;) {
    for (int i = 0; i < BATCH; i++) {
      riov[i] = (struct iovec){in[i], MAXMSG};
      rx[i].msg_hdr = (struct msghdr){.msg_name = &from[i], .msg_namelen = sizeof from[i], .msg_iov = &riov[i], .msg_iovlen = 1};
    }
    int got = recvmmsg(fd, rx, BATCH, MSG_WAITFORONE, NULL);
    if (got <= 0) continue;
    int k = 0;
    for (int i = 0; i < got; i++) {
      size_t n = rx[i].msg_len, len = 0;
      if (n < 8 || memcmp(in[i], "SIP/2.0 ", 8) == 0) continue; /* ignore responses */
      static const char status[] = "SIP/2.0 200 OK\r\n";
      memcpy(out[k], status, sizeof status - 1);
      len = sizeof status - 1;
      int ok = 1;
      for (size_t h = 0; h < sizeof names / sizeof names[0]; h++)
        if (copy_header(in[i], n, names[h], out[k], MAXMSG - 32, &len) != 0) ok = 0;
      if (!ok) continue;
      static const char tail[] = "Content-Length: 0\r\n\r\n";
      memcpy(out[k] + len, tail, sizeof tail - 1);
      len += sizeof tail - 1;
      tiov[k] = (struct iovec){out[k], len};
      tx[k].msg_hdr = (struct msghdr){.msg_name = &from[i], .msg_namelen = rx[i].msg_hdr.msg_namelen, .msg_iov = &tiov[k], .msg_iovlen = 1};
      k++;
    }
    if (k > 0) sendmmsg(fd, tx, (unsigned)k, 0);
  }
}
