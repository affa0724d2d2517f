/* bench/attach.c - time the cgroup v1 attach write alone (used by bench/run.sh).
 *
 *   attach TO_DIR BACK_DIR GAP_MS N
 *
 * N times: sleep GAP_MS, then write "0" (this process) to TO_DIR/cgroup.procs, timed, then
 * straight back to BACK_DIR/cgroup.procs, timed. Prints one line per round: "<in_us> <back_us>".
 * The process always ends in BACK_DIR (or dies trying), so TO_DIR is empty when it exits and the
 * caller can rmdir it. Single-threaded on purpose: cgroup.procs moves the whole thread group.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int open_procs(const char *dir)
{
	char path[4096];
	int fd;

	if (snprintf(path, sizeof(path), "%s/cgroup.procs", dir) >= (int)sizeof(path)) {
		fprintf(stderr, "attach: path too long: %s\n", dir);
		exit(2);
	}
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "attach: open %s: %s\n", path, strerror(errno));
		exit(2);
	}
	return fd;
}

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

int main(int argc, char **argv)
{
	int to, back, gap_ms, n, i;

	if (argc != 5) {
		fprintf(stderr, "usage: attach TO_DIR BACK_DIR GAP_MS N\n");
		return 2;
	}
	to = open_procs(argv[1]);
	back = open_procs(argv[2]);
	gap_ms = atoi(argv[3]);
	n = atoi(argv[4]);
	for (i = 0; i < n; i++) {
		struct timespec gap = { gap_ms / 1000, (long)(gap_ms % 1000) * 1000000L };
		double t0, t1, t2;

		if (gap_ms > 0)
			nanosleep(&gap, NULL);
		t0 = now_us();
		if (write(to, "0", 1) != 1) {
			fprintf(stderr, "attach: write %s/cgroup.procs: %s\n", argv[1], strerror(errno));
			return 1;
		}
		t1 = now_us();
		if (write(back, "0", 1) != 1) {
			fprintf(stderr, "attach: write %s/cgroup.procs: %s\n", argv[2], strerror(errno));
			return 1; /* exiting empties TO_DIR all the same */
		}
		t2 = now_us();
		printf("%.1f %.1f\n", t1 - t0, t2 - t1);
	}
	return 0;
}
