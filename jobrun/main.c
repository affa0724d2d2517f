/* main.c - jobrun's command line: dispatch to subcommands. */
#include "check.h"
#include "isolate.h"
#include "run.h"
#include "serve.h"

#include <libgen.h>
#include <stdio.h>
#include <string.h>

#ifndef JR_VERSION
#define JR_VERSION "0.1.0"
#endif

static const char usage[] =
	"usage: jobrun COMMAND [ARGS...]\n"
	"  run [OPTIONS] [--] CMD...  run one command isolated, print its result (JSON)\n"
	"  run [OPTIONS] JOB.tar.gz   run a job packed as a tarball (.tar[.gz|.bz2|.xz|.zst],\n"
	"                             .zip, - for stdin) with its job.conf\n"
	"  serve [--socket PATH]      the resident supervisor: runs submitted jobs, N at once\n"
	"  submit [--wait] [RUN OPTIONS] JOB.tar.gz | -- CMD...\n"
	"                             give a job to jobrun serve (--wait: print its result)\n"
	"  status [ID], list, wait ID, cancel ID, drain [--exit], metrics\n"
	"                             ask jobrun serve (`jobrun status --help`)\n"
	"  isolate [ISOLATE OPTIONS] --init | --run -- CMD... | --cleanup\n"
	"                             isolate's command line over jobrun's engine (also when\n"
	"                             started as `isolate`); docs/isolate.md\n"
	"  check                      jobrun's helpers and what this host offers; exit 1 if\n"
	"                             jobs cannot run or their limits cannot be enforced\n"
	"  check --clean [--runtime-dir DIR]\n"
	"                             remove what killed jobruns left behind (their jobs'\n"
	"                             processes, cgroups, workspace mounts), a line each\n"
	"  version, -V, --version     print the version\n"
	"  help, -h, --help           this text\n"
	"`jobrun run --help` lists the options of run; man jobrun has them all.\n";

int main(int argc, char **argv)
{
	/* started as `isolate` (a symlink): isolate's command line, a drop-in */
	if (argc > 0 && !strcmp(basename(argv[0]), "isolate")) {
		argv[0] = "isolate";
		return jr_cmd_isolate(argc, argv);
	}
	if (argc < 2) {
		fputs(usage, stderr);
		return 2;
	}
	if (!strcmp(argv[1], "run"))
		return jr_cmd_run(argc - 1, argv + 1);
	if (!strcmp(argv[1], "isolate")) {
		argv[1] = "jobrun isolate";
		return jr_cmd_isolate(argc - 1, argv + 1);
	}
	if (!strcmp(argv[1], "serve"))
		return jr_cmd_serve(argc - 1, argv + 1);
	if (!strcmp(argv[1], "submit") || !strcmp(argv[1], "status") ||
	    !strcmp(argv[1], "list") || !strcmp(argv[1], "wait") || !strcmp(argv[1], "cancel") ||
	    !strcmp(argv[1], "drain") || !strcmp(argv[1], "metrics"))
		return jr_cmd_client(argc - 1, argv + 1);
	if (!strcmp(argv[1], "check"))
		return jr_cmd_check(argc - 1, argv + 1);
	if (!strcmp(argv[1], "version") || !strcmp(argv[1], "--version") ||
	    !strcmp(argv[1], "-V")) {
		printf("jobrun %s\n", JR_VERSION);
		return 0;
	}
	if (!strcmp(argv[1], "help") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		fputs(usage, stdout);
		return 0;
	}
	fprintf(stderr, "jobrun: unknown command '%s'\n%s", argv[1], usage);
	return 2;
}
