/* pump.c - output pumps on the loop. Nothing here blocks: a destination that does not take
 * more (a full pipe, a FIFO nobody reads, a stopped terminal) pauses the pump, and the job
 * then waits on its own full pipe while its limits keep running. */
#include "pump.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
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

static void read_cb(uv_stream_t *s, ssize_t n, const uv_buf_t *buf);
static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf);

/* The caller closed its end (`jobrun run ... | head`): not jobrun's failure, and not the
 * job's. What it did not take, now and later, is counted in undelivered_bytes. */
static void dest_gone(struct jr_pump *p)
{
	p->dest_gone = true;
	p->stream->undelivered += p->pend_len;
	p->pend_len = 0;
}

/* Write what is pending without blocking: 0 when all of it went, 1 when dest_fd is full. */
static int flush(struct jr_pump *p)
{
	while (p->pend_len) {
		const char *b = p->buf + p->pend_off;
		ssize_t n = p->is_sock ? send(p->dest_fd, b, p->pend_len, MSG_DONTWAIT | MSG_NOSIGNAL)
				       : write(p->dest_fd, b, p->pend_len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 1;
		if (n < 0 && (errno == EPIPE || errno == ECONNRESET)) {
			dest_gone(p);
			return 0;
		}
		if (n < 0) {
			p->write_errno = errno;
			p->pend_len = 0;
			return 0;
		}
		p->pend_off += (size_t)n;
		p->pend_len -= (size_t)n;
	}
	return 0;
}

static void finish_eof(struct jr_pump *p)
{
	p->eof = true;
	p->eof_cb(p);
}

static void writable_cb(uv_poll_t *h, int status, int events)
{
	struct jr_pump *p = h->data;

	(void)events;
	if (status == UV_EBADF || status == UV_EPIPE) /* libuv: POLLERR, the reader is gone */
		dest_gone(p);
	else if (status < 0)
		p->write_errno = -status;
	if (status == 0 && flush(p) == 1)
		return;
	uv_poll_stop(h);
	if (p->read_eof)
		finish_eof(p);
	else
		uv_read_start((uv_stream_t *)&p->pipe, alloc_cb, read_cb);
}

/* dest_fd is full: stop reading the job until it can take more. */
static void pause_for_dest(struct jr_pump *p)
{
	uv_loop_t *loop = p->pipe.loop;

	uv_read_stop((uv_stream_t *)&p->pipe);
	if (!p->wpoll_open) {
		if (uv_poll_init(loop, &p->wpoll, p->dest_fd) < 0) {
			p->write_errno = EAGAIN; /* cannot wait on it: give up rather than block */
			p->pend_len = 0;
			uv_read_start((uv_stream_t *)&p->pipe, alloc_cb, read_cb);
			return;
		}
		p->wpoll_open = true;
		p->wpoll.data = p;
	}
	uv_poll_start(&p->wpoll, UV_WRITABLE, writable_cb);
}

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct jr_pump *p = h->data;

	(void)suggested;
	if (!p->buf)
		p->buf = malloc(JR_PUMP_BUF); /* NULL: libuv reports UV_ENOBUFS, read_cb ends it */
	buf->base = p->buf;
	buf->len = p->buf ? JR_PUMP_BUF : 0;
}

static void read_cb(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	struct jr_pump *p = s->data;
	size_t pass;

	(void)buf;
	if (n > 0) {
		pass = jr_stream_take(p->stream, (size_t)n);
		if (pass && p->dest_gone) {
			p->stream->undelivered += pass;
		} else if (pass && !p->write_errno) {
			p->pend_off = 0;
			p->pend_len = pass;
			if (flush(p) == 1)
				pause_for_dest(p);
		}
		return;
	}
	if (n == 0)
		return; /* EAGAIN */
	/* UV_EOF, or an error: either way nothing more will come */
	if (n == UV_ENOBUFS && !p->write_errno)
		p->write_errno = ENOMEM; /* no buffer (alloc_cb): the output is not all there */
	uv_read_stop(s);
	p->read_eof = true;
	finish_eof(p);
}

int jr_pump_start(struct jr_pump *p, uv_loop_t *loop, int read_fd, int dest_fd,
		  struct jr_stream *stream, jr_pump_eof_cb eof_cb, struct jr_err *err)
{
	struct stat st;
	int r;

	p->dest_fd = dest_fd;
	p->stream = stream;
	p->eof_cb = eof_cb;
	p->eof = p->read_eof = p->wpoll_open = false;
	p->pend_off = p->pend_len = 0;
	p->write_errno = 0;
	p->dest_gone = false;
	p->is_sock = fstat(dest_fd, &st) == 0 && S_ISSOCK(st.st_mode);
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

void jr_pump_abandon(struct jr_pump *p)
{
	if (p->eof || !p->open)
		return;
	p->stream->undelivered += p->pend_len;
	p->pend_len = 0;
	if (p->wpoll_open)
		uv_poll_stop(&p->wpoll);
	uv_read_stop((uv_stream_t *)&p->pipe);
	p->read_eof = true;
	finish_eof(p);
}

int jr_pump_close(struct jr_pump *p, uv_close_cb close_cb)
{
	int n = 0;

	if (p->wpoll_open && !uv_is_closing((uv_handle_t *)&p->wpoll)) {
		p->wpoll_open = false;
		p->wpoll.data = p->pipe.data;
		uv_close((uv_handle_t *)&p->wpoll, close_cb);
		n++;
	}
	if (p->open && !uv_is_closing((uv_handle_t *)&p->pipe)) {
		p->open = false;
		uv_close((uv_handle_t *)&p->pipe, close_cb);
		n++;
	}
	/* no read or write of the buffer after this: both handles are closing */
	free(p->buf);
	p->buf = NULL;
	return n;
}
