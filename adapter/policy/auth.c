/*
 * auth.c - who a browser is and what it may do, with the policy library the
 * broker plugin uses: the same key files and the same ACL file; and the
 * endpoint profiles, loaded and reloaded with them.
 *
 * The transports read tokens from requests (transport/peer.c). SIGHUP re-reads keys,
 * ACL and profiles (a broken file keeps the old ones), ends the sessions whose
 * token's key was removed and every live subscription the new rules no longer
 * allow. Tokens are never logged.
 * One thread only: the event loop's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "adapter.h"
#include "rtg_log.h"

/*
 * Loads keys, ACL and endpoint profiles into fresh objects; only when all
 * three load are they swapped in. Sessions keep the profiles they were made
 * under (a reference) until they close.
 */
static int load_policy(struct adapter *a)
{
	struct rtg_jwt_config jc = {
		.secret_file = a->cfg.jwt_secret_file,
		.public_key_file = a->cfg.jwt_public_key_file,
		.algorithms = a->cfg.jwt_algorithms,
		.issuer = a->cfg.jwt_issuer,
		.audience = a->cfg.jwt_audience,
		.leeway = a->cfg.jwt_leeway,
		.jwks_file = a->cfg.jwt_jwks_file,
	};
	struct rtg_jwt_verifier *v = NULL;
	struct profiles *prof = NULL;
	struct rtg_acl *acl = NULL;
	char err[4096];

	err[0] = '\0';
	if (rtg_jwt_verifier_new(&v, &jc, err, sizeof(err)) != RTG_OK) {
		rtg_err("JWT keys: %s\n", err);
		return -1;
	}
	err[0] = '\0';
	if (rtg_acl_load(&acl, a->cfg.acl_file, err, sizeof(err)) != RTG_OK) {
		rtg_err("%s\n", err);
		rtg_jwt_verifier_free(v);
		return -1;
	}
	err[0] = '\0';
	if (profile__load(&prof, a->cfg.profiles_file, err, sizeof(err))) {
		rtg_err("%s\n", err);
		rtg_acl_free(acl);
		rtg_jwt_verifier_free(v);
		return -1;
	}
	rtg_jwt_verifier_free(a->verifier);
	rtg_acl_free(a->acl);
	profile__unref(a->prof);
	a->verifier = v;
	a->acl = acl;
	a->prof = prof;
	return 0;
}

int auth__init(struct adapter *a)
{
	return load_policy(a);
}

void auth__cleanup(struct adapter *a)
{
	rtg_jwt_verifier_free(a->verifier);
	rtg_acl_free(a->acl);
	profile__unref(a->prof);
	a->verifier = NULL;
	a->acl = NULL;
	a->prof = NULL;
}

/*
 * After an ACL reload: ends every subscription of s that the new rules no
 * longer allow, telling the client why. Subscriptions the adapter granted
 * itself (calc progress) stay.
 */
static void recheck_subs(struct adapter *a, struct session *s, const char *reason)
{
	struct list_node *d, *d1;
	char why[128];

	for (d = list_head(&s->subs); d; d = d1) {
		struct csub *cs = container_of(d, struct csub, in_sess);
		cJSON *msg;

		d1 = d->next;
		if (cs->system ||
			auth__allowed(
				a, s, cs->bsub->filter, RTG_ACCESS_SUBSCRIBE, why, sizeof(why)))
			continue;
		msg = session__json_base("subscription");
		if (msg &&
			(!cJSON_AddStringToObject(msg, "action", "unsubscribed") ||
				!cJSON_AddStringToObject(msg, "topic", cs->bsub->filter) ||
				(strcmp(cs->label, cs->bsub->filter) &&
					!cJSON_AddStringToObject(msg, "channel", cs->label)) ||
				!cJSON_AddStringToObject(msg, "reason", reason))) {
			cJSON_Delete(msg);
			msg = NULL;
		}
		session__send_json(s, msg);
		subs__remove(&a->core, cs);
	}
}

/*
 * SIGHUP: new keys and rules. A session whose token's key the new set no
 * longer holds ends (client__recheck_key(), with a reason); every other
 * session's subscriptions are checked again and those no longer allowed end
 * with an "unsubscribed" message.
 */
int auth__reload(struct adapter *a)
{
	struct list_node *d, *d1;
	size_t ended = 0;

	if (load_policy(a)) {
		rtg_warn("reload failed; keeping the previous keys and ACL\n");
		return -1;
	}
	for (d = list_head(&a->core.sessions); d; d = d1) {
		struct session *s = container_of(d, struct session, in_all);

		d1 = d->next;
		if (client__recheck_key(s))
			ended++;
		else if (s->id || s->anonymous)
			recheck_subs(a, s, "access revoked by an ACL change");
	}
	rtg_notice(
		"reloaded keys (%zu), ACL from %s (%zu rules) and profiles from %s; %zu sessions "
		"ended for a removed key\n",
		rtg_jwt_verifier_key_count(a->verifier), a->cfg.acl_file,
		rtg_acl_rule_count(a->acl), a->cfg.profiles_file, ended);
	return 0;
}

enum rtg_err auth__verify(struct adapter *a, const char *token, struct rtg_identity **out)
{
	enum rtg_err rc = rtg_jwt_verify(a->verifier, token, time(NULL), out);

	if (rc != RTG_OK)
		a->stats.auth_failures++;
	return rc;
}

/*
 * The ACL decision for an identity (NULL: an anonymous client, which gets the
 * ACL's anonymous rules only). Fills why with a short reason on refusal. The
 * connection id stands for the MQTT client id (%c).
 */
bool auth__allowed_id(struct adapter *a, const struct rtg_identity *id, const char *conn_id,
	const char *topic, enum rtg_access access, char *why, size_t whylen)
{
	enum rtg_err rc = rtg_acl_check(a->acl, id, conn_id, topic, access);

	if (rc == RTG_OK)
		return true;
	if (rc == RTG_ERR_INVAL)
		snprintf(why, whylen, "invalid topic or filter");
	else if (!id)
		snprintf(why, whylen, "not allowed to anonymous clients: connect with a token");
	else
		snprintf(why, whylen, "not allowed by the ACL");
	return false;
}

/* The ACL decision for a session: its identity, or anonymous; never before either. */
bool auth__allowed(struct adapter *a, const struct session *s, const char *topic,
	enum rtg_access access, char *why, size_t whylen)
{
	if (!s->id && !s->anonymous) {
		snprintf(why, whylen, "not authenticated");
		return false;
	}
	return auth__allowed_id(a, s->id, s->conn_id, topic, access, why, whylen);
}

/* /api/stats and /metrics: for the ops role and/or loopback peers (stats_access). */
bool auth__stats_allowed(struct adapter *a, bool loopback, const struct rtg_identity *id)
{
	const char *mode = a->cfg.stats_access;
	bool ops = id && rtg_identity_has_role(id, "ops");

	if (!strcmp(mode, "any"))
		return true;
	if (!strcmp(mode, "ops"))
		return ops;
	if (!strcmp(mode, "loopback"))
		return loopback;
	return ops || loopback;
}
