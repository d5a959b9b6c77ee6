/*
 * rtg_identity.c - the verified identity a token yields (sub, roles, exp, the key).
 *
 * Only ownership helpers live here; verification is in rtg_jwt.c. Plain
 * malloc/free, no shared state: safe from any thread.
 */
#include <stdlib.h>
#include <string.h>

#include "rtg_jwt.h"

void rtg_identity_free(struct rtg_identity *id)
{
	size_t i;

	if (!id)
		return;
	for (i = 0; i < id->nroles; i++)
		free(id->roles[i]);
	free(id->roles);
	free(id->sub);
	free(id->kid);
	free(id);
}

struct rtg_identity *rtg_identity_dup(const struct rtg_identity *id)
{
	struct rtg_identity *copy;
	size_t i;

	if (!id)
		return NULL;
	copy = calloc(1, sizeof(*copy));
	if (!copy)
		return NULL;
	copy->exp = id->exp;
	copy->iat = id->iat;
	memcpy(copy->alg, id->alg, sizeof(copy->alg));
	memcpy(copy->key_fp, id->key_fp, sizeof(copy->key_fp));
	copy->sub = strdup(id->sub ? id->sub : "");
	if (!copy->sub)
		goto error;
	if (id->kid && !(copy->kid = strdup(id->kid)))
		goto error;
	if (id->nroles) {
		copy->roles = calloc(id->nroles, sizeof(*copy->roles));
		if (!copy->roles)
			goto error;
		for (i = 0; i < id->nroles; i++) {
			copy->roles[i] = strdup(id->roles[i]);
			if (!copy->roles[i])
				goto error;
			copy->nroles = i + 1;
		}
	}
	return copy;

error:
	rtg_identity_free(copy);
	return NULL;
}

bool rtg_identity_has_role(const struct rtg_identity *id, const char *role)
{
	size_t i;

	if (!id || !role)
		return false;
	for (i = 0; i < id->nroles; i++) {
		if (strcmp(id->roles[i], role) == 0)
			return true;
	}
	return false;
}
