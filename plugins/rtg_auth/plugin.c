/*
 * plugin.c - entry points of the rtg_auth Mosquitto plugin (plugin API v5).
 *
 * Copies the plugin_opt_* settings, loads the JWT verifier and the ACL file,
 * registers the callbacks (basic auth, ACL check, reload, tick, disconnect)
 * and swaps in a freshly loaded policy on reload, keeping the old one when the
 * new files are broken. Authentication lives in auth.c, authorisation in
 * acl.c, the client table in clients.c. Runs on the broker's main thread.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mosquitto.h>
#include <mosquitto_broker.h>
#include <mosquitto_plugin.h>

#include "plugin.h"
#include "rtg_util.h"

static mosquitto_plugin_id_t *plugin_id;
static struct auth_state *state;

/* ---- options --------------------------------------------------------------- */

struct option_def {
	const char *key;
	size_t offset; /* of the char * in struct auth_config */
};

static const struct option_def string_options[] = {
	{"jwt_secret_file", offsetof(struct auth_config, jwt_secret_file)},
	{"jwt_public_key_file", offsetof(struct auth_config, jwt_public_key_file)},
	{"jwt_jwks_file", offsetof(struct auth_config, jwt_jwks_file)},
	{"jwt_algorithms", offsetof(struct auth_config, jwt_algorithms)},
	{"jwt_issuer", offsetof(struct auth_config, jwt_issuer)},
	{"jwt_audience", offsetof(struct auth_config, jwt_audience)},
	{"acl_file", offsetof(struct auth_config, acl_file)},
};

static void config_cleanup(struct auth_config *cfg)
{
	size_t i;

	for (i = 0; i < RTG_ARRAY_SIZE(string_options); i++) {
		char **field = (char **)((char *)cfg + string_options[i].offset);
		free(*field);
		*field = NULL;
	}
}

/* Parses "jwt_leeway": whole seconds, 0 to 3600. Returns 0 on success. */
static int parse_leeway(const char *value, long *out)
{
	char *end = NULL;
	long v;

	errno = 0;
	v = strtol(value, &end, 10);
	if (errno || end == value || *end != '\0' || v < 0 || v > 3600)
		return -1;
	*out = v;
	return 0;
}

/*
 * Copies one option into cfg. Unknown keys are refused rather than ignored,
 * so a typo in mosquitto.conf cannot silently weaken the checks.
 */
static int config_set(struct auth_config *cfg, const char *key, const char *value)
{
	size_t i;

	if (strcmp(key, "jwt_leeway") == 0) {
		if (parse_leeway(value, &cfg->jwt_leeway)) {
			mosquitto_log_printf(MOSQ_LOG_ERR,
				"rtg_auth: plugin_opt_jwt_leeway: '%s' is not a number of seconds "
				"from 0 to 3600",
				value);
			return MOSQ_ERR_INVAL;
		}
		return MOSQ_ERR_SUCCESS;
	}
	for (i = 0; i < RTG_ARRAY_SIZE(string_options); i++) {
		char **field = (char **)((char *)cfg + string_options[i].offset);

		if (strcmp(key, string_options[i].key) != 0)
			continue;
		free(*field);
		*field = strdup(value);
		return *field ? MOSQ_ERR_SUCCESS : MOSQ_ERR_NOMEM;
	}
	mosquitto_log_printf(MOSQ_LOG_ERR, "rtg_auth: unknown option plugin_opt_%s", key);
	return MOSQ_ERR_INVAL;
}

static int config_read(struct auth_config *cfg, struct mosquitto_opt *opts, int opt_count)
{
	int i, rc;

	cfg->jwt_leeway = -1;
	for (i = 0; i < opt_count; i++) {
		if (!opts[i].key || !opts[i].value)
			continue;
		rc = config_set(cfg, opts[i].key, opts[i].value);
		if (rc != MOSQ_ERR_SUCCESS)
			return rc;
	}
	if (!cfg->acl_file) {
		mosquitto_log_printf(MOSQ_LOG_ERR, "rtg_auth: plugin_opt_acl_file is required");
		return MOSQ_ERR_INVAL;
	}
	if (!cfg->jwt_secret_file && !cfg->jwt_public_key_file && !cfg->jwt_jwks_file) {
		mosquitto_log_printf(MOSQ_LOG_ERR,
			"rtg_auth: plugin_opt_jwt_secret_file, plugin_opt_jwt_public_key_file or "
			"plugin_opt_jwt_jwks_file is required");
		return MOSQ_ERR_INVAL;
	}
	return MOSQ_ERR_SUCCESS;
}

