/*
 * The C floor for `netspeed connect`, used by scripts/perf_throughput.ts.
 *
 * Client: one blocking connect() after another to 127.0.0.1:PORT, each
 * socket closed before the next, timed with CLOCK_MONOTONIC around
 * connect(). Prints one JSON line: done, seconds, perSec, p50Us.
 *
 * Server: accepts on 127.0.0.1:PORT and closes each connection at once,
 * with the largest backlog the kernel allows, so that a fast client is
 * not held back by a slow accept loop (until killed).
 *
 * Usage: connect_baseline PORT COUNT | connect_baseline serve PORT
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now_us(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

static int by_value(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static struct sockaddr_in loopback(int port) {
  struct sockaddr_in address;
  memset(&address, 0, sizeof address);
  address.sin_family = AF_INET;
  address.sin_port = htons((unsigned short)port);
  inet_pton(AF_INET, "127.0.0.1", &address.sin_addr);
  return address;
}

static int serve(int port) {
  struct sockaddr_in address = loopback(port);
  int listener = socket(AF_INET, SOCK_STREAM, 0), on = 1;
  setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  if (bind(listener, (struct sockaddr *)&address, sizeof address) != 0 ||
      listen(listener, 65535) != 0) {
    perror("listen");
    return 1;
  }
  for (;;) {
    int fd = accept(listener, NULL, NULL);
    if (fd >= 0) close(fd);
  }
}

int main(int argc, char **argv) {
  if (argc == 3 && strcmp(argv[1], "serve") == 0) return serve(atoi(argv[2]));
  if (argc != 3) {
    fprintf(stderr, "usage: %s PORT COUNT | %s serve PORT\n", argv[0], argv[0]);
    return 2;
  }
  int port = atoi(argv[1]), count = atoi(argv[2]);
  struct sockaddr_in address = loopback(port);

  double *times = malloc(sizeof(double) * (size_t)count);
  int done = 0;
  double start = now_us();
  for (int i = 0; i < count; i++) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) break;
    double t0 = now_us();
    if (connect(fd, (struct sockaddr *)&address, sizeof address) == 0) times[done++] = now_us() - t0;
    close(fd);
  }
  double seconds = (now_us() - start) / 1e6;
  qsort(times, (size_t)done, sizeof(double), by_value);
  printf("{\"done\":%d,\"seconds\":%.4f,\"perSec\":%.1f,\"p50Us\":%.3f}\n", done, seconds,
         done / seconds, done ? times[(done - 1) / 2] : 0.0);
  free(times);
  return 0;
}
