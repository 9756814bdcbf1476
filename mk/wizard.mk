# cscert wizard: the Certificate Wizard (tools/cscert/cmd_wizard.c). It runs
# the request, import, set, remove and show commands, so it needs every
# other cscert command file; no library code of its own.
CSCERT_SRCS += tools/cscert/cmd_wizard.c
