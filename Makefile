# Realtime gateway: one Makefile, explicit object lists, everything into build/.
#
#   make              build every artifact
#   make test         unit + integration tests; ends with "N passed, N failed"
#   make SANITIZE=1   the same with AddressSanitizer + UndefinedBehaviorSanitizer
#   make format / format-check / lint / clean

include config.mk

B := build
.DEFAULT_GOAL := all

# Objects are rebuilt when the flags change (SANITIZE=1 after a plain build).
FLAGS_STAMP := $(B)/.flags
FLAGS_NOW := $(CC) $(CFLAGS) $(LDFLAGS)
$(shell mkdir -p $(B) && { [ "$$(cat $(FLAGS_STAMP) 2>/dev/null)" = "$(FLAGS_NOW)" ] || \
	{ rm -rf $(B)/obj; echo "$(FLAGS_NOW)" > $(FLAGS_STAMP); }; })

# ---- common/: the policy library shared by the plugin and the adapter -------
COMMON_SRC := common/rtg_err.c common/rtg_identity.c common/rtg_jwt.c common/rtg_jwt_config.c \
	common/rtg_jwks.c \
	common/rtg_text.c common/rtg_log.c \
	common/rtg_acl.c common/rtg_acl_parse.c \
	common/rtg_topic.c common/rtg_broker.c \
	common/rtg_json.c
COMMON_OBJ := $(COMMON_SRC:%.c=$(B)/obj/%.o)
COMMON_LIB := $(B)/librtgcommon.a
COMMON_CFLAGS := -fPIC -Icommon $(JWT_CFLAGS) $(CJSON_CFLAGS) $(MOSQ_CFLAGS)

$(B)/obj/common/%.o: common/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(COMMON_CFLAGS) -MMD -MP -c $< -o $@

$(COMMON_LIB): $(COMMON_OBJ)
	$(AR) rcs $@ $^

# ---- plugins/rtg_auth: the Mosquitto JWT + ACL plugin ----------------------
PLUGIN_SRC := plugins/rtg_auth/plugin.c plugins/rtg_auth/auth.c plugins/rtg_auth/acl.c \
	plugins/rtg_auth/clients.c
PLUGIN_OBJ := $(PLUGIN_SRC:%.c=$(B)/obj/%.o)
PLUGIN := $(B)/rtg_auth.so

$(B)/obj/plugins/%.o: plugins/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(COMMON_CFLAGS) -MMD -MP -c $< -o $@

# Not linked with -lmosquitto: the broker provides those symbols.
$(PLUGIN): $(PLUGIN_OBJ) $(COMMON_LIB) plugins/rtg_auth/rtg_auth.map
	$(CC) -shared $(LDFLAGS) -Wl,--version-script=plugins/rtg_auth/rtg_auth.map -o $@ \
		$(PLUGIN_OBJ) $(COMMON_LIB) $(JWT_LIBS) $(CJSON_LIBS) $(CRYPTO_LIBS)

# ---- tools/: rtg-token --------------------------------------------------------
TOKEN := $(B)/rtg-token

$(B)/obj/tools/%.o: tools/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(COMMON_CFLAGS) -MMD -MP -c $< -o $@

