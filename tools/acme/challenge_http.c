/* certvault ACME client: the built-in http-01 responder (libmicrohttpd).
 *
 * It listens on the issuer's ADDR:PORT only, from the first challenge set
 * until the challenger closes, and answers GET or HEAD of
 * /.well-known/acme-challenge/TOKEN for a token set with its key
 * authorization; anything else is 404.  The answers live in a table the
 * responder's thread reads under a lock. */
#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <microhttpd.h>

#include "challenge_way.h"

#define ACME_PATH "/.well-known/acme-challenge/"
#define RESPONDER_MAX_TOKENS 100 /* an order's names, with room to spare */

struct answer {
	char *token;
	char *key_authorization;
};

struct acme_responder {
	char *listen;                   /* as the issuer says it, for messages */
	struct sockaddr_storage addr;
	socklen_t addr_len;
	struct MHD_Daemon *daemon;
	pthread_mutex_t lock;
	struct answer answers[RESPONDER_MAX_TOKENS];
	size_t n_answers;
};

int
acme_responder_new(const char *listen, acme_responder **out, char *err,
		   size_t n)
{
	struct addrinfo hints, *ai = NULL;
	acme_responder *r = NULL;
	char host[256];
	const char *colon, *port, *h;
	size_t hlen;
	int rc = -1, gai;

	*out = NULL;
	colon = strrchr(listen, ':');
	if (colon == NULL || colon == listen || colon[1] == '\0') {
		snprintf(err, n, "--http-listen '%s' is not ADDR:PORT", listen);
		goto done;
	}
	h = listen;
	hlen = (size_t)(colon - listen);
	if (h[0] == '[') {
		if (hlen < 3 || h[hlen - 1] != ']') {
			snprintf(err, n, "--http-listen '%s' is not [ADDR]:PORT",
				 listen);
			goto done;
		}
		h++;
		hlen -= 2;
	}
	if (hlen >= sizeof(host)) {
		snprintf(err, n, "--http-listen '%s' is not ADDR:PORT", listen);
		goto done;
	}
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	port = colon + 1;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
	gai = getaddrinfo(host, port, &hints, &ai);
	if (gai != 0 || ai == NULL || ai->ai_addrlen > sizeof(r->addr)) {
		snprintf(err, n, "--http-listen '%s' is not a numeric ADDR:PORT: %s",
			 listen, gai != 0 ? gai_strerror(gai) : "no address");
		goto done;
	}
	r = calloc(1, sizeof(*r));
	if (r == NULL || (r->listen = strdup(listen)) == NULL) {
		snprintf(err, n, "out of memory");
		goto done;
	}
	memcpy(&r->addr, ai->ai_addr, ai->ai_addrlen);
	r->addr_len = ai->ai_addrlen;
	if (pthread_mutex_init(&r->lock, NULL) != 0) {
		snprintf(err, n, "cannot make a lock");
		free(r->listen);
		free(r);
		r = NULL;
		goto done;
	}
	*out = r;
	r = NULL;
	rc = 0;
done:
	if (r != NULL) {
		free(r->listen);
		free(r);
	}
	if (ai != NULL)
		freeaddrinfo(ai);
	return rc;
}

