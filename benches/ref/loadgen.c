/*
 * Closed-loop load generator for TCP echo servers (benches/echo.sh).
 *
 *   cc -O2 -o target/bench/loadgen benches/ref/loadgen.c
 *   target/bench/loadgen -p PORT [-c CONNS] [-s SIZE] [-d SECS] [-w WARMUP]
 *
 * Opens CONNS connections (default 50) to 127.0.0.1:PORT. Each connection sends one
 * message of SIZE bytes (default 64), waits until all SIZE bytes have come back, checks
 * that they are the bytes it sent, and sends the next one: one message in flight per
 * connection, so the offered load follows the server's speed. After WARMUP seconds
 * (default 1) it counts, for SECS seconds (default 5), the round trips that complete and
 * their latency (from the first byte handed to send() to the last byte received).
 *
 * Single-threaded, non-blocking, epoll. Client sockets set TCP_NODELAY. Every message is
 * different (its bytes derive from the connection number and a sequence number), so an
 * echo of stale or misplaced data is caught. The run always ends at WARMUP + SECS (plus
 * up to 1 s for connecting), whatever the server does.
 *
 * Output: a few readable lines on stderr, then one line on stdout for scripts:
 *   roundtrips=N secs=S rps=R p50_us=A p99_us=B mean_us=C max_us=D conns=N stalled=K errors=E
 * `stalled` counts connections that completed no round trip while measuring. The exit
 * status is 0 only if no connection failed, nothing mismatched and at least one round
 * trip completed.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNS 10000
#define MAX_SIZE (1 << 20)
#define MAX_SECS 600

/* Latency histogram in nanoseconds, log-linear: values below 2^SUB_BITS get a bucket
   each; above that, every power of two is split into 2^SUB_BITS buckets, so a bucket is
   at most 1/128 (0.8%) wide relative to its value. */
#define SUB_BITS 7
#define SUB (1u << SUB_BITS)
#define NBUCKETS ((64 - SUB_BITS + 1) * SUB)

static uint64_t hist[NBUCKETS];

static unsigned bucket_of(uint64_t v) {
  if (v < SUB) return (unsigned)v;
  int msb = 63 - __builtin_clzll(v);
  int shift = msb - SUB_BITS;
  return (unsigned)((shift + 1) * SUB + ((v >> shift) - SUB));
}

/* The middle of a bucket's range. */
static double bucket_value(unsigned b) {
  if (b < SUB) return b;
  unsigned shift = b / SUB - 1;
  uint64_t low = ((uint64_t)(b % SUB) + SUB) << shift;
  return (double)low + ((double)((uint64_t)1 << shift) - 1) / 2.0;
}

static double percentile(uint64_t total, double p) {
  if (total == 0) return 0;
  uint64_t rank = (uint64_t)ceil(p * (double)total);
  if (rank < 1) rank = 1;
  uint64_t seen = 0;
  for (unsigned b = 0; b < NBUCKETS; b++) {
    seen += hist[b];
    if (seen >= rank) return bucket_value(b);
  }
  return 0;
}

enum state { CONNECTING, SENDING, RECEIVING, IDLE };

struct conn {
  int fd;
  int id;
  enum state state;
  unsigned events;
  uint64_t seq;      /* message number on this connection */
  size_t sent, got;  /* progress of the current message */
  uint64_t t_start;  /* ns, when the current message started */
  uint64_t measured; /* round trips completed while measuring */
  char *msg;         /* the current message */
};

static int ep;
static size_t size = 64;
static int measuring;
static uint64_t roundtrips, lat_sum, lat_max, errors;

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Fills the message for (conn, seq): a cheap pseudo-random byte stream (xorshift). */
static void make_msg(struct conn *c) {
  uint64_t x = ((uint64_t)c->id << 32) ^ (c->seq * 0x9E3779B97F4A7C15ull) ^ 0xD1B54A32D192ED03ull;
  for (size_t i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    c->msg[i] = (char)(x >> 24);
  }
}

static void fail(struct conn *c, const char *why, int err) {
  if (errors < 10) /* say what happened for the first few; count the rest */
    fprintf(stderr, "loadgen: connection %d (message %llu, %zu/%zu sent, %zu/%zu back): %s%s%s\n",
            c->id, (unsigned long long)c->seq, c->sent, size, c->got, size, why,
            err ? ": " : "", err ? strerror(err) : "");
  errors++;
  close(c->fd);
  c->fd = -1;
  c->state = IDLE;
}

