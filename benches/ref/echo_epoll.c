/*
 * Reference TCP echo server for benches/echo.sh: single-threaded, non-blocking,
 * level-triggered epoll, nothing else. It is the yardstick the NodeMCU-style Lua echo
 * server (benches/nodemcu_echo.lua) is compared with.
 *
 *   cc -O2 -o target/bench/echo_epoll benches/ref/echo_epoll.c
 *   target/bench/echo_epoll [PORT]      (0 or nothing: the kernel picks a port)
 *
 * It listens on 127.0.0.1 only, prints the bound port on stdout (one line, flushed) and
 * runs until it is killed.
 *
 * Each connection owns a buffer of BUF_SIZE bytes. Readable: read into the free space and
 * write out at once. Whatever the kernel does not take stays in the buffer, and the
 * connection waits for EPOLLOUT; while the buffer is full it stops asking for EPOLLIN, so
 * a client that sends without reading is throttled instead of growing memory. Accepted
 * sockets keep the kernel defaults (Nagle on), as rlua-net's accepted sockets do.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define BUF_SIZE 65536
#define MAX_EVENTS 256

struct conn {
  int fd;
  unsigned events; /* the interest set currently registered with epoll */
  size_t head;     /* first byte not yet written back */
  size_t tail;     /* one past the last byte read */
  char buf[BUF_SIZE];
};

static int ep;

static void die(const char *what) {
  perror(what);
  exit(1);
}

static void conn_close(struct conn *c) {
  /* close() drops the epoll registration too (the fd is not shared). */
  close(c->fd);
  free(c);
}

static int conn_interest(struct conn *c, unsigned want) {
  if (want == c->events) return 0;
  struct epoll_event ev = {.events = want, .data.ptr = c};
  if (epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev) < 0) return -1;
  c->events = want;
  return 0;
}

/* Writes out what is buffered. Returns -1 when the connection must be closed. */
static int conn_flush(struct conn *c) {
  while (c->head < c->tail) {
    ssize_t n = send(c->fd, c->buf + c->head, c->tail - c->head, MSG_NOSIGNAL);
    if (n > 0) {
      c->head += (size_t)n;
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      break;
    } else {
      return -1;
    }
  }
  if (c->head == c->tail) c->head = c->tail = 0;
  return 0;
}

/* Reads what is there (up to the free space). Returns -1 on EOF or error. */
static int conn_fill(struct conn *c) {
  if (c->head > 0 && c->tail == BUF_SIZE) {
    /* Move the unsent bytes to the front to make room. */
    memmove(c->buf, c->buf + c->head, c->tail - c->head);
    c->tail -= c->head;
    c->head = 0;
  }
  while (c->tail < BUF_SIZE) {
    ssize_t n = recv(c->fd, c->buf + c->tail, BUF_SIZE - c->tail, 0);
    if (n > 0) {
      c->tail += (size_t)n;
      /* A short read means the socket is drained for now; level-triggered epoll will
         report it again if more arrives. */
      if (c->tail < BUF_SIZE) break;
    } else if (n == 0) {
      return -1;
    } else if (errno == EINTR) {
      continue;
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      break;
    } else {
      return -1;
    }
  }
  return 0;
}

static void conn_event(struct conn *c, unsigned events) {
  if (events & EPOLLOUT) {
    if (conn_flush(c) < 0) goto close;
  }
  if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
    if (conn_fill(c) < 0) goto close;
    if (conn_flush(c) < 0) goto close;
  }
  unsigned want = 0;
  if (c->tail < BUF_SIZE || c->head > 0) want |= EPOLLIN; /* room to read into */
  if (c->head < c->tail) want |= EPOLLOUT;                /* bytes waiting to go */
  if (conn_interest(c, want) < 0) goto close;
  return;
close:
  conn_close(c);
}

static void accept_all(int lfd) {
  for (;;) {
    int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
        perror("accept4"); /* out of descriptors: leave it in the queue for now */
        return;
      }
      die("accept4");
    }
    struct conn *c = malloc(sizeof *c);
    if (c == NULL) {
      close(fd);
      continue;
    }
    c->fd = fd;
    c->head = c->tail = 0;
    c->events = EPOLLIN;
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
      perror("epoll_ctl");
      conn_close(c);
    }
  }
}

int main(int argc, char **argv) {
  long port = argc > 1 ? strtol(argv[1], NULL, 10) : 0;
  if (port < 0 || port > 65535) {
    fprintf(stderr, "usage: %s [PORT]\n", argv[0]);
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);

  int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (lfd < 0) die("socket");
  int one = 1;
  if (setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0) die("setsockopt");
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(lfd, (struct sockaddr *)&addr, sizeof addr) < 0) die("bind");
  if (listen(lfd, 1024) < 0) die("listen");
  socklen_t len = sizeof addr;
  if (getsockname(lfd, (struct sockaddr *)&addr, &len) < 0) die("getsockname");
  printf("%u\n", (unsigned)ntohs(addr.sin_port));
  fflush(stdout);

  ep = epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) die("epoll_create1");
  /* The listener is told apart from connections by a NULL pointer. */
  struct epoll_event lev = {.events = EPOLLIN, .data.ptr = NULL};
  if (epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &lev) < 0) die("epoll_ctl");

  struct epoll_event events[MAX_EVENTS];
  for (;;) {
    int n = epoll_wait(ep, events, MAX_EVENTS, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      die("epoll_wait");
    }
    for (int i = 0; i < n; i++) {
      if (events[i].data.ptr == NULL)
        accept_all(lfd);
      else
        conn_event(events[i].data.ptr, events[i].events);
    }
  }
}
