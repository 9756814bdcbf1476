# Online enrollment (issue 5, cscert side): the EST client (lib/enroll_est.c,
# the one module that calls libcurl), `cscert ca list|trust` and the
# `request --ca` / `request resume` paths of cmd_request.c.
LIB_SRCS    += lib/enroll_est.c
CSCERT_SRCS += tools/cscert/cmd_ca.c
UNIT_TESTS  += enroll
