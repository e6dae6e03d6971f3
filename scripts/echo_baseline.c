/*
 * C baselines for `deno task perf` (scripts/perf_latency.ts): an echo
 * server and a ping-pong client, each either sleeping in the kernel
 * (epoll / blocking recv) or busy-polling (recv with MSG_DONTWAIT in a
 * spin), on 127.0.0.1, TCP_NODELAY on every socket.
 *
 *   echo_baseline epoll PORT          echo, one thread, epoll for every connection
 *   echo_baseline busy PORT           echo, one connection at a time, spinning on recv
 *   echo_baseline client PORT SECONDS SIZE [busy]
 *                                     ping-pong for SECONDS; prints one JSON line:
 *                                     {"roundTrips":N,"perSec":R,"p50Us":P} (full round trips)
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now_us(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

static struct sockaddr_in loopback(int port) {
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_port = htons((unsigned short)port);
  inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
  return a;
}

static void nodelay(int fd) {
  int on = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
}

static int listen_on(int port) {
  struct sockaddr_in a = loopback(port);
  int fd = socket(AF_INET, SOCK_STREAM, 0), on = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 128) != 0) {
    perror("listen");
    exit(1);
  }
  return fd;
}

/* Writes all of buf; returns 0, or -1 when the connection failed. */
static int send_all(int fd, const char *buf, ssize_t n) {
  for (ssize_t sent = 0; sent < n;) {
    ssize_t m = send(fd, buf + sent, (size_t)(n - sent), MSG_NOSIGNAL);
    if (m <= 0) return -1;
    sent += m;
  }
  return 0;
}

static _Noreturn void serve_epoll(int port) {
  static char buf[65536];
  int listener = listen_on(port), ep = epoll_create1(0);
  struct epoll_event ev = {.events = EPOLLIN, .data.fd = listener}, ready[64];
  epoll_ctl(ep, EPOLL_CTL_ADD, listener, &ev);
  for (;;) {
    int n = epoll_wait(ep, ready, 64, -1);
    for (int i = 0; i < n; i++) {
      int fd = ready[i].data.fd;
      if (fd == listener) {
        int c = accept(listener, NULL, NULL);
        if (c < 0) continue;
        nodelay(c);
        struct epoll_event cev = {.events = EPOLLIN, .data.fd = c};
        epoll_ctl(ep, EPOLL_CTL_ADD, c, &cev);
        continue;
      }
      ssize_t got = recv(fd, buf, sizeof buf, 0);
      if (got <= 0 || send_all(fd, buf, got) != 0) close(fd); /* close also leaves the epoll set */
    }
  }
}

static _Noreturn void serve_busy(int port) {
  static char buf[65536];
  int listener = listen_on(port);
  for (;;) {
    int fd = accept(listener, NULL, NULL);
    if (fd < 0) continue;
    nodelay(fd);
    for (;;) {
      ssize_t got = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
      if (got > 0) {
        if (send_all(fd, buf, got) != 0) break;
      } else if (got == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
        break;
      }
    }
    close(fd);
  }
}

static int by_value(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static int client(int port, double seconds, int size, int busy) {
  struct sockaddr_in a = loopback(port);
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
    perror("connect");
    return 1;
  }
  nodelay(fd);
  char *out = malloc((size_t)size), *in = malloc((size_t)size);
  memset(out, 'x', (size_t)size);
  size_t cap = 1 << 20, n = 0;
  double *times = malloc(sizeof(double) * cap);
  int flags = busy ? MSG_DONTWAIT : 0;
  /* 1,000 unrecorded round trips first, as netspeed's --warmup 1000. */
  double start = 0, end = 0;
  for (long k = -1000;; k++) {
    if (k == 0) {
      start = now_us();
      end = start + seconds * 1e6;
    }
    double t0 = now_us();
    if (k >= 0 && t0 >= end) break;
    if (send_all(fd, out, size) != 0) return 1;
    for (int got = 0; got < size;) {
      ssize_t m = recv(fd, in + got, (size_t)(size - got), flags);
      if (m > 0) got += (int)m;
      else if (m == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) return 1;
    }
    if (k >= 0) {
      if (n == cap) times = realloc(times, sizeof(double) * (cap *= 2));
      times[n++] = now_us() - t0;
    }
  }
  double elapsed = (now_us() - start) / 1e6;
  qsort(times, n, sizeof(double), by_value);
  printf("{\"roundTrips\":%zu,\"perSec\":%.1f,\"p50Us\":%.3f}\n", n, n / elapsed,
         n ? times[(n - 1) / 2] : 0.0);
  return 0;
}

int main(int argc, char **argv) {
  if (argc == 3 && strcmp(argv[1], "epoll") == 0) serve_epoll(atoi(argv[2]));
  if (argc == 3 && strcmp(argv[1], "busy") == 0) serve_busy(atoi(argv[2]));
  if ((argc == 5 || argc == 6) && strcmp(argv[1], "client") == 0) {
    return client(atoi(argv[2]), atof(argv[3]), atoi(argv[4]), argc == 6);
  }
  fprintf(stderr, "usage: %s epoll PORT | busy PORT | client PORT SECONDS SIZE [busy]\n", argv[0]);
  return 2;
}