static enum MHD_Result
reply(struct MHD_Connection *conn, unsigned status, const char *body)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;

	resp = MHD_create_response_from_buffer(strlen(body), (void *)body,
					       MHD_RESPMEM_MUST_COPY);
	if (resp == NULL)
		return MHD_NO;
	if (status == MHD_HTTP_OK)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
					"application/octet-stream");
	ret = MHD_queue_response(conn, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* The request handler, on the responder's thread. */
static enum MHD_Result
answer_request(void *cls, struct MHD_Connection *conn, const char *url,
	       const char *method, const char *version, const char *upload,
	       size_t *upload_size, void **req_cls)
{
	acme_responder *r = cls;
	const char *token;
	char *body = NULL;
	enum MHD_Result ret;
	size_t i;

	(void)version;
	(void)upload;
	/* The first call is for the headers alone; the answer comes on the
	 * second, so a request body is never held. */
	if (*req_cls == NULL) {
		*req_cls = r;
		return MHD_YES;
	}
	/* A body (nothing here asks for one) is read and dropped; the
	 * answer goes out once it has all come. */
	if (*upload_size != 0) {
		*upload_size = 0;
		return MHD_YES;
	}
	if ((strcmp(method, MHD_HTTP_METHOD_GET) != 0 &&
	     strcmp(method, MHD_HTTP_METHOD_HEAD) != 0) ||
	    strncmp(url, ACME_PATH, strlen(ACME_PATH)) != 0)
		return reply(conn, MHD_HTTP_NOT_FOUND, "not found\n");
	token = url + strlen(ACME_PATH);
	pthread_mutex_lock(&r->lock);
	for (i = 0; i < r->n_answers; i++) {
		if (strcmp(r->answers[i].token, token) == 0) {
			body = strdup(r->answers[i].key_authorization);
			break;
		}
	}
	pthread_mutex_unlock(&r->lock);
	if (body == NULL)
		return reply(conn, MHD_HTTP_NOT_FOUND, "not found\n");
	ret = reply(conn, MHD_HTTP_OK, body);
	free(body);
	return ret;
}

static int
responder_start(acme_responder *r, char *err, size_t n)
{
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL;
	int fd = -1, one = 1, rc = -1;

	fd = socket(r->addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, n, "cannot listen on %s: %s", r->listen,
			 strerror(errno));
		goto done;
	}
	/* A port the last pass listened on is free again at once. */
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (r->addr.ss_family == AF_INET6) {
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
		flags |= MHD_USE_IPv6;
	}
	if (bind(fd, (struct sockaddr *)&r->addr, r->addr_len) != 0 ||
	    listen(fd, 32) != 0) {
		snprintf(err, n, "cannot listen on %s: %s", r->listen,
			 strerror(errno));
		goto done;
	}
	r->daemon = MHD_start_daemon(flags, 0, NULL, NULL, answer_request, r,
				     MHD_OPTION_LISTEN_SOCKET, fd,
				     MHD_OPTION_CONNECTION_TIMEOUT, 10u,
				     MHD_OPTION_CONNECTION_LIMIT, 64u,
				     MHD_OPTION_END);
	if (r->daemon == NULL) {
		snprintf(err, n, "cannot start the http-01 responder on %s",
			 r->listen);
		goto done;
	}
	fd = -1; /* the daemon closes it when it stops */
	rc = 0;
done:
	if (fd >= 0)
		close(fd);
	return rc;
}

int
acme_responder_set(acme_responder *r, const char *token,
		   const char *key_authorization, char *err, size_t n)
{
	char *t = NULL, *k = NULL;
	size_t i;
	int rc = -1;

	if (r->daemon == NULL && responder_start(r, err, n) != 0)
		goto done;
	t = strdup(token);
	k = strdup(key_authorization);
	if (t == NULL || k == NULL) {
		snprintf(err, n, "out of memory");
		goto done;
	}
	pthread_mutex_lock(&r->lock);
	for (i = 0; i < r->n_answers; i++)
		if (strcmp(r->answers[i].token, token) == 0)
			break;
	if (i == r->n_answers && i == RESPONDER_MAX_TOKENS) {
		pthread_mutex_unlock(&r->lock);
		snprintf(err, n, "the http-01 responder holds %d answers already",
			 RESPONDER_MAX_TOKENS);
		goto done;
	}
	if (i == r->n_answers) {
		r->n_answers++;
	} else {
		free(r->answers[i].token);
		free(r->answers[i].key_authorization);
	}
	r->answers[i].token = t;
	r->answers[i].key_authorization = k;
	t = k = NULL;
	pthread_mutex_unlock(&r->lock);
	rc = 0;
done:
	free(t);
	free(k);
	return rc;
}

void
acme_responder_clear(acme_responder *r, const char *token)
{
	size_t i;

	pthread_mutex_lock(&r->lock);
	for (i = 0; i < r->n_answers; i++) {
		if (strcmp(r->answers[i].token, token) != 0)
			continue;
		free(r->answers[i].token);
		free(r->answers[i].key_authorization);
		r->answers[i] = r->answers[--r->n_answers];
		break;
	}
	pthread_mutex_unlock(&r->lock);
}

void
acme_responder_free(acme_responder *r)
{
	size_t i;

	if (r == NULL)
		return;
	if (r->daemon != NULL)
		MHD_stop_daemon(r->daemon);
	for (i = 0; i < r->n_answers; i++) {
		free(r->answers[i].token);
		free(r->answers[i].key_authorization);
	}
	pthread_mutex_destroy(&r->lock);
	free(r->listen);
	free(r);
}
