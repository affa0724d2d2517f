/* test_pump.c - the output cap that keeps counting (pump.c), and one pump on a real loop. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "pump.h"

static struct jr_stream stream(uint64_t limit)
{
	struct jr_stream s;

	memset(&s, 0, sizeof(s));
	s.limit = limit;
	return s;
}

/* ---- jr_stream_take -------------------------------------------------------------------- */

static void take_under_cap(void **state)
{
	struct jr_stream s = stream(100);

	(void)state;
	assert_int_equal(jr_stream_take(&s, 10), 10);
	assert_int_equal(jr_stream_take(&s, 89), 89);
	assert_int_equal(s.bytes, 99);
	assert_false(s.truncated);
	assert_int_equal(s.limit, 100);   /* never changed */
}

static void take_exact_cap(void **state)
{
	struct jr_stream s = stream(100);

	(void)state;
	assert_int_equal(jr_stream_take(&s, 60), 60);
	assert_int_equal(jr_stream_take(&s, 40), 40);
	assert_int_equal(s.bytes, 100);
	assert_false(s.truncated);   /* exactly the cap is not a truncation */
	/* an empty read at the cap is not one either */
	assert_int_equal(jr_stream_take(&s, 0), 0);
	assert_false(s.truncated);
	/* one byte more is */
	assert_int_equal(jr_stream_take(&s, 1), 0);
	assert_true(s.truncated);
	assert_int_equal(s.bytes, 101);
}

static void take_single_read_exact(void **state)
{
	struct jr_stream s = stream(4096);

	(void)state;
	assert_int_equal(jr_stream_take(&s, 4096), 4096);
	assert_false(s.truncated);
	assert_int_equal(s.bytes, 4096);
}

static void take_crossing_cap(void **state)
{
	struct jr_stream s = stream(100);

	(void)state;
	assert_int_equal(jr_stream_take(&s, 70), 70);
	assert_int_equal(jr_stream_take(&s, 50), 30);   /* only the rest of the cap */
	assert_true(s.truncated);
	assert_int_equal(s.bytes, 120);
	/* counting goes on past the cap, nothing more passes */
	assert_int_equal(jr_stream_take(&s, 65536), 0);
	assert_int_equal(jr_stream_take(&s, 1), 0);
	assert_int_equal(s.bytes, 120 + 65536 + 1);
	assert_true(s.truncated);
	/* truncated stays set after empty reads */
	assert_int_equal(jr_stream_take(&s, 0), 0);
	assert_true(s.truncated);
}

static void take_one_read_over_cap(void **state)
{
	struct jr_stream s = stream(10);

	(void)state;
	assert_int_equal(jr_stream_take(&s, 65536), 10);
	assert_true(s.truncated);
	assert_int_equal(s.bytes, 65536);
}

static void take_limit_zero(void **state)
{
	struct jr_stream s = stream(0);

	(void)state;
	assert_int_equal(jr_stream_take(&s, 0), 0);
	assert_false(s.truncated);   /* nothing written, nothing dropped */
	assert_int_equal(jr_stream_take(&s, 1), 0);
	assert_true(s.truncated);
	assert_int_equal(jr_stream_take(&s, 1000), 0);
	assert_int_equal(s.bytes, 1001);
}

static void take_unlimited(void **state)
{
	struct jr_stream s = stream(JR_UNLIMITED);

	(void)state;
	assert_int_equal(jr_stream_take(&s, 65536), 65536);
	s.bytes = (1ULL << 40);   /* a job that has written a terabyte */
	assert_int_equal(jr_stream_take(&s, 65536), 65536);
	assert_false(s.truncated);
	assert_int_equal(s.bytes, (1ULL << 40) + 65536);
}

static void take_large_counts(void **state)
{
	struct jr_stream s = stream(64ULL << 20);

	(void)state;
	/* bytes far beyond 4 GiB: the count is 64-bit, the room computation must not wrap */
	s.bytes = 5ULL << 30;
	s.truncated = true;
	assert_int_equal(jr_stream_take(&s, 65536), 0);
	assert_int_equal(s.bytes, (5ULL << 30) + 65536);
	/* a cap above 4 GiB, just below it */
	s = stream(5ULL << 30);
	s.bytes = (5ULL << 30) - 3;
	assert_int_equal(jr_stream_take(&s, 8), 3);
	assert_true(s.truncated);
}

/* ---- a pump on a loop ------------------------------------------------------------------- */

struct pump_ctx {
	struct jr_pump pump;
	int eofs;
	int closed;
};

static void on_eof(struct jr_pump *p)
{
	struct pump_ctx *ctx = p->data;

	ctx->eofs++;
}

static void on_close(uv_handle_t *h)
{
	struct pump_ctx *ctx = ((struct jr_pump *)h->data)->data;

	ctx->closed++;
}

static void on_guard(uv_timer_t *t)
{
	*(int *)t->data = 1;
}

/* Bytes written to the pipe and not yet read by the pump. */
static int pending(int fd)
{
	int n = 0;

	assert_int_equal(ioctl(fd, FIONREAD, &n), 0);
	return n;
}

