/* log.h - one greppable line per event on stderr: "jobrun: job=<id> what: why". */
#ifndef JR_LOG_H
#define JR_LOG_H

enum jr_log_level { JR_LOG_ERROR, JR_LOG_WARN, JR_LOG_INFO, JR_LOG_DEBUG };

void jr_log_set_level(enum jr_log_level level);
/* Log to fd instead of 2 (a non-blocking descriptor of jobrun's stderr: lines a full pipe
 * does not take are dropped and counted, never waited for). */
void jr_log_set_fd(int fd);
void jr_log(enum jr_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define jr_error(...) jr_log(JR_LOG_ERROR, __VA_ARGS__)
#define jr_warn(...)  jr_log(JR_LOG_WARN, __VA_ARGS__)
#define jr_info(...)  jr_log(JR_LOG_INFO, __VA_ARGS__)
#define jr_debug(...) jr_log(JR_LOG_DEBUG, __VA_ARGS__)

#endif
