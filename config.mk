# Build configuration: compiler, flags and the pkg-config libraries.
# Override on the command line: make CC=clang SANITIZE=1

CC ?= cc
PKG_CONFIG ?= pkg-config

WARNINGS := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wformat=2
CFLAGS ?= -O2 -g
CFLAGS += -std=c11 -D_GNU_SOURCE $(WARNINGS)
LDFLAGS ?=

ifeq ($(SANITIZE),1)
CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
endif

JWT_CFLAGS := $(shell $(PKG_CONFIG) --cflags libjwt 2>/dev/null)
JWT_LIBS := $(shell $(PKG_CONFIG) --libs libjwt 2>/dev/null)
CJSON_CFLAGS := $(shell $(PKG_CONFIG) --cflags libcjson 2>/dev/null)
CJSON_LIBS := $(shell $(PKG_CONFIG) --libs libcjson 2>/dev/null)
MOSQ_CFLAGS := $(shell $(PKG_CONFIG) --cflags libmosquitto 2>/dev/null)
MOSQ_LIBS := $(shell $(PKG_CONFIG) --libs libmosquitto 2>/dev/null)
LWS_CFLAGS := $(shell $(PKG_CONFIG) --cflags libwebsockets 2>/dev/null)
LWS_LIBS := $(shell $(PKG_CONFIG) --libs libwebsockets 2>/dev/null)
CMOCKA_CFLAGS := $(shell $(PKG_CONFIG) --cflags cmocka 2>/dev/null)
CMOCKA_LIBS := $(shell $(PKG_CONFIG) --libs cmocka 2>/dev/null)
CRYPTO_LIBS := $(shell $(PKG_CONFIG) --libs libcrypto 2>/dev/null)
SSL_LIBS := $(shell $(PKG_CONFIG) --libs openssl 2>/dev/null)
EV_LIBS := -lev # libev-dev ships no pkg-config file
