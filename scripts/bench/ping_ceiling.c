/*
 * The ceiling of the PING benchmarks: the same Redis-protocol PING server as
 * redis_ping_silly.lua, written as the least a server can do: one thread, level-triggered
 * epoll, one read and one write per readiness, no runtime and no Lua. redis-benchmark
 * driving this server shows how fast the load generator itself can go on this machine;
 * no server in any language can be measured faster than that with the same client.
 *
 * Build: cc -O2 -o target/ping_ceiling scripts/bench/ping_ceiling.c   (scripts/bench.sh does)
 * Run:   target/ping_ceiling 6395      (prints "ready" once it listens on 127.0.0.1)
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_FD 65536
#define BUF 65536

struct conn {
	char *in;   /* bytes received and not yet parsed */
	size_t len; /* how many */
};

static struct conn conns[MAX_FD];
static char reply[BUF * 2];

/* Length of the first complete command in p[0..n), 0 if it is not complete yet. Inline
 * commands end at '\n'; multi-bulk ones are "*<k>\r\n" followed by k "$<len>\r\n<data>\r\n". */
static size_t command_len(const char *p, size_t n)
{
	const char *nl = memchr(p, '\n', n);
	if (!nl)
		return 0;
	size_t at = (size_t)(nl - p) + 1;
	if (p[0] != '*')
		return at;
	long k = strtol(p + 1, NULL, 10);
	for (long i = 0; i < k; i++) {
		if (at >= n)
			return 0;
		nl = memchr(p + at, '\n', n - at);
		if (!nl)
			return 0;
		long blen = strtol(p + at + 1, NULL, 10);
		at = (size_t)(nl - p) + 1 + (size_t)blen + 2;
		if (at > n)
			return 0;
	}
	return at;
}

static void serve(int ep, int fd)
{
	struct conn *c = &conns[fd];
	if (!c->in)
		c->in = malloc(BUF);
	ssize_t r = read(fd, c->in + c->len, BUF - c->len);
	if (r <= 0) {
		epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
		close(fd);
		free(c->in);
		c->in = NULL;
		c->len = 0;
		return;
	}
	c->len += (size_t)r;
	size_t at = 0, out = 0, n;
	while (at < c->len && (n = command_len(c->in + at, c->len - at)) > 0) {
		memcpy(reply + out, "+PONG\r\n", 7);
		out += 7;
		at += n;
	}
	memmove(c->in, c->in + at, c->len - at);
	c->len -= at;
	if (c->len == BUF) /* a command larger than the buffer: not a benchmark client */
		c->len = 0;
	for (size_t sent = 0; sent < out;) {
		ssize_t w = write(fd, reply + sent, out - sent);
		if (w <= 0)
			break;
		sent += (size_t)w;
	}
}

int main(int argc, char **argv)
{
	int one = 1;
	int port = argc > 1 ? atoi(argv[1]) : 6395;
	int l = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(l, (struct sockaddr *)&a, sizeof a) || listen(l, 1024)) {
		perror("ping_ceiling");
		return 1;
	}
	int ep = epoll_create1(0);
	struct epoll_event ev = {.events = EPOLLIN, .data.fd = l};
	epoll_ctl(ep, EPOLL_CTL_ADD, l, &ev);
	printf("ready %d\n", port);
	fflush(stdout);
	struct epoll_event evs[256];
	for (;;) {
		int n = epoll_wait(ep, evs, 256, -1);
		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd;
			if (fd != l) {
				serve(ep, fd);
				continue;
			}
			int c;
			while ((c = accept4(l, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
				if (c >= MAX_FD) {
					close(c);
					continue;
				}
				setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
				struct epoll_event e = {.events = EPOLLIN, .data.fd = c};
				epoll_ctl(ep, EPOLL_CTL_ADD, c, &e);
			}
		}
	}
}
