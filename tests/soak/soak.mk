# tests/soak/soak.mk - (being written)
