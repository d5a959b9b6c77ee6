/*
 * rtg_err.c - text for enum rtg_err, in the style of mosquitto_strerror().
 *
 * The strings are what operators read in logs and what clients read in
 * error replies, so they name the cause without revealing secrets.
 */
#include "rtg_err.h"

const char *rtg_strerror(enum rtg_err err)
{
	switch (err) {
	case RTG_OK:
		return "success";
	case RTG_ERR_INVAL:
		return "invalid argument";
	case RTG_ERR_NOMEM:
		return "out of memory";
	case RTG_ERR_IO:
		return "file could not be read";
	case RTG_ERR_PARSE:
		return "parse error";
	case RTG_ERR_MALFORMED:
		return "malformed token";
	case RTG_ERR_TOO_LONG:
		return "token too long";
	case RTG_ERR_ALG:
		return "algorithm not allowed";
	case RTG_ERR_BADSIG:
		return "bad signature";
	case RTG_ERR_EXPIRED:
		return "token expired";
	case RTG_ERR_NOT_YET_VALID:
		return "token not yet valid";
	case RTG_ERR_ISSUER:
		return "wrong issuer";
	case RTG_ERR_AUDIENCE:
		return "wrong audience";
	case RTG_ERR_CLAIM:
		return "missing or invalid claim";
	case RTG_ERR_KID:
		return "unknown key id (kid)";
	case RTG_ERR_KEY_ALG:
		return "the key named by kid does not fit the algorithm";
	case RTG_ERR_DENIED:
		return "access denied";
	case RTG_ERR__COUNT:
		break;
	}
	return "unknown error";
}
