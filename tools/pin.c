/* certvault: where PINs come from and the login.
 *
 * A PIN is taken from a file named on the command line (its first line),
 * else from an environment variable, else asked for on /dev/tty with echo
 * off.  Every buffer that held a PIN is wiped before it is let go, on every
 * path. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "cli.h"

void
cli_pin_wipe(cli_pin *p)
{
	if (p != NULL)
		OPENSSL_cleanse(p, sizeof(*p));
}

/* Copy at most CV_PIN_MAX + 1 bytes: a longer PIN stays too long, so the
 * store refuses it instead of a cut one being tried. */
static void
pin_set(cli_pin *p, const char *s, size_t len)
{
	if (len > CV_PIN_MAX + 1)
		len = CV_PIN_MAX + 1;
	memcpy(p->v, s, len);
	p->v[len] = '\0';
	p->len = len;
}

static int
tty_write(int fd, const char *s)
{
	size_t len = strlen(s);

	while (len > 0) {
		ssize_t n = write(fd, s, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		s += n;
		len -= (size_t)n;
	}
	return 0;
}

/* One line from the terminal with echo off.  Returns 0, or -1 when there is
 * no usable terminal or the read failed. */
static int
tty_ask(int fd, const char *prompt, cli_pin *out)
{
	struct termios saved, quiet;
	int rc = -1, restore = 0;
	size_t len = 0;
	char c;

	if (tcgetattr(fd, &saved) != 0)
		goto done;
	quiet = saved;
	quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
	quiet.c_lflag |= ICANON;
	if (tcsetattr(fd, TCSAFLUSH, &quiet) != 0)
		goto done;
	restore = 1;
	if (tty_write(fd, prompt) != 0)
		goto done;
	for (;;) {
		ssize_t n = read(fd, &c, 1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto done;
		if (n == 0 || c == '\n' || c == '\r')
			break;
		/* Keep counting past the buffer so an over-long PIN is refused
		 * by the store rather than cut. */
		if (len < CV_PIN_MAX + 1)
			out->v[len] = c;
		len++;
	}
	if (len > CV_PIN_MAX + 1)
		len = CV_PIN_MAX + 1;
	out->v[len] = '\0';
	out->len = len;
	rc = 0;
done:
	OPENSSL_cleanse(&c, sizeof(c));
	if (restore) {
		tcsetattr(fd, TCSAFLUSH, &saved);
		tty_write(fd, "\n");
	}
	return rc;
}

static int
pin_from_tty(cli_pin *out, const char *prompt, int confirm)
{
	cli_pin again;
	char prompt2[256];
	int fd = -1, rc = CLI_EXIT_FAIL;

	memset(&again, 0, sizeof(again));
	fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (fd < 0 || !isatty(fd)) {
		rc = cli_fail("no PIN given and no terminal to ask on: use "
			      "--pin-file/--so-pin-file or CERTVAULT_PIN/"
			      "CERTVAULT_SO_PIN");
		goto done;
	}
	if (tty_ask(fd, prompt, out) != 0) {
		rc = cli_fail("could not read the PIN from the terminal");
		goto done;
	}
	if (confirm) {
		snprintf(prompt2, sizeof(prompt2), "Again, %s", prompt);
		if (tty_ask(fd, prompt2, &again) != 0) {
			rc = cli_fail("could not read the PIN from the terminal");
			goto done;
		}
		if (again.len != out->len ||
		    CRYPTO_memcmp(again.v, out->v, out->len) != 0) {
			rc = cli_fail("the two PINs typed differ");
			goto done;
		}
	}
	rc = CLI_EXIT_OK;
done:
	cli_pin_wipe(&again);
	if (rc != CLI_EXIT_OK)
		cli_pin_wipe(out);
	if (fd >= 0)
		close(fd);
	return rc;
}

int
cli_pin_get(cli_pin *out, const char *file, const char *env,
	    const char *prompt, int confirm)
{
	char *line = NULL;
	size_t len = 0;
	const char *val;
	int rc = CLI_EXIT_FAIL;

	memset(out, 0, sizeof(*out));
	if (file != NULL) {
		rc = cli_first_line(file, &line, &len);
		if (rc != CLI_EXIT_OK)
			goto done;
		pin_set(out, line, len);
		goto done;
	}
	val = env != NULL ? getenv(env) : NULL;
	if (val != NULL && val[0] != '\0') {
		pin_set(out, val, strlen(val));
		rc = CLI_EXIT_OK;
		goto done;
	}
	rc = pin_from_tty(out, prompt, confirm);
done:
	cli_buf_free(line, len);
	if (rc != CLI_EXIT_OK)
		cli_pin_wipe(out);
	return rc;
}

/* --pin-file, which every command takes: the user PIN of any login the
 * command makes without a file of its own. */
static const char *common_pin_file;

void
cli_pin_file_set(const char *path)
{
	common_pin_file = path;
}

int
cli_login(cv_vault *v, enum cv_user who, const char *pin_file)
{
	cli_pin pin;
	cv_err err;
	int rc;

	if (pin_file == NULL && who == CV_USER_NORMAL)
		pin_file = common_pin_file;
	if (who == CV_USER_SO)
		rc = cli_pin_get(&pin, pin_file, "CERTVAULT_SO_PIN",
				 "SO PIN: ", 0);
	else
		rc = cli_pin_get(&pin, pin_file, "CERTVAULT_PIN", "PIN: ", 0);
	if (rc != CLI_EXIT_OK)
		goto done;
	err = cv_vault_login(v, who, pin.v, pin.len);
	if (err != CV_OK)
		rc = cli_fail_store(err);
done:
	cli_pin_wipe(&pin);
	return rc;
}
