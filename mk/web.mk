# The HTTPS bindings (issue 6): web binding list|set|remove, web serve
# (libevent evhttp + OpenSSL bufferevents) and web verify (the client side).
LIB_SRCS    += lib/web.c lib/web_verify.c
CSCERT_SRCS += tools/cscert/cmd_web.c
UNIT_TESTS  += web
