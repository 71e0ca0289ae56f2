/*
 * NQN validation as NVMe Base 1.4 section 7.9 describes it: either
 * "nqn.2014-08.org.nvmexpress:uuid:" followed by a UUID in its 36-character
 * form, or "nqn.yyyy-mm.<reverse domain>" optionally followed by ":" and a
 * string the naming authority chooses; at most 223 bytes of UTF-8.
 */
#include <ctype.h>
#include <errno.h>
#include <string.h>

#include <brisk/log.h>
#include <brisk/uuid.h>

#include "nvmf_internal.h"

#define NQN_UUID_PREFIX "nqn.2014-08.org.nvmexpress:uuid:"

/* "yyyy-mm." right after "nqn.". */
static bool nqn_date_ok(const char *p)
{
	for (int i = 0; i < 7; i++) {
		if (i == 4 ? p[i] != '-' : !isdigit((unsigned char)p[i])) {
			return false;
		}
	}
	return p[7] == '.' && !(p[5] == '0' && p[6] == '0') && (p[5] < '1' || (p[5] == '1' && p[6] <= '2'));
}

/* Reverse domain: labels of letters, digits and '-', separated by '.', each
 * starting with a letter or digit and not ending with '-'. Returns its length. */
static size_t nqn_domain_len(const char *d)
{
	size_t i = 0, label = 0;

	for (; d[i] != '\0' && d[i] != ':'; i++) {
		unsigned char c = (unsigned char)d[i];

		if (c == '.') {
			if (label == 0 || d[i - 1] == '-') {
				return 0;
			}
			label = 0;
		} else if (isalnum(c) || (c == '-' && label > 0)) {
			label++;
		} else {
			return 0;
		}
	}
	if (label == 0 || d[i - 1] == '-') {
		return 0;
	}
	return i;
}

/* UTF-8 well-formedness of the user part (the NQN is UTF-8). */
static bool nqn_utf8_ok(const unsigned char *s)
{
	while (*s) {
		int n = *s < 0x80 ? 0 : (*s & 0xe0) == 0xc0 ? 1 : (*s & 0xf0) == 0xe0 ? 2 :
			(*s & 0xf8) == 0xf0 ? 3 : -1;

		if (n < 0) {
			return false;
		}
		s++;
		while (n-- > 0) {
			if ((*s & 0xc0) != 0x80) {
				return false;
			}
			s++;
		}
	}
	return true;
}

int nvmf_nqn_validate(const char *nqn)
{
	size_t len, dlen;
	struct brisk_uuid u;

	if (nqn == NULL) {
		return -EINVAL;
	}
	len = strnlen(nqn, BRISK_NVMF_NQN_MAX_LEN + 1);
	if (len > BRISK_NVMF_NQN_MAX_LEN || len < BRISK_NVMF_NQN_MIN_LEN) {
		return -EINVAL;
	}
	if (strcmp(nqn, BRISK_NVMF_DISCOVERY_NQN) == 0) {
		return 0;
	}
	if (strncmp(nqn, NQN_UUID_PREFIX, strlen(NQN_UUID_PREFIX)) == 0) {
		const char *s = nqn + strlen(NQN_UUID_PREFIX);

		return strlen(s) == 36 && brisk_uuid_parse(&u, s) == 0 ? 0 : -EINVAL;
	}
	if (strncmp(nqn, "nqn.", 4) != 0 || !nqn_date_ok(nqn + 4)) {
		return -EINVAL;
	}
	dlen = nqn_domain_len(nqn + 12);
	if (dlen == 0) {
		return -EINVAL;
	}
	if (nqn[12 + dlen] == ':' && nqn[13 + dlen] == '\0') {
		return -EINVAL; /* a ':' promises a user string */
	}
	return nqn_utf8_ok((const unsigned char *)nqn) ? 0 : -EINVAL;
}
