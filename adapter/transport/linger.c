/*
 * linger.c - the lingering close of a WebSocket the adapter closes, so that
 * its close code reaches a client that is still sending.
 *
 * Closing a TCP socket whose receive queue holds unread bytes makes Linux
 * answer with a reset, not a FIN. The reset discards what the client has not
 * yet received (a slow consumer's close frame, still in our send queue), and
 * a client that is still writing sees its write fail and gives up before it
 * reads the close frame it already has (python3-websockets, browsers): both
 * saw 1006 instead of 1008, 1013, 4001 or 1001. So once the close frame is
 * written the adapter keeps reading, and discarding, until the client's own
 * close frame, its FIN, or a deadline (LINGER_S once the client has received
 * all we sent, LINGER_MAX_S at most); only then does it close the socket,
 * with nothing left unread (but past the deadline): a FIN. This is lws' "awaiting close ack" state,
 * which reads and discards every frame and closes on the client's close
 * frame or on EOF; ws.c used to end it at once, with the unread input still
 * there, and lws' own timeout for it is 5 s from when the frame was written
 * to the socket, which for a slow consumer may be long before it arrives.
 *
 * No half-close (shutdown(SHUT_WR)) right after the close frame, as HTTP
 * servers do after a response: RFC 6455 has the server close the TCP
 * connection after the client's close frame, and a python3-websockets client
 * busy sending that gets the FIN with the close frame drops the connection
 * before it reads the frame (1006; seen in 25-adapter-close-codes). lws sends
 * the FIN when it closes. No descriptor is duplicated either: a dup()ed
 * socket would keep the closed descriptor's registration alive in libev's
 * epoll set, and every event on it would make libev rebuild the whole set.
 *
 * A lingering session still holds its lws connection and state, so their
 * number is capped: beyond LINGER_MAX the oldest is closed. lws thread only.
 */
#include <sys/ioctl.h>
#include <linux/sockios.h>

#include "adapter.h"

/*
 * How long a closed client may take to answer our close frame or hang up,
 * counted from when it has received everything up to the close frame: a
 * slow consumer's close frame may wait behind data it has not read, and a
 * reset would throw it away unsent.
 */
#define LINGER_S 2
/* How long a lingering connection lasts at most, whatever it still has to receive. */
#define LINGER_MAX_S 10
/* Connections lingering at most; beyond this the oldest is closed at once. */
#define LINGER_MAX 1024

static void kill_now(struct session *s)
{
	list_remove(&s->in_linger);
	lws_set_timeout(s->wsi, PENDING_TIMEOUT_CLOSE_ACK, LWS_TO_KILL_ASYNC);
}

/*
 * The soft deadline, on the session's idle timer (no idle check is needed
 * once the close frame is out): closes the connection, unless the client has
 * not yet acknowledged all we sent (SIOCOUTQ), in which case it gets
 * LINGER_S more; lws' timeout (LINGER_MAX_S) ends that in any case.
 */
static void on_linger_timer(struct wheel_timer *t)
{
	struct session *s = container_of(t, struct session, t_beat);
	int unacked = 0;

	if (!ioctl(lws_get_socket_fd(s->wsi), SIOCOUTQ, &unacked) && unacked > 0) {
		timers__schedule(
			&s->core->wheel, &s->t_beat, on_linger_timer, LINGER_S * LWS_US_PER_SEC);
		return;
	}
	kill_now(s);
}

/*
 * The close frame of s has been written (lws calls the writeable handler
 * again once it is out of lws' buffers): lws drains the client until its
 * close frame or EOF, or until the deadlines set here. Called once per
 * session; later calls do nothing.
 */
void linger__start(struct session *s)
{
	struct adapter *a = s->a;

	if (s->lingering)
		return;
	s->lingering = true;
	lws_set_timeout(s->wsi, PENDING_TIMEOUT_CLOSE_ACK, LINGER_MAX_S);
	timers__schedule(&a->core.wheel, &s->t_beat, on_linger_timer, LINGER_S * LWS_US_PER_SEC);
	list_add_tail(&s->in_linger, &a->lingering);
	if (a->lingering.count > LINGER_MAX)
		kill_now(container_of(list_head(&a->lingering), struct session, in_linger));
}

/* The connection of s is closed (LWS_CALLBACK_CLOSED): it lingers no more. */
void linger__end(struct session *s)
{
	list_remove(&s->in_linger);
}