/* Pump `total` bytes (a pattern) through a pipe into dest_fd with the given cap. A guard timer
 * bounds every wait: a broken pump fails the test instead of hanging it. */
static void pump_through(struct pump_ctx *ctx, struct jr_stream *s, int dest_fd, size_t total)
{
	struct jr_err err;
	uv_timer_t guard;
	uv_loop_t loop;
	int fds[2], expired = 0;
	char *data;
	size_t i, off;

	data = malloc(total ? total : 1);
	assert_non_null(data);
	for (i = 0; i < total; i++)
		data[i] = (char)('a' + i % 26);
	assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
	assert_int_equal(uv_loop_init(&loop), 0);
	assert_int_equal(uv_timer_init(&loop, &guard), 0);
	guard.data = &expired;
	assert_int_equal(uv_timer_start(&guard, on_guard, 5000, 0), 0);
	memset(ctx, 0, sizeof(*ctx));
	ctx->pump.data = ctx;
	jr_err_clear(&err);
	assert_int_equal(jr_pump_start(&ctx->pump, &loop, fds[0], dest_fd, s, on_eof, &err), 0);
	assert_true(ctx->pump.open);
	/* write in slices, running the loop until the pump has read each, so the pipe never
	 * fills (fds[0] is the pump's now; FIONREAD only looks) */
	for (off = 0; off < total;) {
		size_t n = total - off < 16384 ? total - off : 16384;
		ssize_t w = write(fds[1], data + off, n);

		assert_true(w > 0);
		off += (size_t)w;
		while (pending(fds[0]) > 0 && !expired)
			uv_run(&loop, UV_RUN_ONCE);
		assert_false(expired);
	}
	close(fds[1]);
	while (!ctx->eofs && !expired)
		uv_run(&loop, UV_RUN_ONCE);
	assert_false(expired);
	assert_int_equal(ctx->eofs, 1);
	assert_true(ctx->pump.eof);
	uv_close((uv_handle_t *)&guard, NULL);
	jr_pump_close(&ctx->pump, on_close);
	jr_pump_close(&ctx->pump, on_close);   /* twice: harmless */
	uv_run(&loop, UV_RUN_DEFAULT);
	assert_int_equal(ctx->closed, 1);
	assert_false(ctx->pump.open);
	assert_int_equal(uv_loop_close(&loop), 0);
	free(data);
}

/* An anonymous temporary file: unlinked at once, so a failing test leaves nothing behind. */
static int temp_file(void)
{
	char path[] = "/tmp/jobrun-test-pump.XXXXXX";
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	unlink(path);
	return fd;
}

static void pump_caps_output(void **state)
{
	struct pump_ctx ctx;
	struct jr_stream s = stream(1000);
	char got[2048];
	ssize_t n;
	size_t i;
	int fd;

	(void)state;
	fd = temp_file();
	pump_through(&ctx, &s, fd, 100000);
	assert_int_equal(s.bytes, 100000);
	assert_true(s.truncated);
	assert_int_equal(ctx.pump.write_errno, 0);
	n = pread(fd, got, sizeof(got), 0);
	assert_int_equal(n, 1000);   /* exactly the cap reached the destination */
	for (i = 0; i < 1000; i++)
		assert_int_equal(got[i], 'a' + i % 26);
	close(fd);
}

static void pump_under_cap(void **state)
{
	struct pump_ctx ctx;
	struct jr_stream s = stream(64ULL << 20);
	char got[256];
	int fd;

	(void)state;
	fd = temp_file();
	pump_through(&ctx, &s, fd, 200);
	assert_int_equal(s.bytes, 200);
	assert_false(s.truncated);
	assert_int_equal(pread(fd, got, sizeof(got), 0), 200);
	close(fd);

	/* nothing at all: EOF, no bytes */
	fd = temp_file();
	s = stream(10);
	pump_through(&ctx, &s, fd, 0);
	assert_int_equal(s.bytes, 0);
	assert_false(s.truncated);
	assert_int_equal(pread(fd, got, sizeof(got), 0), 0);
	close(fd);
}

/* A destination that cannot be written: the first errno is kept, the stream keeps counting
 * and the job is drained to EOF (it must never block on a full pipe). */
static void pump_write_error(void **state)
{
	struct pump_ctx ctx;
	struct jr_stream s = stream(1 << 20);
	int fd;

	(void)state;
	fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	pump_through(&ctx, &s, fd, 50000);
	assert_int_equal(ctx.pump.write_errno, EBADF);
	assert_int_equal(s.bytes, 50000);
	assert_false(s.truncated);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(take_under_cap),
		cmocka_unit_test(take_exact_cap),
		cmocka_unit_test(take_single_read_exact),
		cmocka_unit_test(take_crossing_cap),
		cmocka_unit_test(take_one_read_over_cap),
		cmocka_unit_test(take_limit_zero),
		cmocka_unit_test(take_unlimited),
		cmocka_unit_test(take_large_counts),
		cmocka_unit_test(pump_caps_output),
		cmocka_unit_test(pump_under_cap),
		cmocka_unit_test(pump_write_error),
	};

	return cmocka_run_group_tests_name("pump", tests, NULL, NULL);
}
