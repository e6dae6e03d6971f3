/*
 * C baseline for `deno task perf:pacer` (scripts/perf_pacer.ts): what
 * keeping a schedule costs a program with no runtime, done the way
 * netspeed's FFI reactor does it. Each 1,024-byte UDP datagram to an echo
 * on 127.0.0.1 leaves at its intended time: the thread sleeps (timer
 * slack 1 µs) until SPIN_US before it, or until the reply, spins the rest
 * on the clock, sends, and waits for the reply in `poll` (never past the
 * next send's wake-up, so a lost reply does not hold the schedule).
 *
 *   pacer_baseline PORT RATE SECONDS SPIN_US
 *
 * Prints one JSON line: {"cores":C,"sent":N,"p50LateUs":P,"p99LateUs":Q},
 * the process's CPU (user + system) over the schedule, and how late sends
 * left after their intended time.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now_us(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

static double cpu_seconds(void) {
  struct rusage u;
  getrusage(RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec + u.ru_utime.tv_usec / 1e6 + u.ru_stime.tv_sec +
         u.ru_stime.tv_usec / 1e6;
}

static int by_value(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* Sleeps until `until_us` on the monotonic clock, or until `fd` is readable (returns 1). */
static int sleep_or_readable(int fd, double until_us) {
  double left_us = until_us - now_us();
  if (left_us <= 0) return 0;
  struct timespec timeout = {(time_t)(left_us / 1e6), (long)((left_us - (time_t)(left_us / 1e6) * 1e6) * 1e3)};
  struct pollfd p = {fd, POLLIN, 0};
  return ppoll(&p, 1, &timeout, NULL) > 0;
}

int main(int argc, char **argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: pacer_baseline PORT RATE SECONDS SPIN_US\n");
    return 2;
  }
  int port = atoi(argv[1]);
  double rate = atof(argv[2]), seconds = atof(argv[3]), spin_us = atof(argv[4]);
  prctl(PR_SET_TIMERSLACK, 1UL);
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(port)};
  inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
  if (fd < 0 || connect(fd, (struct sockaddr *)&to, sizeof to) != 0) {
    perror("connect");
    return 1;
  }
  static char datagram[1024], reply[2048];
  memset(datagram, 'x', sizeof datagram);
  int count = (int)(rate * seconds);
  double gap_us = 1e6 / rate;
  double *late_us = malloc(count * sizeof(double));
  double cpu_start = cpu_seconds();
  double start_us = now_us() + 1000;
  for (int i = 0; i < count; i++) {
    double due_us = start_us + i * gap_us;
    /* Replies (and strays) are read as they come until the spin before the send. */
    while (sleep_or_readable(fd, due_us - spin_us)) recv(fd, reply, sizeof reply, MSG_DONTWAIT);
    double t;
    while ((t = now_us()) < due_us) {
    }
    late_us[i] = t - due_us;
    send(fd, datagram, sizeof datagram, 0);
  }
  double end_us = now_us();
  double cores = (cpu_seconds() - cpu_start) / ((end_us - start_us) / 1e6);
  qsort(late_us, count, sizeof(double), by_value);
  /* Nearest rank, as the benchmark reads netspeed's CSV. */
  int p50 = (count + 1) / 2 - 1, p99 = (int)((count * 99 + 99) / 100) - 1;
  printf("{\"cores\":%.4f,\"sent\":%d,\"p50LateUs\":%.1f,\"p99LateUs\":%.1f}\n", cores, count,
         late_us[p50], late_us[p99]);
  return 0;
}
