# The lead's part: error, store, topology, names, request; the cscert tool's shell.
# tools/common/tool_common.c (password file, JSON output) is in both tools.
LIB_SRCS    += lib/error.c lib/jsonl.c lib/sql.c lib/store.c lib/topology.c lib/names.c lib/request.c
CSCERT_SRCS += tools/common/tool_common.c tools/cscert/main.c tools/cscert/cmd_log.c tools/cscert/cmd_topology.c tools/cscert/cmd_request.c
UNIT_TESTS  += store topology names request jsonl
