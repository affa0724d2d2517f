/* serve.h - `jobrun serve`, the resident supervisor, and its clients (`jobrun submit`,
 * `status`, `list`, `wait`, `cancel`, `drain`, `metrics`): docs/protocol.md. */
#ifndef JR_SERVE_H
#define JR_SERVE_H

#define JR_SERVE_DEFAULT_SOCKET "/run/jobrun.sock"

int jr_cmd_serve(int argc, char **argv);

/* The client subcommands: argv[0] names the operation ("submit", "status", ...). */
int jr_cmd_client(int argc, char **argv);

#endif
