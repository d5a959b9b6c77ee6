# bench/bench.mk - (being written)
