/* check.h - `jobrun check`: what this host offers, and whether jobrun can enforce its limits. */
#ifndef JR_CHECK_H
#define JR_CHECK_H

int jr_cmd_check(int argc, char **argv);

#endif
