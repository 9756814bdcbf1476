# The csca tool (issue 5): the enterprise CA's command line. main.c (the
# table, global options, shared helpers), cmd_ca.c (init, install-cert,
# show, cacerts, revoke, crl, issued, log), cmd_admin.c (template, account,
# group), cmd_queue.c (request, submit, retrieve). `csca serve` is
# cmd_serve.c (its own owner); it joins the table when the file is there.
CSCA_SERVE_SRC := $(wildcard tools/csca/cmd_serve.c)
CSCA_SRCS   += tools/common/tool_common.c tools/csca/main.c tools/csca/cmd_ca.c tools/csca/cmd_admin.c \
               tools/csca/cmd_queue.c $(CSCA_SERVE_SRC)
$(BUILD)/obj/tools/csca/main.o: CPPFLAGS += $(if $(CSCA_SERVE_SRC),-DCSCA_HAVE_SERVE=1)
