# The store's lifecycle (issue 4): import/export, certificate details,
# assignment, check; the cscert commands import, export, set, get, remove,
# store list, show, remove-cert, check.
LIB_SRCS    += lib/import.c lib/certinfo.c lib/assign.c lib/check.c lib/assign_names.c
CSCERT_SRCS += tools/cscert/cmd_store.c
UNIT_TESTS  += import certinfo assign check
