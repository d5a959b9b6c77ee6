# tests/fuzz/fuzz.mk - (being written)
