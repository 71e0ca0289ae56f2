/*
 * PCI addresses: parsing the spellings users type (sysfs "0000:00:04.0",
 * lspci's "00:04.0", fio's "0000.00.04.0"), formatting, ordering, and the
 * app's allow and block lists that decide which devices enumeration offers.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include <brisk/log.h>
#include <brisk/pci.h>

#define ADDR_DOMAIN_DIGITS 8
#define ADDR_BUS_DIGITS 2
#define ADDR_DEV_MAX 0x1f
#define ADDR_FUNC_MAX 0x7

struct pci_addr_list {
	struct brisk_pci_addr *addrs;
	size_t count;
	size_t cap;
};

/* Guards both lists: set while parsing arguments, read by enumeration. */
static pthread_mutex_t g_list_lock = PTHREAD_MUTEX_INITIALIZER;
static struct pci_addr_list g_allowed;
static struct pci_addr_list g_blocked;

static int
hex_digit(char c)
{
	if (c >= '0' && c <= '9') {
		return c - '0';
	}
	if (c >= 'a' && c <= 'f') {
		return c - 'a' + 10;
	}
	if (c >= 'A' && c <= 'F') {
		return c - 'A' + 10;
	}
	return -1;
}

/* An address split into its numbers and the separators between them. */
struct addr_tokens {
	uint32_t num[4];
	int digits[4];
	char sep[3];
	int n;
};

/* Hex numbers separated by ':' or '.'; -EINVAL on anything else. */
static int
tokenize(const char *s, struct addr_tokens *t)
{
	int d;

	memset(t, 0, sizeof(*t));
	for (;;) {
		if (t->n == 4) {
			return -EINVAL;
		}
		while ((d = hex_digit(*s)) >= 0) {
			if (++t->digits[t->n] > ADDR_DOMAIN_DIGITS) {
				return -EINVAL;
			}
			t->num[t->n] = t->num[t->n] << 4 | (uint32_t)d;
			s++;
		}
		if (t->digits[t->n++] == 0) {
			return -EINVAL;
		}
		if (*s == '\0') {
			return 0;
		}
		if ((*s != ':' && *s != '.') || t->n == 4) {
			return -EINVAL;
		}
		t->sep[t->n - 1] = *s++;
	}
}

/* sysfs "D:B:D.F", fio "D.B.D.F", lspci "B:D.F". */
static bool
spelling_ok(const struct addr_tokens *t)
{
	if (t->n == 3) {
		return t->sep[0] == ':' && t->sep[1] == '.';
	}
	return t->n == 4 && ((t->sep[0] == ':' && t->sep[1] == ':' && t->sep[2] == '.') ||
			     (t->sep[0] == '.' && t->sep[1] == '.' && t->sep[2] == '.'));
}

int
brisk_pci_addr_parse(struct brisk_pci_addr *addr, const char *str)
{
	struct addr_tokens t;
	int b;

	if (addr == NULL || str == NULL || tokenize(str, &t) != 0 || !spelling_ok(&t)) {
		return -EINVAL;
	}
	b = t.n - 3; /* index of the bus */
	if (t.digits[b] > ADDR_BUS_DIGITS || t.digits[b + 1] > 2 || t.digits[b + 2] > 1 ||
	    t.num[b + 1] > ADDR_DEV_MAX || t.num[b + 2] > ADDR_FUNC_MAX) {
		return -EINVAL;
	}
	addr->domain = b == 1 ? t.num[0] : 0;
	addr->bus = (uint8_t)t.num[b];
	addr->dev = (uint8_t)t.num[b + 1];
	addr->func = (uint8_t)t.num[b + 2];
	return 0;
}

int
brisk_pci_addr_fmt(char *buf, size_t len, const struct brisk_pci_addr *addr)
{
	int n;

	if (buf == NULL || addr == NULL) {
		return -EINVAL;
	}
	n = snprintf(buf, len, "%04x:%02x:%02x.%x", addr->domain, addr->bus, addr->dev, addr->func);
	if (n < 0 || (size_t)n >= len) {
		if (len > 0) {
			buf[0] = '\0';
		}
		return -ENOSPC;
	}
	return 0;
}

int
brisk_pci_addr_compare(const struct brisk_pci_addr *a, const struct brisk_pci_addr *b)
{
	if (a->domain != b->domain) {
		return a->domain < b->domain ? -1 : 1;
	}
	if (a->bus != b->bus) {
		return a->bus < b->bus ? -1 : 1;
	}
	if (a->dev != b->dev) {
		return a->dev < b->dev ? -1 : 1;
	}
	if (a->func != b->func) {
		return a->func < b->func ? -1 : 1;
	}
	return 0;
}

static bool
list_contains(const struct pci_addr_list *list, const struct brisk_pci_addr *addr)
{
	size_t i;

	for (i = 0; i < list->count; i++) {
		if (brisk_pci_addr_compare(&list->addrs[i], addr) == 0) {
			return true;
		}
	}
	return false;
}

static int
list_add(struct pci_addr_list *list, const char *str, const char *what)
{
	struct brisk_pci_addr addr, *grown;
	size_t cap;
	int rc = 0;

	if (brisk_pci_addr_parse(&addr, str) != 0) {
		BRISK_ERRLOG("PCI %s list: '%s' is not a PCI address (DDDD:BB:DD.F or BB:DD.F)\n",
			     what, str != NULL ? str : "(null)");
		return -EINVAL;
	}
	pthread_mutex_lock(&g_list_lock);
	if (!list_contains(list, &addr)) {
		if (list->count == list->cap) {
			cap = list->cap == 0 ? 8 : list->cap * 2;
			grown = realloc(list->addrs, cap * sizeof(*grown));
			rc = grown == NULL ? -ENOMEM : 0;
			if (grown != NULL) {
				list->addrs = grown;
				list->cap = cap;
			}
		}
		if (rc == 0) {
			list->addrs[list->count++] = addr;
		}
	}
	pthread_mutex_unlock(&g_list_lock);
	return rc;
}

int
brisk_pci_allow(const char *addr)
{
	return list_add(&g_allowed, addr, "allowed");
}

int
brisk_pci_block(const char *addr)
{
	return list_add(&g_blocked, addr, "blocked");
}

bool
brisk_pci_addr_allowed(const struct brisk_pci_addr *addr)
{
	bool allowed;

	if (addr == NULL) {
		return false;
	}
	pthread_mutex_lock(&g_list_lock);
	if (g_allowed.count > 0) {
		allowed = list_contains(&g_allowed, addr);
	} else {
		allowed = !list_contains(&g_blocked, addr);
	}
	pthread_mutex_unlock(&g_list_lock);
	return allowed;
}

static void
list_clear(struct pci_addr_list *list)
{
	free(list->addrs);
	memset(list, 0, sizeof(*list));
}

void
brisk_pci_lists_reset(void)
{
	pthread_mutex_lock(&g_list_lock);
	list_clear(&g_allowed);
	list_clear(&g_blocked);
	pthread_mutex_unlock(&g_list_lock);
}

size_t
brisk_pci_allowed_count(void)
{
	size_t n;

	pthread_mutex_lock(&g_list_lock);
	n = g_allowed.count;
	pthread_mutex_unlock(&g_list_lock);
	return n;
}

size_t
brisk_pci_blocked_count(void)
{
	size_t n;

	pthread_mutex_lock(&g_list_lock);
	n = g_blocked.count;
	pthread_mutex_unlock(&g_list_lock);
	return n;
}
