# csca serve (issue 5): EST (RFC 7030) over HTTPS for the enterprise CA:
# workers, group commit, the CA-issued TLS certificate (lib/ca_serve.c).
# tools/csca/cmd_serve.c joins CSCA_SRCS in mk/csca.mk (the csca CLI's).
LIB_SRCS    += lib/ca_serve.c
UNIT_TESTS  += ca_serve
