/* The store's clock moved on demand, for programs linked with
 * -Wl,--wrap=time: see cvt_clock_shift in fixture.h. */
#include <time.h>

#include "fixture.h"

time_t __real_time(time_t *);
time_t __wrap_time(time_t *);

time_t
__wrap_time(time_t *t)
{
	time_t now = __real_time(NULL) + cvt_clock_shift;

	if (t != NULL)
		*t = now;
	return now;
}
