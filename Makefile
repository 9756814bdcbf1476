# cscert: build, tests, demo. `make check` and `make demo` install what is
# missing first (scripts/deps.sh), then build and run.
#
# Sources are listed per component in mk/*.mk (LIB_SRCS, CSCERT_SRCS,
# CSCA_SRCS, UNIT_TESTS), so a component joins the build when it compiles.
# BUILD picks the output tree; SAN=1 builds with ASan+UBSan; EXTRA_CFLAGS
# adds compiler flags (scripts/fuzz.sh: clang's -fsanitize=fuzzer-no-link).
# -Wno-format-truncation: messages are cut to their buffers on purpose.

BUILD ?= build
SAN   ?=
CC    ?= cc

LIB_SRCS    :=
CSCERT_SRCS :=
CSCA_SRCS   :=
UNIT_TESTS  :=
FUZZ_TARGETS :=
include $(sort $(wildcard mk/*.mk))

PKGS     = openssl sqlite3 libcurl libevent libevent_openssl libevent_pthreads jansson
CPPFLAGS = -Iinclude -D_GNU_SOURCE
CFLAGS   = -std=c11 -Wall -Wextra -Werror -Wno-format-truncation -O2 -g -fPIC $(shell pkg-config --cflags $(PKGS)) $(EXTRA_CFLAGS)
LDLIBS   = $(shell pkg-config --libs $(PKGS)) -lpthread -lm
ifeq ($(SAN),1)
CFLAGS  += -O1 -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
LDFLAGS += -fsanitize=address,undefined
endif

LIB_OBJS    = $(LIB_SRCS:%.c=$(BUILD)/obj/%.o)
CSCERT_OBJS = $(CSCERT_SRCS:%.c=$(BUILD)/obj/%.o)
CSCA_OBJS   = $(CSCA_SRCS:%.c=$(BUILD)/obj/%.o)
STATIC      = $(BUILD)/lib/libcscert.a
SHARED      = $(BUILD)/lib/libcscert.so
BINS        = $(BUILD)/bin/cscert $(if $(CSCA_SRCS),$(BUILD)/bin/csca)
TESTS       = $(UNIT_TESTS:%=$(BUILD)/tests/test_%)
FUZZ_REPLAYS = $(FUZZ_TARGETS:%=$(BUILD)/tests/fuzz_%)

.PHONY: all deps build check demo bench fuzz clean
all: build
build: $(STATIC) $(SHARED) $(BINS) $(TESTS) $(FUZZ_REPLAYS)

$(BUILD)/obj/%.o: %.c $(wildcard include/cscert/*.h) $(wildcard lib/*.h) $(wildcard tools/*/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

$(STATIC): $(LIB_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(SHARED): $(LIB_OBJS)
	@mkdir -p $(dir $@)
	$(CC) -shared $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/bin/cscert: $(CSCERT_OBJS) $(STATIC)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/bin/csca: $(CSCA_OBJS) $(STATIC)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/test_%: $(BUILD)/obj/tests/unit/test_%.o $(STATIC)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lcmocka

$(BUILD)/tests/fuzz_%: $(BUILD)/obj/tests/fuzz/fuzz_%.o $(BUILD)/obj/tests/fuzz/replay.o $(STATIC)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

deps:
	@scripts/deps.sh

# The whole suite twice: a plain build, then ASan+UBSan; one closing line.
check: deps
	@$(MAKE) --no-print-directory BUILD=build build
	@$(MAKE) --no-print-directory BUILD=build/asan SAN=1 build
	@tests/run.sh build build/asan

demo: deps
	@$(MAKE) --no-print-directory BUILD=build build
	@scripts/demo.sh build

bench: deps
	@$(MAKE) --no-print-directory BUILD=build build
	@for b in bench/*; do [ -x "$$b" ] && "$$b" build; done

# libFuzzer over every fuzz target, FUZZ_SECONDS each (default 60); new
# crashing inputs are kept in build/fuzz/crashes/NAME/. Not part of check.
fuzz:
	@scripts/fuzz.sh

clean:
	rm -rf build build-*
.SECONDARY:
