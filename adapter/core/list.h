/*
 * list.h - the intrusive doubly linked list every layer of the adapter uses.
 *
 * A node is embedded in the structure it links (a session in the adapter's
 * list, a client subscription in its session's and its filter's lists) and
 * knows its owner, so removing a node needs nothing else and removing one
 * that is in no list does nothing. The same shape as lws_dll2, which the
 * adapter used before its core stopped depending on libwebsockets: the core
 * must build and be unit tested without it. Not thread safe; nothing in the
 * adapter is.
 */
#ifndef RTG_LIST_H
#define RTG_LIST_H

#include <stdbool.h>
#include <stddef.h>

struct list;

struct list_node {
	struct list_node *prev, *next;
	struct list *owner; /* NULL while the node is in no list */
};

struct list {
	struct list_node *head, *tail;
	unsigned count;
};

/* The structure of @type whose member @member is at @ptr. */
#define container_of(ptr, type, member) ((type *)(void *)((char *)(ptr)-offsetof(type, member)))

static inline bool list_is_detached(const struct list_node *n)
{
	return !n->owner;
}

static inline struct list_node *list_head(const struct list *l)
{
	return l->head;
}

/* Appends n, which must be detached. */
static inline void list_add_tail(struct list_node *n, struct list *l)
{
	n->owner = l;
	n->next = NULL;
	n->prev = l->tail;
	if (l->tail)
		l->tail->next = n;
	else
		l->head = n;
	l->tail = n;
	l->count++;
}

/* Takes n out of its list; does nothing when it is in none. */
static inline void list_remove(struct list_node *n)
{
	struct list *l = n->owner;

	if (!l)
		return;
	if (n->prev)
		n->prev->next = n->next;
	else
		l->head = n->next;
	if (n->next)
		n->next->prev = n->prev;
	else
		l->tail = n->prev;
	l->count--;
	n->prev = n->next = NULL;
	n->owner = NULL;
}

#endif /* RTG_LIST_H */