static int set_interest(struct conn *c, unsigned want) {
  if (want == c->events) return 0;
  struct epoll_event ev = {.events = want, .data.ptr = c};
  if (epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev) < 0) return -1;
  c->events = want;
  return 0;
}

static void start_msg(struct conn *c, int stopping) {
  if (stopping) {
    c->state = IDLE;
    set_interest(c, 0);
    return;
  }
  c->seq++;
  make_msg(c);
  c->sent = c->got = 0;
  c->t_start = now_ns();
  c->state = SENDING;
}

/* Sends what the kernel takes. The echo may start arriving before the whole message is
   out (large SIZE), so the connection reads whenever it still expects bytes. */
static void pump(struct conn *c, int stopping) {
  int fresh = 0; /* a message was just started here: send it, then go back to epoll */
  for (;;) {
    if (c->state == SENDING && c->sent < size) {
      ssize_t n = send(c->fd, c->msg + c->sent, size - c->sent, MSG_NOSIGNAL);
      if (n > 0) {
        c->sent += (size_t)n;
      } else if (n < 0 && errno == EINTR) {
        continue;
      } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        /* fall through to reading */
      } else {
        fail(c, "send", n < 0 ? errno : 0);
        return;
      }
    }
    if (c->state != SENDING) return;
    if (fresh) break; /* one round trip per wake-up, so no connection hogs the loop */
    char buf[65536];
    size_t want = c->sent - c->got; /* never more than was sent: extra bytes are an error */
    if (want == 0) want = 1;        /* nothing outstanding: any byte here is unexpected */
    if (want > sizeof buf) want = sizeof buf;
    ssize_t n = recv(c->fd, buf, want, 0);
    if (n > 0) {
      if ((size_t)n > c->sent - c->got) {
        fail(c, "more bytes echoed than were sent", 0);
        return;
      }
      if (memcmp(buf, c->msg + c->got, (size_t)n) != 0) {
        fail(c, "echoed bytes differ from the bytes sent", 0);
        return;
      }
      c->got += (size_t)n;
      if (c->got == size) {
        uint64_t t = now_ns() - c->t_start;
        if (measuring) {
          roundtrips++;
          c->measured++;
          lat_sum += t;
          if (t > lat_max) lat_max = t;
          hist[bucket_of(t)]++;
        }
        start_msg(c, stopping);
        if (c->state != SENDING) return;
        fresh = 1;
      }
      continue;
    }
    if (n == 0) {
      fail(c, "server closed the connection", 0);
      return;
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) {
      fail(c, "recv", errno);
      return;
    }
    break;
  }
  /* Wait for the echo, and for room to send if the message is not all out. */
  unsigned interest = EPOLLIN | (c->sent < size ? EPOLLOUT : 0);
  if (set_interest(c, interest) < 0) fail(c, "epoll_ctl", errno);
}

static void on_event(struct conn *c, unsigned events, int stopping) {
  if (c->fd < 0) return;
  if (c->state == IDLE) {
    /* Stopped: only a hang-up or error can be reported; stop listening for it. */
    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
    return;
  }
  if (c->state == CONNECTING) {
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) err = errno;
    if (err != 0) {
      fail(c, "connect", err);
      return;
    }
    if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) return;
    start_msg(c, stopping);
  }
  if (c->state == SENDING) pump(c, stopping);
}

static void usage(const char *argv0) {
  fprintf(stderr, "usage: %s -p PORT [-c CONNS] [-s SIZE] [-d SECS] [-w WARMUP_SECS]\n", argv0);
  exit(2);
}

static long arg_long(const char *s, long lo, long hi, const char *argv0) {
  char *end;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (errno || *s == '\0' || *end != '\0' || v < lo || v > hi) usage(argv0);
  return v;
}

static double arg_secs(const char *s, double lo, double hi, const char *argv0) {
  char *end;
  double v = strtod(s, &end);
  if (*s == '\0' || *end != '\0' || !(v >= lo && v <= hi)) usage(argv0);
  return v;
}

