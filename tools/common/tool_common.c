/* tool_common.c: the helpers both tools share (see tool_common.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "cscert/error.h"
#include "tool_common.h"

int tool_read_secret_line(char **out, const char *path, const char *fix)
{
    FILE *f;
    char *buf;

    *out = NULL;
    f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
    if (!f)
        return cscert_error_setf(CSCERT_EIO, path, fix, "cannot open the password file: %s", strerror(errno));
    buf = OPENSSL_secure_zalloc(TOOL_SECRET_LINE_MAX);
    if (!buf) {
        if (f != stdin)
            fclose(f);
        return cscert__oom();
    }
    if (!fgets(buf, TOOL_SECRET_LINE_MAX, f))
        buf[0] = '\0';
    if (f != stdin)
        fclose(f);
    buf[strcspn(buf, "\r\n")] = '\0';
    *out = buf;
    return CSCERT_OK;
}

void tool_secret_free(char *s)
{
    if (s)
        OPENSSL_secure_clear_free(s, TOOL_SECRET_LINE_MAX);
}

void tool_json_print(json_t *v)
{
    char *s = json_dumps(v, JSON_INDENT(2) | JSON_PRESERVE_ORDER);

    if (s) {
        puts(s);
        free(s);
    }
    json_decref(v);
}
