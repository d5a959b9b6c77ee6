# tests/soak/soak.mk - `make soak`: a bounded soak of the running stack (tests/soak/soak.sh).
#
#   make soak                      about 3 minutes (SOAK_SECONDS=180) after a warm-up
#   make soak SOAK_SHORT=1         20 s with a smaller population, for development
#   make soak SOAK_SECONDS=600     longer; other knobs are listed in soak.sh
#
# It runs the programs built into $(B), so B=/tmp/x/build builds and soaks there.

.PHONY: soak
soak: all
	RTG_BUILD=$(abspath $(B)) bash tests/soak/soak.sh
