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
	int dest_fd;            /* where accepted bytes go */
	struct jr_stream *stream;
	bool open;              /* pipe handle initialised (needs closing) */
	bool eof;
	int write_errno;        /* first error writing to dest_fd (output then discarded) */
	jr_pump_eof_cb eof_cb;
	void *data;
	char buf[65536];
};

/* Account n bytes read from the job; returns how many of them to pass on (the rest of the
 * cap), marks the stream truncated when bytes had to be dropped. */
size_t jr_stream_take(struct jr_stream *s, size_t n);

/* Start pumping read_fd (taken over) to dest_fd (borrowed). */
int jr_pump_start(struct jr_pump *p, uv_loop_t *loop, int read_fd, int dest_fd,
		  struct jr_stream *stream, jr_pump_eof_cb eof_cb, struct jr_err *err);

/* Close the pipe handle; close_cb runs when libuv is done with it. */
void jr_pump_close(struct jr_pump *p, uv_close_cb close_cb);

#endif
