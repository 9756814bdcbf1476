# What `web serve` and `csca serve` share (lib/daemon.c, library-private):
# detaching with a ready pipe, the pid file, the log line, the listening
# socket. Both servers' components need it, so it joins on its own.
LIB_SRCS    += lib/daemon.c
UNIT_TESTS  += daemon
