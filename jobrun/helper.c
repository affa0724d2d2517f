/* helper.c - find jobrun's helper programs. */
#define _GNU_SOURCE
#include "helper.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef JR_LIBEXECDIR
#define JR_LIBEXECDIR "/usr/local/libexec/jobrun"
#endif

int jr_helper_open(const char *name, struct jr_err *err)
{
	char self[PATH_MAX], path[PATH_MAX + 64];
	struct stat st;
	ssize_t n;
	char *slash;
	int fd = -1;

	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = '\0';
		slash = strrchr(self, '/');
		if (slash) {
			*slash = '\0';
			snprintf(path, sizeof(path), "%s/%s", self, name);
			fd = open(path, O_RDONLY | O_CLOEXEC);
		}
	}
	if (fd < 0) {
		snprintf(path, sizeof(path), "%s/%s", JR_LIBEXECDIR, name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return jr_err_set(err, errno, "open %s", path);
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != 0 ||
	    (st.st_mode & (S_IWGRP | S_IWOTH))) {
		close(fd);
		return jr_err_set(err, EPERM, "%s must be a root-owned file writable only by root",
				  path);
	}
	return fd;
}