int main(int argc, char **argv) {
  long port = -1, nconns = 50;
  double secs = 5, warmup = 1;
  int opt;
  while ((opt = getopt(argc, argv, "p:c:s:d:w:")) != -1) {
    switch (opt) {
    case 'p': port = arg_long(optarg, 1, 65535, argv[0]); break;
    case 'c': nconns = arg_long(optarg, 1, MAX_CONNS, argv[0]); break;
    case 's': size = (size_t)arg_long(optarg, 1, MAX_SIZE, argv[0]); break;
    case 'd': secs = arg_secs(optarg, 0.1, MAX_SECS, argv[0]); break;
    case 'w': warmup = arg_secs(optarg, 0, MAX_SECS, argv[0]); break;
    default: usage(argv[0]);
    }
  }
  if (port < 0 || optind != argc) usage(argv[0]);
  signal(SIGPIPE, SIG_IGN);

  ep = epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) {
    perror("epoll_create1");
    return 1;
  }
  struct conn *conns = calloc((size_t)nconns, sizeof *conns);
  if (conns == NULL) {
    perror("calloc");
    return 1;
  }
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);

  for (long i = 0; i < nconns; i++) {
    struct conn *c = &conns[i];
    c->id = (int)i;
    c->msg = malloc(size);
    if (c->msg == NULL) {
      perror("malloc");
      return 1;
    }
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0) {
      perror("socket");
      return 1;
    }
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    c->state = CONNECTING;
    c->events = EPOLLOUT;
    struct epoll_event ev = {.events = EPOLLOUT, .data.ptr = c};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev) < 0) {
      perror("epoll_ctl");
      return 1;
    }
    if (connect(c->fd, (struct sockaddr *)&addr, sizeof addr) < 0 && errno != EINPROGRESS)
      fail(c, "connect", errno);
  }

  /* Phases: connect and warm up, measure, then stop (no new messages; a short grace
     period lets in-flight ones finish so a server mid-reply is not cut off rudely). */
  uint64_t t0 = now_ns();
  uint64_t t_measure = t0 + (uint64_t)(warmup * 1e9);
  uint64_t t_end = t_measure + (uint64_t)(secs * 1e9);
  uint64_t t_actual_start = 0, t_actual_end = 0;
  int stopping = 0;
  uint64_t t_quit = t_end + 200000000u;
  struct epoll_event events[256];

  for (;;) {
    uint64_t now = now_ns();
    if (!measuring && !stopping && now >= t_measure) {
      measuring = 1;
      t_actual_start = now;
    }
    if (measuring && now >= t_end) {
      measuring = 0;
      stopping = 1;
      t_actual_end = now;
    }
    if (stopping && now >= t_quit) break;
    if (stopping) {
      int busy = 0;
      for (long i = 0; i < nconns; i++)
        if (conns[i].fd >= 0 && conns[i].state == SENDING) busy = 1;
      if (!busy) break;
    }
    uint64_t next = measuring ? t_end : stopping ? t_quit : t_measure;
    int timeout_ms = (int)((next - now) / 1000000u) + 1;
    int n = epoll_wait(ep, events, 256, timeout_ms);
    if (n < 0) {
      if (errno == EINTR) continue;
      perror("epoll_wait");
      return 1;
    }
    for (int i = 0; i < n; i++) on_event(events[i].data.ptr, events[i].events, stopping);
  }

  uint64_t stalled = 0;
  for (long i = 0; i < nconns; i++) {
    if (conns[i].measured == 0) stalled++;
    if (conns[i].fd >= 0) close(conns[i].fd);
  }
  double span = (double)(t_actual_end - t_actual_start) / 1e9;
  double rps = span > 0 ? (double)roundtrips / span : 0;
  double p50 = percentile(roundtrips, 0.50) / 1000.0;
  double p99 = percentile(roundtrips, 0.99) / 1000.0;
  double mean = roundtrips ? (double)lat_sum / (double)roundtrips / 1000.0 : 0;
  double max = (double)lat_max / 1000.0;

  fprintf(stderr, "loadgen: 127.0.0.1:%ld, %ld connections, %zu-byte messages, %.1f s warm-up, %.2f s measured\n",
          port, nconns, size, warmup, span);
  fprintf(stderr, "loadgen: %llu round trips, %.0f/s; latency p50 %.1f us, p99 %.1f us, mean %.1f us, max %.1f us\n",
          (unsigned long long)roundtrips, rps, p50, p99, mean, max);
  if (stalled)
    fprintf(stderr, "loadgen: %llu connection(s) completed no round trip while measuring\n",
            (unsigned long long)stalled);
  if (errors) fprintf(stderr, "loadgen: %llu connection(s) failed\n", (unsigned long long)errors);
  printf("roundtrips=%llu secs=%.3f rps=%.1f p50_us=%.1f p99_us=%.1f mean_us=%.1f max_us=%.1f "
         "conns=%ld stalled=%llu errors=%llu\n",
         (unsigned long long)roundtrips, span, rps, p50, p99, mean, max, nconns,
         (unsigned long long)stalled, (unsigned long long)errors);
  return (errors == 0 && roundtrips > 0) ? 0 : 1;
}