$(TOKEN): $(B)/obj/tools/rtg_token.o $(B)/obj/tools/jwk.o $(COMMON_LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(JWT_LIBS) $(CJSON_LIBS) $(CRYPTO_LIBS) $(MOSQ_LIBS)

# ---- adapter/: the WebSocket / SSE / HTTP gateway ------------------------------
# The core (adapter/core/core.h) links without libwebsockets: its unit tests prove it.
CORE_SRC := adapter/core/msg.c adapter/core/jtext.c adapter/core/history.c \
	adapter/core/history_file.c adapter/core/subs.c adapter/core/session.c adapter/core/gap.c \
	adapter/core/timers.c
CORE_OBJ := $(CORE_SRC:%.c=$(B)/obj/%.o)
POLICY_SRC := adapter/policy/auth.c adapter/policy/client.c adapter/policy/limits.c \
	adapter/policy/request.c adapter/policy/reqparse.c adapter/policy/subscribe.c \
	adapter/policy/publish.c adapter/policy/calcs.c
TRANSPORT_SRC := adapter/transport/ws.c adapter/transport/linger.c adapter/transport/sse.c \
	adapter/transport/http.c adapter/transport/http_api.c adapter/transport/peer.c \
	adapter/transport/listen.c adapter/transport/loop.c adapter/transport/server.c \
	adapter/transport/bridge.c adapter/transport/bridge_ops.c adapter/transport/bridge_failover.c \
	adapter/transport/bridge_session.c
ADAPTER_SRC := adapter/main.c adapter/config.c adapter/config_brokers.c adapter/stats.c \
	$(CORE_SRC) $(POLICY_SRC) $(TRANSPORT_SRC)
# The endpoint profiles (docs/profiles.md): parsed and matched without lws or MQTT.
PROFILE_SRC := adapter/policy/profile.c adapter/policy/profile_global.c adapter/policy/profile_section.c \
	adapter/policy/profile_match.c
PROFILE_OBJ := $(PROFILE_SRC:%.c=$(B)/obj/%.o)
ADAPTER_SRC += $(PROFILE_SRC)
ADAPTER_OBJ := $(ADAPTER_SRC:%.c=$(B)/obj/%.o)
ADAPTER := $(B)/rtg-adapter
ADAPTER_CFLAGS := -Icommon -Iadapter -Iadapter/core -Iadapter/policy -Iadapter/transport $(LWS_CFLAGS) $(MOSQ_CFLAGS) $(CJSON_CFLAGS) $(JWT_CFLAGS)
ADAPTER_LIBS := $(LWS_LIBS) $(MOSQ_LIBS) $(CJSON_LIBS) $(JWT_LIBS) $(SSL_LIBS) $(EV_LIBS)

$(B)/obj/adapter/%.o: adapter/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(ADAPTER_CFLAGS) -MMD -MP -c $< -o $@

$(ADAPTER): $(ADAPTER_OBJ) $(COMMON_LIB)
	$(CC) $(LDFLAGS) -o $@ $(ADAPTER_OBJ) $(COMMON_LIB) $(ADAPTER_LIBS)

# ---- clients/: rtg-sub, the command-line WebSocket/SSE client ------------------
SUB := $(B)/rtg-sub

$(B)/obj/clients/%.o: clients/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(ADAPTER_CFLAGS) -MMD -MP -c $< -o $@

SUB_OBJ := $(B)/obj/clients/rtg_sub.o $(B)/obj/clients/sub_ws.o $(B)/obj/clients/sub_sse.o

$(SUB): $(SUB_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(LWS_LIBS) $(CJSON_LIBS)

# ---- simulators/: rtg-market-sim, rtg-notify-sim ------------------------------------
SIM_ARGS_OBJ := $(B)/obj/simulators/sim_common.o $(B)/obj/simulators/sim_brokers.o \
	$(B)/obj/common/rtg_broker.o
SIM_COMMON_OBJ := $(SIM_ARGS_OBJ) $(B)/obj/simulators/sim_mqtt.o $(B)/obj/simulators/sim_link.o
MARKET_SIM := $(B)/rtg-market-sim
NOTIFY_SIM := $(B)/rtg-notify-sim
SIM_CFLAGS := -Icommon -Isimulators $(MOSQ_CFLAGS) $(CJSON_CFLAGS)
SIM_LIBS := $(MOSQ_LIBS) $(CJSON_LIBS) -lm

$(B)/obj/simulators/%.o: simulators/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(SIM_CFLAGS) -MMD -MP -c $< -o $@

$(MARKET_SIM): $(B)/obj/simulators/market_sim.o $(B)/obj/simulators/price_walk.o $(SIM_COMMON_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(SIM_LIBS)

$(NOTIFY_SIM): $(B)/obj/simulators/notify_sim.o $(SIM_COMMON_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(SIM_LIBS)

# ---- simulators/: rtg-calc-worker; calc*.c are its math and JSON, without MQTT --------
CALC_OBJ := $(B)/obj/simulators/calc.o $(B)/obj/simulators/calc_credit.o \
	$(B)/obj/simulators/calc_request.o
CALC_WORKER := $(B)/rtg-calc-worker

$(CALC_WORKER): $(B)/obj/simulators/calc_worker.o $(CALC_OBJ) $(B)/obj/simulators/sim_link.o \
		$(B)/obj/simulators/sim_brokers.o $(B)/obj/common/rtg_broker.o
	$(CC) $(LDFLAGS) -pthread -o $@ $^ $(MOSQ_LIBS) $(CJSON_LIBS) -lm

# ---- simulators/: rtg-trading-sim; trading_*.c are its state and JSON, without MQTT ----
TRADING_OBJ := $(B)/obj/simulators/trading_shapes.o $(B)/obj/simulators/trading_desk.o \
	$(B)/obj/simulators/trading_market.o $(B)/obj/simulators/trading_studio.o \
	$(B)/obj/simulators/price_walk.o
TRADING_SIM := $(B)/rtg-trading-sim
TRADING_UNIT_TESTS := $(B)/tests/test_trading_shapes

$(TRADING_SIM): $(B)/obj/simulators/trading_sim.o $(TRADING_OBJ) $(SIM_COMMON_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(SIM_LIBS)

$(B)/obj/tests/test_trading_shapes.o: CFLAGS += $(SIM_CFLAGS)

$(B)/tests/test_trading_shapes: $(B)/obj/tests/test_trading_shapes.o $(TRADING_OBJ) \
		$(SIM_ARGS_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(CMOCKA_LIBS) $(CJSON_LIBS) -lm

# ---- tests/unit: cmocka, one binary per common/ module -----------------------
UNIT_TESTS := $(B)/tests/test_topic $(B)/tests/test_jwt $(B)/tests/test_jwt_config \
	$(B)/tests/test_jwks $(B)/tests/test_acl $(B)/tests/test_acl_parse $(B)/tests/test_broker \
	$(B)/tests/test_json

$(B)/obj/tests/%.o: tests/unit/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(COMMON_CFLAGS) $(CMOCKA_CFLAGS) -MMD -MP -c $< -o $@

# Unit tests of adapter modules link the module objects they test.
ADAPTER_UNIT_TESTS := $(B)/tests/test_msg $(B)/tests/test_history $(B)/tests/test_config \
	$(B)/tests/test_config_errors $(B)/tests/test_reqparse $(B)/tests/test_history_file \
	$(B)/tests/test_jtext

# The profiles' test links profile*.c and common/ (rtg_topic) only.
ADAPTER_UNIT_TESTS += $(B)/tests/test_profile

$(B)/obj/tests/test_profile.o: CFLAGS += $(ADAPTER_CFLAGS)

$(B)/tests/test_profile: $(B)/obj/tests/test_profile.o $(PROFILE_OBJ) $(COMMON_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(CMOCKA_LIBS) $(MOSQ_LIBS)

# The price walk's test links the simulators' pure-math objects (no libmosquitto in them).
SIM_UNIT_TESTS := $(B)/tests/test_price_walk

$(B)/obj/tests/test_price_walk.o: CFLAGS += $(SIM_CFLAGS)

$(B)/tests/test_price_walk: $(B)/obj/tests/test_price_walk.o $(B)/obj/simulators/price_walk.o \
		$(SIM_ARGS_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(CMOCKA_LIBS) -lm

# The calculations' test links their objects (no libmosquitto in them).
CALC_UNIT_TESTS := $(B)/tests/test_calc

$(B)/obj/tests/test_calc.o: CFLAGS += -Isimulators

$(B)/tests/test_calc: $(B)/obj/tests/test_calc.o $(CALC_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(CMOCKA_LIBS) $(CJSON_LIBS) -lm

$(B)/obj/tests/test_msg.o $(B)/obj/tests/test_history.o $(B)/obj/tests/test_config.o \
	$(B)/obj/tests/test_config_errors.o $(B)/obj/tests/test_reqparse.o \
	$(B)/obj/tests/test_history_file.o $(B)/obj/tests/test_jtext.o: CFLAGS += $(ADAPTER_CFLAGS)

$(B)/tests/test_msg: $(B)/obj/tests/test_msg.o $(B)/obj/adapter/core/msg.o $(B)/obj/adapter/core/jtext.o \
		$(COMMON_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(CMOCKA_LIBS) $(ADAPTER_LIBS)

$(B)/tests/test_history: $(B)/obj/tests/test_history.o $(B)/obj/adapter/core/history.o \
		$(B)/obj/adapter/core/history_file.o $(B)/obj/adapter/core/msg.o $(B)/obj/adapter/core/jtext.o \
		$(COMMON_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(CMOCKA_LIBS) $(ADAPTER_LIBS)

$(B)/tests/test_history_file: $(B)/obj/tests/test_history_file.o $(B)/obj/adapter/core/history.o \
		$(B)/obj/adapter/core/history_file.o $(B)/obj/adapter/core/msg.o $(B)/obj/adapter/core/jtext.o \
		$(COMMON_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(CMOCKA_LIBS) $(ADAPTER_LIBS)

$(B)/tests/test_jtext: $(B)/obj/tests/test_jtext.o $(B)/obj/adapter/core/jtext.o
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(CMOCKA_LIBS) $(CJSON_LIBS)

$(B)/tests/test_config: $(B)/obj/tests/test_config.o $(B)/obj/adapter/config.o \
	$(B)/obj/adapter/config_brokers.o $(B)/obj/common/rtg_broker.o
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(CMOCKA_LIBS)

$(B)/tests/test_config_errors: $(B)/obj/tests/test_config_errors.o $(B)/obj/adapter/config.o \
	$(B)/obj/adapter/config_brokers.o $(B)/obj/common/rtg_broker.o
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(CMOCKA_LIBS)

$(B)/tests/test_reqparse: $(B)/obj/tests/test_reqparse.o $(B)/obj/adapter/policy/reqparse.o
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(CMOCKA_LIBS)

# ---- tests/unit: the core against a stub transport and broker (core_stubs.c) -----------
# These link $(CORE_OBJ) and never $(LWS_LIBS): that they link at all is the proof
# that the core needs no libwebsockets.
# libmosquitto is there for mosquitto_topic_matches_sub() (rtg_topic.c, history.c),
# libcrypto for RAND_bytes() (the history's epoch).
CORE_TEST_CFLAGS := -Icommon -Iadapter -Iadapter/core $(CJSON_CFLAGS) $(MOSQ_CFLAGS)
CORE_TEST_LIBS := $(CMOCKA_LIBS) $(CJSON_LIBS) $(MOSQ_LIBS) $(CRYPTO_LIBS)
CORE_STUBS_OBJ := $(B)/obj/tests/core_stubs.o
CORE_UNIT_TESTS := $(B)/tests/test_core_subs $(B)/tests/test_core_session \
	$(B)/tests/test_core_timers

$(CORE_STUBS_OBJ) $(CORE_UNIT_TESTS:$(B)/tests/%=$(B)/obj/tests/%.o): CFLAGS += $(CORE_TEST_CFLAGS)

$(CORE_UNIT_TESTS): $(B)/tests/%: $(B)/obj/tests/%.o $(CORE_STUBS_OBJ) $(CORE_OBJ) $(COMMON_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(CORE_TEST_LIBS)

# policy/limits.c includes adapter.h, hence the lws headers, for struct adapter's
# types; it calls no libwebsockets function, so it too links without $(LWS_LIBS).
CORE_UNIT_TESTS += $(B)/tests/test_limits

$(B)/obj/tests/test_limits.o: CFLAGS += $(ADAPTER_CFLAGS)

$(B)/tests/test_limits: $(B)/obj/tests/test_limits.o $(B)/obj/adapter/policy/limits.o \
		$(CORE_STUBS_OBJ) $(CORE_OBJ) $(COMMON_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(CORE_TEST_LIBS)

$(B)/tests/%: $(B)/obj/tests/%.o $(COMMON_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(CMOCKA_LIBS) $(JWT_LIBS) $(CJSON_LIBS) $(CRYPTO_LIBS) $(MOSQ_LIBS)

# ---- top-level targets -----------------------------------------------------
ALL := $(COMMON_LIB) $(PLUGIN) $(TOKEN) $(ADAPTER) $(SUB) $(MARKET_SIM) $(NOTIFY_SIM) \
	$(UNIT_TESTS) $(ADAPTER_UNIT_TESTS) $(SIM_UNIT_TESTS)
ALL += $(CALC_WORKER) $(CALC_UNIT_TESTS)
ALL += $(TRADING_SIM) $(TRADING_UNIT_TESTS)
ALL += $(CORE_UNIT_TESTS)

# Benchmarks (make bench), fuzzing (make fuzz) and the soak test (make soak) keep
# their rules beside their sources; each adds its programs to ALL where they
# should build with everything else.
include bench/bench.mk
include tests/fuzz/fuzz.mk
include tests/soak/soak.mk

.PHONY: all setup run test check unit integration clean format format-check lint programs install \
	uninstall deb
all: $(ALL)

setup:
	@scripts/setup.sh

run: setup
	@scripts/run.sh

test: setup
	@$(MAKE) --no-print-directory all
	@tests/run.sh

check: test

unit: all
	@tests/run.sh unit

integration: all
	@tests/run.sh integration

# ---- install, uninstall, deb: the installed layout (docs/debian.md) -----------------
# make install PREFIX=/usr/local DESTDIR=/tmp/stage; debian/rules uses it with PREFIX=/usr.
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
LIBEXECDIR ?= $(PREFIX)/libexec
DATADIR ?= $(PREFIX)/share
MANDIR ?= $(DATADIR)/man
DOCDIR ?= $(DATADIR)/doc/rtg-gateway
SYSCONFDIR ?= $(if $(filter /usr,$(PREFIX)),/etc,$(PREFIX)/etc)
STATEDIR ?= /var/lib/rtg
PLUGINDIR ?= $(PREFIX)/lib/mosquitto
UNITDIR ?= $(PREFIX)/lib/systemd/system
PROGRAMS := $(ADAPTER) $(SUB) $(TOKEN) $(MARKET_SIM) $(NOTIFY_SIM) $(TRADING_SIM) $(CALC_WORKER)
UNITS := rtg-adapter.service rtg-market-sim.service rtg-notify-sim.service \
	rtg-trading-sim.service rtg-calc-worker@.service
MAN1 := $(notdir $(PROGRAMS:%=%.1))
SUBST = sed -e 's|@BINDIR@|$(BINDIR)|g' -e 's|@LIBEXECDIR@|$(LIBEXECDIR)|g' \
	-e 's|@DATADIR@|$(DATADIR)|g' -e 's|@DOCDIR@|$(DOCDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' \
	-e 's|@STATEDIR@|$(STATEDIR)|g' -e 's|@PLUGINDIR@|$(PLUGINDIR)|g'

# The programs and the plugin only (no tests): what install and the package need.
programs: $(PROGRAMS) $(PLUGIN)

# Configuration files are written only where none exists yet, as a package
# manager keeps a changed conffile; the secret is never installed (postinst or
# docs/debian.md make one).
install: programs
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBEXECDIR)/rtg $(DESTDIR)$(PLUGINDIR) \
		$(DESTDIR)$(DATADIR)/rtg/static $(DESTDIR)$(SYSCONFDIR)/rtg $(DESTDIR)$(MANDIR)/man1 \
		$(DESTDIR)$(MANDIR)/man7 $(DESTDIR)$(DOCDIR)/examples $(DESTDIR)$(UNITDIR)
	install -m 755 $(PROGRAMS) $(DESTDIR)$(BINDIR)/
	install -m 644 $(PLUGIN) $(DESTDIR)$(PLUGINDIR)/
	$(SUBST) packaging/rtg-service-token.in >$(DESTDIR)$(LIBEXECDIR)/rtg/rtg-service-token
	chmod 755 $(DESTDIR)$(LIBEXECDIR)/rtg/rtg-service-token
	install -m 644 static/* $(DESTDIR)$(DATADIR)/rtg/static/
	for f in $(MAN1); do install -m 644 packaging/man/$$f $(DESTDIR)$(MANDIR)/man1/; done
	install -m 644 packaging/man/rtg_auth.7 $(DESTDIR)$(MANDIR)/man7/
	install -m 644 adapter/adapter.conf.example $(DESTDIR)$(DOCDIR)/examples/
	for u in $(UNITS); do $(SUBST) packaging/systemd/$$u.in >$(DESTDIR)$(UNITDIR)/$$u; \
		chmod 644 $(DESTDIR)$(UNITDIR)/$$u; done
	@set -e; d=$(DESTDIR)$(SYSCONFDIR)/rtg; conf() { \
		if [ -e "$$d/$$2" ]; then echo "install: keeping $$d/$$2"; \
		else $(SUBST) "$$1" >"$$d/$$2"; chmod 644 "$$d/$$2"; fi; }; \
	conf packaging/adapter.conf.in adapter.conf; \
	conf packaging/mosquitto-rtg-auth.conf.in mosquitto-rtg-auth.conf; \
	conf packaging/simulators.env simulators.env; \
	conf acl/acl.conf acl.conf; \
	conf profiles/gateway.conf profiles.conf

# Removes what install put there, configuration files included (not the secret).
uninstall:
	rm -f $(addprefix $(DESTDIR)$(BINDIR)/,$(notdir $(PROGRAMS))) \
		$(DESTDIR)$(PLUGINDIR)/rtg_auth.so $(DESTDIR)$(LIBEXECDIR)/rtg/rtg-service-token \
		$(addprefix $(DESTDIR)$(MANDIR)/man1/,$(MAN1)) $(DESTDIR)$(MANDIR)/man7/rtg_auth.7 \
		$(addprefix $(DESTDIR)$(UNITDIR)/,$(UNITS)) \
		$(addprefix $(DESTDIR)$(SYSCONFDIR)/rtg/,adapter.conf mosquitto-rtg-auth.conf \
			simulators.env acl.conf profiles.conf)
	rm -rf $(DESTDIR)$(DATADIR)/rtg $(DESTDIR)$(DOCDIR)
	-rmdir $(DESTDIR)$(LIBEXECDIR)/rtg $(DESTDIR)$(PLUGINDIR) $(DESTDIR)$(SYSCONFDIR)/rtg 2>/dev/null

# The Debian packages, built from a copy of the tree in build/deb/src (nothing of
# build/ reused); the .debs land in build/deb/. Needs scripts/setup.sh's debhelper.
DEB_JOBS ?= 2
deb:
	rm -rf $(B)/deb && mkdir -p $(B)/deb/src
	tar -c --exclude=./build --exclude=./run --exclude=./.git --exclude=node_modules . | \
		tar -x -C $(B)/deb/src
	cd $(B)/deb/src && dpkg-buildpackage -b -uc -us -j$(DEB_JOBS) >../build.log 2>&1 || \
		{ tail -n 40 ../build.log; exit 1; }
	rm -rf $(B)/deb/src
	@ls -1 $(B)/deb/*.deb

FORMAT_FILES = $(wildcard common/*.[ch] plugins/*/*.[ch] adapter/*.[ch] adapter/*/*.[ch] simulators/*.[ch] \
	clients/*.[ch] tools/*.[ch] tests/unit/*.[ch] tests/fuzz/*.[ch] bench/*.[ch])

format:
	clang-format -i $(FORMAT_FILES)

format-check:
	@clang-format --dry-run --Werror $(FORMAT_FILES) && echo "format-check: clean"

lint:
	cppcheck --quiet --error-exitcode=1 --enable=warning,portability --inline-suppr \
		--suppress=missingIncludeSystem -Icommon -Iadapter -Iadapter/core -Iadapter/policy -Iadapter/transport -Isimulators -Ibench common plugins \
		tools adapter clients simulators bench tests/fuzz

clean:
	rm -rf $(B)

-include $(shell find $(B)/obj -name '*.d' 2>/dev/null)
