/* Fuzz target: the check of LMDB's data file before it is mapped
 * (store/files.c cv_lmdb_data_check).  Each input is a whole data.mdb, in
 * an anonymous file; the check must answer CV_OK or an error, never read
 * out of bounds, and a file it accepts must hold every page its newest
 * meta page names. */
#define _GNU_SOURCE /* memfd_create */
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz.h"
#include "internal.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t psize = 0;
	int fd;

	if ((fd = memfd_create("data.mdb", MFD_CLOEXEC)) < 0)
		return 0;
	if (size == 0 || write(fd, data, size) == (ssize_t)size) {
		if (cv_lmdb_data_check(fd, "data.mdb", &psize) == CV_OK &&
		    (psize < 512 || size < 2 * psize))
			abort();
	}
	close(fd);
	return 0;
}
