/*
 * <sys/queue.h> plus what glibc's copy lacks: TAILQ_FOREACH_SAFE, the BSD
 * variant that lets the body remove the current element. The one definition
 * every library uses.
 */
#ifndef BRISK_QUEUE_H
#define BRISK_QUEUE_H

#include <sys/queue.h>

#ifndef TAILQ_FOREACH_SAFE
#define TAILQ_FOREACH_SAFE(var, head, field, tvar) \
	for ((var) = TAILQ_FIRST((head)); (var) && ((tvar) = TAILQ_NEXT((var), field), 1); \
	     (var) = (tvar))
#endif

#endif
