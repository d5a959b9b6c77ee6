/*
 * auth.c - who a browser is and what it may do, with the policy library the
 * broker plugin uses: the same key files and the same ACL file; and the
 * endpoint profiles, loaded and reloaded with them.
 *
 * Tokens come from an "Authorization: Bearer" header, the "rtg_token"
 * cookie (EventSource cannot set headers) or "?token=". SIGHUP re-reads keys,
 * ACL and profiles (a broken file keeps the old ones), ends the sessions whose
 * token's key was removed and every live subscription the new rules no longer
 * allow. Tokens are never logged.
 * lws thread only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "adapter.h"
#include "reqparse.h"

#define COOKIE_NAME "rtg_token"

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
		lwsl_err("JWT keys: %s\n", err);
		return -1;
	}
	err[0] = '\0';
	if (rtg_acl_load(&acl, a->cfg.acl_file, err, sizeof(err)) != RTG_OK) {
		lwsl_err("%s\n", err);
		rtg_jwt_verifier_free(v);
		return -1;
	}
	err[0] = '\0';
	if (profile__load(&prof, a->cfg.profiles_file, err, sizeof(err))) {
		lwsl_err("%s\n", err);
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
 * SIGHUP: new keys and rules. A session whose token's key the new set no
 * longer holds ends (session__recheck_key(), with a reason); every other
 * session's subscriptions are checked again and those no longer allowed end
 * with an "unsubscribed" message.
 */
int auth__reload(struct adapter *a)
{
	size_t ended = 0;

	if (load_policy(a)) {
		lwsl_warn("reload failed; keeping the previous keys and ACL\n");
		return -1;
	}
	lws_start_foreach_dll_safe(struct lws_dll2 *, d, d1, lws_dll2_get_head(&a->sessions)) {
		struct session *s = lws_container_of(d, struct session, in_all);

		if (session__recheck_key(s))
			ended++;
		else if (s->id || s->anonymous)
			subs__recheck(a, s, "access revoked by an ACL change");
	}
	lws_end_foreach_dll_safe(d, d1);
	lwsl_notice(
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
 * Copies the value of cookie name from the Cookie header into buf. The
 * parsing is reqparse__cookie(): lws_http_cookie_get() logs the whole header,
 * and with it the token.
 */
static bool cookie_value(struct lws *wsi, const char *name, char *buf, size_t len)
{
	char hdr[RTG_JWT_MAX_LEN + 512];
	bool found;

	if (lws_hdr_copy(wsi, hdr, sizeof(hdr), WSI_TOKEN_HTTP_COOKIE) <= 0)
		return false;
	found = reqparse__cookie(hdr, name, buf, len);
	explicit_bzero(hdr, sizeof(hdr));
	return found;
}

/*
 * Finds the request's token: the Authorization header, then the cookie, then
 * the query string. Returns true and copies it into buf if one was found.
 */
bool auth__token_from_request(struct lws *wsi, char *buf, size_t len)
{
	char hdr[RTG_JWT_MAX_LEN + 16];
	const char *v;
	int n;

	n = lws_hdr_copy(wsi, hdr, sizeof(hdr), WSI_TOKEN_HTTP_AUTHORIZATION);
	if (n > 7 && !strncasecmp(hdr, "Bearer ", 7)) {
		snprintf(buf, len, "%s", hdr + 7);
		explicit_bzero(hdr, sizeof(hdr));
		return buf[0] != '\0';
	}
	if (cookie_value(wsi, COOKIE_NAME, buf, len))
		return true;
	/* lws copies "token=<value>" into hdr and returns a pointer to the value. */
	v = lws_get_urlarg_by_name(wsi, "token=", hdr, (int)sizeof(hdr));
	if (v && *v) {
		snprintf(buf, len, "%s", v);
		explicit_bzero(hdr, sizeof(hdr));
		return true;
	}
	buf[0] = '\0';
	return false;
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

bool auth__is_loopback(struct lws *wsi)
{
	char ip[64];

	if (!lws_get_peer_simple(wsi, ip, sizeof(ip)))
		return false;
	return !strncmp(ip, "127.", 4) || !strcmp(ip, "::1") || !strncmp(ip, "::ffff:127.", 11);
}

/* /api/stats and /metrics: for the ops role and/or loopback peers (stats_access). */
bool auth__stats_allowed(struct adapter *a, struct lws *wsi, const struct rtg_identity *id)
{
	const char *mode = a->cfg.stats_access;
	bool ops = id && rtg_identity_has_role(id, "ops");

	if (!strcmp(mode, "any"))
		return true;
	if (!strcmp(mode, "ops"))
		return ops;
	if (!strcmp(mode, "loopback"))
		return auth__is_loopback(wsi);
	return ops || auth__is_loopback(wsi);
}
