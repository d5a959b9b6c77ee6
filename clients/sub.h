/*
 * sub.h - rtg-sub's shared state and the functions that cross its files;
 * private to clients/rtg_sub.c, sub_ws.c and sub_sse.c.
 *
 * rtg_sub.c: main, options, the lws context, output, the connection
 * lifecycle (connect, backoff, finish) and the exit codes. sub_ws.c: the
 * protocol callback and WebSocket mode, with the per-topic positions that
 * --reconnect resumes from ("since"). sub_sse.c: SSE mode (request headers,
 * the event-stream parser, Last-Event-ID). One thread: the lws event loop.
 */
#ifndef RTG_CLIENTS_SUB_H
#define RTG_CLIENTS_SUB_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>
#include <libwebsockets.h>

#define RTG_SUB_MAX_MESSAGE (16u * 1024 * 1024) /* a WS message, an SSE line or event */
#define RTG_SUB_MAX_BODY (1024u * 1024) /* an HTTP error body (truncated beyond) */
#define RTG_SUB_MAX_TOPICS 10000 /* positions remembered for "since" */
/* Exit statuses (--help lists them): the same condition gives the same status in both modes. */
#define RTG_SUB_EXIT_ERROR 1 /* a usage error, an unreadable --token-file, a local failure */
#define RTG_SUB_EXIT_CONNECT 2 /* no connection: refused, lost before the answer, an HTTP error */
#define RTG_SUB_EXIT_AUTH 3 /* authentication failed: close 4001, HTTP 401, SSE auth_expired */
#define RTG_SUB_EXIT_DENIED 4 /* authorisation refused: HTTP 403, a subscribe refused */
#define RTG_SUB_EXIT_CLOSED 5 /* the server ended the connection before COUNT */
#define RTG_SUB_EXIT_TIMEOUT 27 /* mosquitto_sub's status for -W */
#define RTG_SUB_CLOSE_AUTH 4001 /* the adapter's close code for a missing or bad token */

struct sub_opts {
	const char *host, *path, *token, *token_file, *last_event_id;
	int port, count, wait_s;
	bool sse, quiet, auth_message, reconnect, debug;
	const char **headers; /* "Name: value" */
	int nheaders;
	const char **messages;
	int nmessages;
	char *token_buf; /* the --token-file contents */
};

struct buf {
	char *p;
	size_t len, cap;
};

/* The last message seen on one topic: what "since" resumes from. */
struct position {
	char *topic;
	cJSON *epoch; /* NULL until a message with an epoch was seen */
	double seq;
};

/* A run of seq the server dropped and still holds (a "fillable" gap notice). */
struct gap_run {
	char *topic, *epoch;
	double from, to;
};

struct sub {
	struct sub_opts o;
	struct lws_context *ctx;
	struct lws *wsi;
	lws_sorted_usec_list_t sul_connect, sul_wait, sul_grace;
	char *path; /* the request path, with ?token= when it goes there */
	/* this connection */
	bool live; /* between connect and its end, which is handled once */
	bool established; /* the WebSocket is open */
	bool greeting_pending; /* the next message is the connection's first */
	bool close_seen; /* the server's close frame was reported */
	int next_out; /* the next MESSAGE to send; -1: the auth message */
	int status; /* HTTP status of the response */
	int close_code; /* what sub__finish() closes the WebSocket with */
	int peer_close; /* the code of the server's close frame, 0 if none */
	bool auth_ended; /* SSE: an auth_expired or auth_revoked event came */
	struct buf rx; /* partial WS message, SSE lines, or an error body */
	struct buf ev_data; /* the SSE event being built */
	char *ev_id, *ev_event;
	/* across connections */
	int printed, exit_code;
	bool done;
	unsigned backoff_ms;
	long retry_ms; /* the SSE "retry:" value, 0 if none */
	char *last_id; /* the SSE id to resume from */
	struct gap_run *replays; /* runs the server said it can fill, to ask for */
	size_t nreplays, capreplays;
	bool replay_asked; /* a replay request is unanswered: the next waits (and takes more runs) */
	struct position *pos; /* sorted by topic */
	size_t npos, cappos;
	bool pos_full_warned;
};

/* ==== rtg_sub.c ============================================================================ */

/** Appends @n bytes and a NUL, growing @b. Returns 0, or -1 beyond @max or out of memory. */
int sub__buf_append(struct buf *b, const void *data, size_t n, size_t max);

/** Ends the run with @exit_code; a live WebSocket is closed properly first. */
void sub__finish(struct sub *s, int exit_code);

/** Prints @text as one line (compacted when it spans lines), or @obj as one JSON line. */
void sub__print_text(const char *text, size_t len);
void sub__print_json(cJSON *obj);

/** Counts a printed line. @return -1 when -C is reached (sub__finish() then closes), else 0. */
int sub__count_line(struct sub *s);

/** Reports the end of the connection on stderr and as {"type":"_closed",...}; @code 0: none. */
void sub__report_close(int code, const char *reason);

/** Schedules the next connection attempt with backoff and jitter (--reconnect). */
void sub__schedule_reconnect(struct sub *s);

/** The connection ended after it was established: reconnect, or finish with @status. */
void sub__on_end(struct sub *s, int status);

/** The exit status for an HTTP answer @status that is not a success: 3 for 401, 4 for 403, else 2. */
int sub__http_exit(int status);

/** The connection failed or could not start; @why may be NULL. */
void sub__on_connect_error(struct sub *s, const char *why);

/** Says whether SIGINT or SIGTERM arrived. */
bool sub__interrupted(void);
bool sub__connection_gone(struct sub *s);

/* ==== sub_ws.c ============================================================================= */

/** The client protocol (and its terminator) for the lws context; its callback serves both modes. */
extern const struct lws_protocols sub__protocols[];

/** Frees what resuming needs: the positions seen and the gap runs still to ask back. */
void sub__resume_free(struct sub *s);

/* ==== sub_sse.c ============================================================================ */

/** Forgets the SSE event being built (id, event name, data). */
void sub__sse_reset_event(struct sub *s);

/** Adds the --header headers, and for SSE Accept, Authorization, Last-Event-ID. Returns 0 or -1. */
int sub__append_headers(struct sub *s, struct lws *wsi, unsigned char **p, unsigned char *end);

/** Reads HTTP body bytes: the event stream, or an error body. Returns 0. */
int sub__on_http_read(struct sub *s, const char *in, size_t len);

/** The HTTP response ended: an error status, or the end of the stream. */
void sub__on_http_done(struct sub *s);

#endif /* RTG_CLIENTS_SUB_H */
