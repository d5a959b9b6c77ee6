/*
 * plugin.h - state shared by the files of the rtg_auth Mosquitto plugin.
 *
 * The broker runs every plugin callback on its single main thread, so none of
 * this state is locked. Plugin-owned memory uses plain malloc/free, like the
 * common/ library whose objects it holds.
 */
#ifndef RTG_AUTH_PLUGIN_H
#define RTG_AUTH_PLUGIN_H

#include <stdbool.h>
#include <time.h>

#include <uthash.h>

#include "rtg_acl.h"
#include "rtg_jwt.h"

struct mosquitto;

/* The plugin_opt_* settings, copied at init (2.0.11 passes none on reload). */
struct auth_config {
	char *jwt_secret_file;
	char *jwt_public_key_file;
	char *jwt_jwks_file;
	char *jwt_algorithms;
	char *jwt_issuer;
	char *jwt_audience;
	char *acl_file;
	long jwt_leeway;
};

/* What decides: swapped whole on a successful reload. */
struct auth_policy {
	struct rtg_jwt_verifier *verifier;
	struct rtg_acl *acl;
};

/*
 * The identity behind one broker client context, keyed by the context pointer.
 * It outlives the network connection (will messages and queued messages for
 * persistent sessions are checked after the disconnect) and is swept on a
 * tick once the session is gone or the token has expired.
 */
struct client_entry {
	const struct mosquitto *client; /* key; never dereferenced after disconnect */
	struct rtg_identity *id;
	char *client_id;
	bool connected;
	bool persistent; /* session outlives the connection */
	bool expiry_logged; /* "token expired" already logged for this entry */
	UT_hash_handle hh;
};

struct auth_state {
	struct auth_config config;
	struct auth_policy policy;
	struct client_entry *clients; /* uthash head */
	time_t last_sweep;
	/* Set by on_reload until the next tick: mosquitto is re-running basic auth for every
	 * session it holds (security_apply), not taking new logins. */
	bool reload_recheck;
};

/* plugin.c */
enum rtg_err plugin__load_policy(const struct auth_config *cfg, struct auth_policy *out);
void plugin__free_policy(struct auth_policy *policy);

/* auth.c */
int auth__on_basic_auth(int event, void *event_data, void *userdata);

/* acl.c */
int acl__on_acl_check(int event, void *event_data, void *userdata);

/* clients.c */
struct client_entry *clients__find(struct auth_state *st, const struct mosquitto *client);
enum rtg_err clients__set(
	struct auth_state *st, const struct mosquitto *client, struct rtg_identity *id);
void clients__remove(struct auth_state *st, const struct mosquitto *client);
void clients__mark_disconnected(struct auth_state *st, const struct mosquitto *client);
void clients__sweep(struct auth_state *st, time_t now);
size_t clients__end_removed_keys(struct auth_state *st);
void clients__free_all(struct auth_state *st);
bool clients__expired(const struct auth_state *st, const struct client_entry *e, time_t now);

#endif /* RTG_AUTH_PLUGIN_H */
