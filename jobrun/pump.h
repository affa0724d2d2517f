/* pump.h - copy a job's stdout or stderr to its destination with a byte cap that keeps
 * counting past it. */
#ifndef JR_PUMP_H
#define JR_PUMP_H

#include "err.h"
#include "result.h"

#include <stdbool.h>
#include <uv.h>

struct jr_pump;
typedef void (*jr_pump_eof_cb)(struct jr_pump *pump);

struct jr_pump {
	uv_pipe_t pipe;
	uv_poll_t wpoll;        /* dest_fd writable again (a pipe, FIFO or terminal that was full) */
	int dest_fd;            /* where accepted bytes go (non-blocking unless a regular file) */
	struct jr_stream *stream;
	bool open;              /* pipe handle initialised (needs closing) */
	bool wpoll_open;        /* wpoll initialised (needs closing) */
	bool eof;               /* the job's end is closed and everything accepted is written */
	bool read_eof;          /* the job's end is closed */
	bool is_sock;           /* dest_fd is a socket: send(MSG_DONTWAIT) */
	size_t pend_off, pend_len; /* accepted bytes in buf not yet written: reading waits */
	int write_errno;        /* first error writing to dest_fd (output then discarded) */
	bool dest_gone;       /* its reader went away (EPIPE): the rest is counted undelivered */
	jr_pump_eof_cb eof_cb;
	void *data;
	char *buf;              /* JR_PUMP_BUF bytes, allocated at the first read, freed by
				 * jr_pump_close (not inline: a job's two pumps would make every
				 * struct jr_job 128 KiB that jobrun zeroes and faults in per job) */
};

#define JR_PUMP_BUF 65536

/* Account n bytes read from the job; returns how many of them to pass on (the rest of the
 * cap), marks the stream truncated when bytes had to be dropped. */
size_t jr_stream_take(struct jr_stream *s, size_t n);

/* Start pumping read_fd (taken over) to dest_fd (borrowed). The pump never blocks the loop:
 * when dest_fd is full (a reader that does not read), it stops reading the job's pipe, so
 * the job waits on its own full pipe, and resumes when dest_fd is writable again. */
int jr_pump_start(struct jr_pump *p, uv_loop_t *loop, int read_fd, int dest_fd,
		  struct jr_stream *stream, jr_pump_eof_cb eof_cb, struct jr_err *err);

/* Give up on what dest_fd has not taken (the job is dead and its reader does not read):
 * the bytes are counted in stream->undelivered, the pump stops and reports eof. */
void jr_pump_abandon(struct jr_pump *p);

/* Close the pump's handles (with pipe.data copied to each); close_cb runs once for each.
 * Returns how many were closed. */
int jr_pump_close(struct jr_pump *p, uv_close_cb close_cb);

#endif
