/* pump.c - output pumps on the loop. */
#include "pump.h"

#include <errno.h>
#include <poll.h>
#include <unistd.h>

size_t jr_stream_take(struct jr_stream *s, size_t n)
{
	uint64_t room = s->bytes < s->limit ? s->limit - s->bytes : 0;
	size_t pass = (uint64_t)n < room ? n : (size_t)room;

	s->bytes += n;
	if (pass < n)
		s->truncated = true;
	return pass;
}

/* Blocking write of everything (the destination is a file or jobrun's own stdout/stderr). */
static int write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			struct pollfd pfd = { .fd = fd, .events = POLLOUT };

			poll(&pfd, 1, -1);
			continue;
		}
		if (n < 0)
			return -errno;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct jr_pump *p = h->data;

	(void)suggested;
	buf->base = p->buf;
	buf->len = sizeof(p->buf);
}

static void read_cb(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	struct jr_pump *p = s->data;
	size_t pass;
	int r;

	if (n > 0) {
		pass = jr_stream_take(p->stream, (size_t)n);
		if (pass && !p->write_errno) {
			r = write_all(p->dest_fd, buf->base, pass);
			if (r < 0)
				p->write_errno = -r;
		}
		return;
	}
	if (n == 0)
		return; /* EAGAIN */
	/* UV_EOF, or an error: either way nothing more will come */
	uv_read_stop(s);
	p->eof = true;
	p->eof_cb(p);
}

int jr_pump_start(struct jr_pump *p, uv_loop_t *loop, int read_fd, int dest_fd,
		  struct jr_stream *stream, jr_pump_eof_cb eof_cb, struct jr_err *err)
{
	int r;

	p->dest_fd = dest_fd;
	p->stream = stream;
	p->eof_cb = eof_cb;
	p->eof = false;
	p->write_errno = 0;
	r = uv_pipe_init(loop, &p->pipe, 0);
	if (r < 0) {
		close(read_fd);
		return jr_err_set(err, -r, "uv_pipe_init");
	}
	p->open = true;
	p->pipe.data = p;
	r = uv_pipe_open(&p->pipe, read_fd);
	if (r < 0) {
		close(read_fd);
		return jr_err_set(err, -r, "uv_pipe_open");
	}
	r = uv_read_start((uv_stream_t *)&p->pipe, alloc_cb, read_cb);
	if (r < 0)
		return jr_err_set(err, -r, "uv_read_start");
	return 0;
}

void jr_pump_close(struct jr_pump *p, uv_close_cb close_cb)
{
	if (p->open && !uv_is_closing((uv_handle_t *)&p->pipe)) {
		p->open = false;
		uv_close((uv_handle_t *)&p->pipe, close_cb);
	}
}
