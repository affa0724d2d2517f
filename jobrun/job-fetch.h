/* job-fetch.h - a job tarball by URL (README: Job tarballs by URL): jobrun-fetch downloads it
 * into a memfd before the unpack helper reads it as it reads any archive. */
#ifndef JR_JOB_FETCH_H
#define JR_JOB_FETCH_H

#include "err.h"
#include "job.h"

#include <stdbool.h>

/* An archive argument that is fetched: http:// or https:// (any case). */
bool jr_fetch_is_url(const char *s);

/* file:///PATH (or file://localhost/PATH), %XX decoded: 1 with *path (malloc'd); 0 when s is
 * no file:// URL; -EINVAL for one that names another host, has a query, or a %00; -ENOMEM. A
 * file:// URL is exactly that local path, opened with the caller's rights like any path. */
int jr_fetch_file_path(const char *s, char **path);

/* Start jobrun-fetch for job->spec->archive into job->stg.fetch.out_fd, on the job's loop.
 * done is called from the loop once it has ended (fetch.r: 0, or -errno with fetch.err, and
 * job->outcome.rejected set when the URL is the job's fault). -errno (err set; rejected set
 * when jobrun.conf allows no host) when nothing was started. */
int jr_job_fetch_start(struct jr_job *job, void (*done)(struct jr_job *job), struct jr_err *err);
void jr_job_fetch_kill(struct jr_job *job);
int jr_job_fetch_close(struct jr_job *job, uv_close_cb close_cb);
/* Reap a helper still running, close the descriptors (the memfd with them). */
void jr_job_fetch_release(struct jr_job *job);

#endif
