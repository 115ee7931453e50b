/* A commit that fails on demand, for programs linked with
 * -Wl,--wrap=mdb_txn_commit: see cvt_fail_commit_at in fixture.h. */
#include <errno.h>
#include <lmdb.h>

#include "fixture.h"

int __real_mdb_txn_commit(MDB_txn *);
int __wrap_mdb_txn_commit(MDB_txn *);

int
__wrap_mdb_txn_commit(MDB_txn *txn)
{
	if (cvt_fail_commit_at > 0 && --cvt_fail_commit_at == 0) {
		mdb_txn_abort(txn);
		return EIO;
	}
	return __real_mdb_txn_commit(txn);
}
