/* tool_common.h: what the cscert and csca tools share, compiled into both
 * (mk/core.mk, mk/csca.mk). Like the tools, it uses nothing but
 * include/cscert/; each tool keeps its own names (cli_*, csca_*) and
 * messages and calls these. */
#ifndef CSCERT_TOOL_COMMON_H
#define CSCERT_TOOL_COMMON_H

#include <jansson.h>

/* 4 KiB: a password file's first line; longer is not a password. */
#define TOOL_SECRET_LINE_MAX 4096

/* The first line of path ('-': stdin) without its line ending, in secure
 * memory (possibly ""); free with tool_secret_free (wiped). EIO naming
 * path, with fix, when it cannot be opened. */
int tool_read_secret_line(char **out, const char *path, const char *fix);
void tool_secret_free(char *s);
/* Print v to stdout indented, with a newline (steals v). */
void tool_json_print(json_t *v);

#endif