/* ---- policy: verifier + ACL, loaded together ------------------------------------ */

void plugin__free_policy(struct auth_policy *policy)
{
	rtg_jwt_verifier_free(policy->verifier);
	rtg_acl_free(policy->acl);
	policy->verifier = NULL;
	policy->acl = NULL;
}

/*
 * Loads the key files and the ACL file named in cfg into *out. On any error it
 * logs every reason (the ACL's "file:line: reason" lines included), leaves *out
 * empty and returns the error; the caller keeps whatever policy it had.
 */
enum rtg_err plugin__load_policy(const struct auth_config *cfg, struct auth_policy *out)
{
	struct rtg_jwt_config jc = {
		.secret_file = cfg->jwt_secret_file,
		.public_key_file = cfg->jwt_public_key_file,
		.algorithms = cfg->jwt_algorithms,
		.issuer = cfg->jwt_issuer,
		.audience = cfg->jwt_audience,
		.leeway = cfg->jwt_leeway,
		.jwks_file = cfg->jwt_jwks_file,
	};
	char err[4096];
	char *line, *save = NULL;
	enum rtg_err rc;

	out->verifier = NULL;
	out->acl = NULL;
	err[0] = '\0';
	rc = rtg_jwt_verifier_new(&out->verifier, &jc, err, sizeof(err));
	if (rc != RTG_OK) {
		mosquitto_log_printf(MOSQ_LOG_ERR, "rtg_auth: JWT keys: %s", err);
		goto error;
	}
	err[0] = '\0';
	rc = rtg_acl_load(&out->acl, cfg->acl_file, err, sizeof(err));
	if (rc != RTG_OK) {
		for (line = strtok_r(err, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
			mosquitto_log_printf(MOSQ_LOG_ERR, "rtg_auth: %s", line);
		goto error;
	}
	return RTG_OK;

error:
	plugin__free_policy(out);
	return rc;
}

/* ---- callbacks handled here: reload, tick, disconnect ----------------------------- */

/*
 * SIGHUP: re-read keys and ACL. A broken new file must not open or close the
 * broker, so the new policy replaces the old one only if all of it loaded.
 * Then the connections whose token was verified with a key the new set no
 * longer has are ended here, each with its reason in the log and, for MQTT 5,
 * a DISCONNECT with reason code 0x98 (administrative action: what
 * mosquitto_kick_client_by_clientid() sends). The others stay.
 *
 * Right after this returns, mosquitto 2.0.11 re-runs basic auth for every
 * session it holds with the password it kept (security_apply), and
 * disconnects those refused: that, with a replaced key, is what used to drop
 * every client. reload_recheck tells auth.c that these calls are that pass.
 */
static int on_reload(int event, void *event_data, void *userdata)
{
	struct auth_state *st = userdata;
	struct auth_policy fresh;
	size_t ended;

	UNUSED(event);
	UNUSED(event_data);
	if (plugin__load_policy(&st->config, &fresh) != RTG_OK) {
		mosquitto_log_printf(MOSQ_LOG_WARNING,
			"rtg_auth: reload failed; keeping the previous keys and ACL");
		return MOSQ_ERR_SUCCESS;
	}
	plugin__free_policy(&st->policy);
	st->policy = fresh;
	st->reload_recheck = true;
	ended = clients__end_removed_keys(st);
	mosquitto_log_printf(MOSQ_LOG_NOTICE,
		"rtg_auth: reloaded keys (%zu) and ACL from %s (%zu rules); %zu connections ended "
		"for a removed key",
		rtg_jwt_verifier_key_count(st->policy.verifier), st->config.acl_file,
		rtg_acl_rule_count(st->policy.acl), ended);
	return MOSQ_ERR_SUCCESS;
}

/* Once a second: disconnect clients whose token expired, drop stale entries. */
static int on_tick(int event, void *event_data, void *userdata)
{
	struct auth_state *st = userdata;
	time_t now = time(NULL);

	UNUSED(event);
	UNUSED(event_data);
	/* The first tick after a reload follows mosquitto's re-check pass, before any packet. */
	st->reload_recheck = false;
	if (now == st->last_sweep)
		return MOSQ_ERR_SUCCESS;
	st->last_sweep = now;
	clients__sweep(st, now);
	return MOSQ_ERR_SUCCESS;
}

static int on_disconnect(int event, void *event_data, void *userdata)
{
	struct mosquitto_evt_disconnect *ed = event_data;

	UNUSED(event);
	clients__mark_disconnected(userdata, ed->client);
	return MOSQ_ERR_SUCCESS;
}

/* ---- plugin entry points ----------------------------------------------------------- */

static const struct {
	int event;
	MOSQ_FUNC_generic_callback cb;
} callbacks[] = {
	{MOSQ_EVT_BASIC_AUTH, auth__on_basic_auth},
	{MOSQ_EVT_ACL_CHECK, acl__on_acl_check},
	{MOSQ_EVT_RELOAD, on_reload},
	{MOSQ_EVT_TICK, on_tick},
	{MOSQ_EVT_DISCONNECT, on_disconnect},
};

int mosquitto_plugin_version(int supported_version_count, const int *supported_versions)
{
	int i;

	for (i = 0; i < supported_version_count; i++) {
		if (supported_versions[i] == 5)
			return 5;
	}
	return -1;
}

static void unregister_all(void)
{
	size_t i;

	for (i = 0; i < RTG_ARRAY_SIZE(callbacks); i++)
		(void)mosquitto_callback_unregister(plugin_id, callbacks[i].event, callbacks[i].cb,
			NULL); /* not registered yet is fine */
}

static void state_free(struct auth_state *st)
{
	if (!st)
		return;
	clients__free_all(st);
	plugin__free_policy(&st->policy);
	config_cleanup(&st->config);
	free(st);
}

int mosquitto_plugin_init(mosquitto_plugin_id_t *identifier, void **user_data,
	struct mosquitto_opt *opts, int opt_count)
{
	size_t i;
	int rc;

	plugin_id = identifier;
	state = calloc(1, sizeof(*state));
	if (!state)
		return MOSQ_ERR_NOMEM;
	rc = config_read(&state->config, opts, opt_count);
	if (rc != MOSQ_ERR_SUCCESS)
		goto error;
	if (plugin__load_policy(&state->config, &state->policy) != RTG_OK) {
		rc = MOSQ_ERR_INVAL;
		goto error;
	}
	for (i = 0; i < RTG_ARRAY_SIZE(callbacks); i++) {
		rc = mosquitto_callback_register(
			plugin_id, callbacks[i].event, callbacks[i].cb, NULL, state);
		if (rc != MOSQ_ERR_SUCCESS) {
			mosquitto_log_printf(MOSQ_LOG_ERR,
				"rtg_auth: cannot register callback %d: %s", callbacks[i].event,
				mosquitto_strerror(rc));
			goto error;
		}
	}
	*user_data = state;
	mosquitto_log_printf(MOSQ_LOG_NOTICE, "rtg_auth: loaded %zu ACL rules from %s",
		rtg_acl_rule_count(state->policy.acl), state->config.acl_file);
	return MOSQ_ERR_SUCCESS;

error:
	unregister_all();
	state_free(state);
	state = NULL;
	return rc;
}

int mosquitto_plugin_cleanup(void *user_data, struct mosquitto_opt *opts, int opt_count)
{
	UNUSED(user_data);
	UNUSED(opts);
	UNUSED(opt_count);

	unregister_all();
	state_free(state);
	state = NULL;
	return MOSQ_ERR_SUCCESS;
}
