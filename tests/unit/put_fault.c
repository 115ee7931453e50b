/* An mdb_put that fails on demand, for programs linked with
 * -Wl,--wrap=mdb_put: see cvt_fail_put_at in fixture.h. */
#include <lmdb.h>

#include "fixture.h"

int __real_mdb_put(MDB_txn *, MDB_dbi, MDB_val *, MDB_val *, unsigned int);
int __wrap_mdb_put(MDB_txn *, MDB_dbi, MDB_val *, MDB_val *, unsigned int);

int
__wrap_mdb_put(MDB_txn *txn, MDB_dbi dbi, MDB_val *k, MDB_val *d, unsigned int f)
{
	cvt_puts_seen++;
	if (cvt_fail_put_at > 0 && --cvt_fail_put_at == 0)
		return MDB_MAP_FULL;
	return __real_mdb_put(txn, dbi, k, d, f);
}
