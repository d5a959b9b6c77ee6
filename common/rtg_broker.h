/*
 * rtg_broker.h - a list of MQTT brokers in order, as the adapter
 * (mqtt_brokers) and the simulators (--mqtt-broker) take it: parsing only.
 */
#ifndef RTG_BROKER_H
#define RTG_BROKER_H

#include <stddef.h>

#include "rtg_err.h"

/* The most brokers a list may hold. */
#define RTG_BROKER_MAX 16

/* One broker of a list, in the order given. */
struct rtg_broker {
	char *host; /* a name, an IPv4 address, or an IPv6 one (written [addr] in the list) */
	int port; /* 1-65535; 1883 when the list gives none */
	char *name; /* "host:port" (IPv6: "[addr]:port") as logs show it */
};

/**
 * Parses a broker list, "host[:port],host[:port],..." (blanks around items
 * allowed; port 1883 when none is given; an IPv6 address as [addr]:port),
 * in the order given. Refuses an empty item, a port outside 1-65535, the same
 * broker twice and more than RTG_BROKER_MAX.
 * @param out receives an array of @p n brokers, freed by rtg_broker_list_free();
 *        NULL only checks the list
 * @param why receives the reason on error ("'a:x': the port is not a number in 1-65535")
 * @return RTG_OK, RTG_ERR_INVAL (a bad list) or RTG_ERR_NOMEM
 */
enum rtg_err rtg_broker_list_parse(
	const char *value, struct rtg_broker **out, int *n, char *why, size_t whylen);

/** Frees @p n brokers from rtg_broker_list_parse(); NULL is a no-op. */
void rtg_broker_list_free(struct rtg_broker *b, int n);

/**
 * Starts a non-blocking TCP connect to @p b, to learn whether it answers
 * (failing back to a first broker). The name is resolved here, blocking:
 * brokers are best given as addresses.
 * @return the socket (close it), or -1 if the connect failed at once
 */
int rtg_broker_probe_start(const struct rtg_broker *b);

/**
 * Looks, without waiting, at a probe from rtg_broker_probe_start().
 * @return 1 if the broker accepted the connection, -1 if it failed, 0 while pending
 */
int rtg_broker_probe_result(int fd);

#endif /* RTG_BROKER_H */
