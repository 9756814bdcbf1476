# The lead's part: error, store; the cscert tool's shell.
LIB_SRCS    += lib/error.c lib/store.c
CSCERT_SRCS += tools/cscert/main.c tools/cscert/cmd_log.c
UNIT_TESTS  += store
