/* fill_readers DIR: take every reader slot of the LMDB environment in DIR
 * with read transactions, then die by SIGKILL inside them: what a process
 * killed while reading leaves behind.  Prints how many slots it took.
 *
 * fill_readers DIR hold SECONDS: keep the environment open (as a running
 * application does) for at most SECONDS, so the slots of dead processes
 * are not reset by the next process that opens it alone. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <lmdb.h>

int
main(int argc, char **argv)
{
	MDB_env *env = NULL;
	MDB_txn *txn = NULL;
	int n = 0, rc;

	if (argc != 2 && !(argc == 4 && argv[2][0] == 'h')) {
		fprintf(stderr, "usage: fill_readers DIR [hold SECONDS]\n");
		return 2;
	}
	if ((rc = mdb_env_create(&env)) != 0 ||
	    (rc = mdb_env_set_maxdbs(env, 16)) != 0 ||
	    (rc = mdb_env_open(env, argv[1], MDB_NOTLS | MDB_RDONLY, 0600)) != 0) {
		fprintf(stderr, "fill_readers: %s: %s\n", argv[1], mdb_strerror(rc));
		return 1;
	}
	if (argc == 4) {
		printf("holding\n");
		fflush(stdout);
		sleep((unsigned)atoi(argv[3]));
		return 0;
	}
	while ((rc = mdb_txn_begin(env, NULL, MDB_RDONLY, &txn)) == 0)
		n++;
	printf("%d\n", n);
	fflush(stdout);
	if (rc != MDB_READERS_FULL) {
		fprintf(stderr, "fill_readers: %s\n", mdb_strerror(rc));
		return 1;
	}
	raise(SIGKILL);
	return 1;
}
