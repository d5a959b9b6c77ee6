/*
 * test_profile.c - unit tests for the endpoint profiles (adapter/profile*.c):
 * the shipped profiles/gateway.conf, each kind of broken line on its own
 * (with its exact "name:line: reason"), path matching, topic lookups,
 * template expansion, shared envelopes, and channel references.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "profile.h"
#include "rtg_util.h"

#define WS "endpoint /ws\n\ttransport websocket\n"

/* ==== Helpers ================================================================================= */

static struct profiles *parse_ok(const char *text)
{
	struct profiles *p = NULL;
	char err[4096];

	if (profile__parse(&p, "test.conf", text, strlen(text), err, sizeof(err)) != 0)
		fail_msg("parse failed: %s", err);
	assert_non_null(p);
	assert_int_equal(p->refs, 1);
	return p;
}

/* @text must be refused with exactly @expected: every broken line, in line order. */
static void parse_fails(const char *text, const char *expected)
{
	static int sentinel;
	struct profiles *p = (struct profiles *)&sentinel; /* must come back NULL */
	char err[4096];

	assert_int_equal(profile__parse(&p, "test.conf", text, strlen(text), err, sizeof(err)), -1);
	assert_null(p);
	assert_string_equal(err, expected);
}

/* The path of a file of the source tree, found from this file's path (tests/unit/). */
static const char *src_path(const char *rel, char *buf, size_t len)
{
	const char *slash = strrchr(__FILE__, '/');

	snprintf(buf, len, "%.*s/../../%s", slash ? (int)(slash - __FILE__) : 1,
		slash ? __FILE__ : ".", rel);
	return buf;
}

static const struct prof_endpoint *endpoint_at(const struct profiles *p, const char *path)
{
	const struct prof_endpoint *e = profile__match(p, path, true, NULL);

	e = e ? e : profile__match(p, path, false, NULL);
	if (!e)
		fail_msg("no endpoint serves %s", path);
	return e;
}

/* ==== The shipped file ======================================================================== */

static void test_profile_parses_the_shipped_gateway_conf(void **state)
{
	const struct prof_endpoint *e, *dash;
	struct profiles *p = NULL;
	char path[512], err[8192];

	(void)state;
	src_path("profiles/gateway.conf", path, sizeof(path));
	if (access(path, R_OK) != 0)
		skip();
	if (profile__load(&p, path, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_int_equal(p->ntopics, 29);
	assert_int_equal(p->nchannels, 15);
	assert_int_equal(p->nforms, 5);
	assert_int_equal(p->nbroadcasts, 10);
	assert_int_equal(p->nendpoints, 40);
	assert_string_equal(p->name, path);

	e = endpoint_at(p, "/ws/");
	assert_true(e->token_optional);
	assert_string_equal(e->greeting, "connection");
	assert_int_equal(e->env->id, 0);
	e = endpoint_at(p, "/realtime/sse/market-updates");
	assert_null(e->greeting);
	assert_true(e->events_unnamed);
	e = endpoint_at(p, "/ws/trading/signals/");
	assert_true(e->token_at_upgrade);
	assert_false(e->token_optional);
	assert_true(e->history_messages);
	e = endpoint_at(p, "/ws/notifications");
	assert_true(e->history_messages);
	assert_false(e->token_at_upgrade);
	assert_string_equal(e->greeting, "connection_established");
	assert_int_equal(e->env->nrules, 1);
	assert_string_equal(e->env->rules[0].type, "*");
	assert_string_equal(e->env->rules[0].nest, "data");
	e = endpoint_at(p, "/api/ws/stats");
	assert_int_equal(e->handler, PROF_H_STATS);
	assert_int_equal(e->ncounts, 3);
	assert_ptr_equal(e->counts[0].channel, profile__channel(p, "patterns"));
	assert_string_equal(endpoint_at(p, "/")->file, "index.html");
	assert_int_equal(endpoint_at(p, "/ws/broadcast/price")->handler, PROF_H_BROADCAST);

	e = endpoint_at(p, "/realtime/ws/c1");
	dash = endpoint_at(p, "/realtime/ws/dashboard/u1");
	assert_ptr_not_equal(e, dash);
	assert_ptr_equal(e->env, dash->env);
	assert_int_equal(e->env->nrules, 4);
	profile__unref(p);
}

/* ==== Good files ============================================================================== */

static void test_profile_skips_comments_blank_lines_and_crlf(void **state)
{
	struct profiles *p = parse_ok("# a comment\r\n"
				      "\r\n"
				      "  \t \r\n"
				      "\t# an indented comment\r\n"
				      "endpoint\t/ws \r\n"
				      "\ttransport  websocket\r\n"
				      "topic a/b t event"); /* no final newline */

	(void)state;
	assert_int_equal(p->nendpoints, 1);
	assert_int_equal(p->endpoints[0].line, 5);
	assert_int_equal(p->ntopics, 1);
	assert_int_equal(p->topics[0].line, 7);
	profile__unref(p);
}

static void test_profile_empty_file_is_an_empty_set(void **state)
{
	struct profiles *p = parse_ok("");

	(void)state;
	assert_int_equal(p->nendpoints + p->ntopics + p->nchannels + p->nenvs, 0);
	assert_null(profile__match(p, "/", false, NULL));
	profile__unref(p);
}

static void test_profile_endpoint_defaults(void **state)
{
	struct profiles *p = parse_ok("endpoint /s\n\ttransport sse\n");
	const struct prof_endpoint *e = &p->endpoints[0];

	(void)state;
	assert_false(e->token_optional);
	assert_false(e->token_at_upgrade);
	assert_string_equal(e->greeting, "connection");
	assert_false(e->events_unnamed);
	assert_false(e->history_messages);
	assert_int_equal(e->handler, PROF_H_NONE);
	assert_int_equal(e->env->id, 0);
	assert_int_equal(e->env->nrules, 0);
	assert_int_equal(e->nsubscribe, 0);
	profile__unref(p);
}

static void test_profile_topic_lines_get_a_filter_type_and_kind(void **state)
{
	struct profiles *p = parse_ok("topic market/{ticker} price_update value\n"
				      "topic user/+/notifications notification event\n");

	(void)state;
	assert_string_equal(p->topics[0].tmpl, "market/{ticker}");
	assert_string_equal(p->topics[0].filter, "market/+");
	assert_string_equal(p->topics[0].type, "price_update");
	assert_true(p->topics[0].value);
	assert_string_equal(p->topics[1].filter, "user/+/notifications");
	assert_false(p->topics[1].value);
	profile__unref(p);
}

static void test_profile_forms_and_counts_point_at_channels_defined_later(void **state)
{
	struct profiles *p =
		parse_ok("form field symbol ticker\n"
			 "form type subscribe_notifications notifications\n"
			 "endpoint /stats\n\ttransport http\n\thandler stats\n"
			 "\tcount n notifications\n"
			 "channel ticker market/{ticker}\n"
			 "channel notifications user/%u/notifications user/%u/alerts\n");

	(void)state;
	assert_ptr_equal(p->forms[0].channel, &p->channels[0]);
	assert_false(p->forms[0].by_type);
	assert_false(p->forms[0].or_channel);
	assert_ptr_equal(p->forms[1].channel, &p->channels[1]);
	assert_true(p->forms[1].by_type);
	assert_ptr_equal(p->endpoints[0].counts[0].channel, &p->channels[1]);
	assert_string_equal(p->endpoints[0].counts[0].field, "n");
	assert_int_equal(p->channels[1].ntargets, 2);
	assert_string_equal(p->channels[1].targets[1], "user/%u/alerts");
	assert_ptr_equal(profile__channel(p, "ticker"), &p->channels[0]);
	assert_null(profile__channel(p, "nope"));
	profile__unref(p);
}

static void test_profile_broadcast_sections_keep_every_key(void **state)
{
	struct profiles *p =
		parse_ok("broadcast alert\n"
			 "\tpublish user/{user_id}/alerts\n"
			 "\tpublish market/alerts/{ticker}\n"
			 "\ttype alert_trigger\n"
			 "\ttype_field alert_type\n"
			 "\tretain\n"
			 "broadcast market\n\tpublish market/updates\n\ttype market_update\n");
	const struct prof_broadcast *b = profile__broadcast(p, "alert");

	(void)state;
	assert_non_null(b);
	assert_int_equal(b->npublish, 2);
	assert_string_equal(b->publish[1], "market/alerts/{ticker}");
	assert_string_equal(b->type, "alert_trigger");
	assert_string_equal(b->type_field, "alert_type");
	assert_true(b->retain);
	b = profile__broadcast(p, "market");
	assert_null(b->type_field);
	assert_false(b->retain);
	assert_null(profile__broadcast(p, "nope"));
	profile__unref(p);
}

static void test_profile_global_lines_inside_a_section_do_not_end_it(void **state)
{
	struct profiles *p = parse_ok("endpoint /s\n"
				      "topic a t event\n"
				      "\ttransport sse\n"
				      "channel c a\n"
				      "\tsubscribe @c ?topic a/+\n"
				      "\tevents unnamed\n");

	(void)state;
	assert_int_equal(p->endpoints[0].transport, PROF_SSE);
	assert_int_equal(p->endpoints[0].nsubscribe, 3);
	assert_string_equal(p->endpoints[0].subscribe[0], "@c");
	assert_string_equal(p->endpoints[0].subscribe[1], "?topic");
	assert_true(p->endpoints[0].events_unnamed);
	profile__unref(p);
}

static void test_profile_references_count_up_and_down(void **state)
{
	struct profiles *p = parse_ok(WS);

	(void)state;
	assert_ptr_equal(profile__ref(p), p);
	assert_int_equal(p->refs, 2);
	profile__unref(p);
	assert_int_equal(p->refs, 1);
	profile__unref(p); /* freed: valgrind and ASan watch */
	profile__unref(NULL);
	assert_null(profile__ref(NULL));
}

/* ==== Broken lines: words and directives ====================================================== */

static void test_profile_rejects_unknown_directive(void **state)
{
	(void)state;
	parse_fails("endpont /x\n", "test.conf:1: unknown directive 'endpont'");
	parse_fails("Topic a t event\n", "test.conf:1: unknown directive 'Topic'");
}

static void test_profile_rejects_wrong_number_of_arguments(void **state)
{
	(void)state;
	parse_fails("topic a t\n",
		"test.conf:1: wrong number of arguments (usage: topic TEMPLATE TYPE value|event)");
	parse_fails("channel c\n",
		"test.conf:1: wrong number of arguments (usage: channel NAME TEMPLATE...)");
	parse_fails(
		WS "\tnest a\n", "test.conf:3: wrong number of arguments (usage: nest TYPE KEY)");
	parse_fails("broadcast b\n\tpublish a\n\ttype t\n\tretain now\n",
		"test.conf:4: wrong number of arguments (usage: retain)");
}

static void test_profile_rejects_section_key_outside_its_section(void **state)
{
	(void)state;
	parse_fails("nest a b\n", "test.conf:1: 'nest' outside an endpoint section");
	parse_fails(WS "\tpublish a\n", "test.conf:3: 'publish' outside a broadcast section");
	parse_fails("broadcast b\n\tpublish a\n\ttype t\n\ttransport sse\n",
		"test.conf:4: 'transport' outside an endpoint section");
}

static void test_profile_rejects_a_key_given_twice(void **state)
{
	(void)state;
	parse_fails(WS "\ttransport sse\n", "test.conf:3: 'transport' is already given on line 2");
	parse_fails("broadcast b\n\tpublish a\n\ttype t\n\ttype u\n",
		"test.conf:4: 'type' is already given on line 3");
}

static void test_profile_rejects_unknown_words_of_a_choice(void **state)
{
	(void)state;
	parse_fails("endpoint /x\n\ttransport ws\n",
		"test.conf:2: unknown transport 'ws' (websocket, sse or http)");
	parse_fails(WS "\ttoken maybe\n",
		"test.conf:3: unknown token 'maybe' (required, optional or upgrade)");
	parse_fails(
		WS "\thistory flat\n", "test.conf:3: unknown history 'flat' (wrapped or messages)");
	parse_fails(
		WS "\tenvelope deep\n", "test.conf:3: unknown envelope 'deep' (flat or nested)");
	parse_fails("topic a t often\n", "test.conf:1: expected value or event, not 'often'");
	parse_fails("channel c a\nform fields f c\n",
		"test.conf:2: expected field or type, not 'fields'");
	parse_fails("channel c a/{x}\nform field x c or_channel\n",
		"test.conf:2: expected or-channel, not 'or_channel'");
	parse_fails("channel c a\nform type t c or-channel\n",
		"test.conf:2: or-channel applies to form field only");
}

static void test_profile_rejects_invalid_names(void **state)
{
	(void)state;
	parse_fails("topic a price/update value\n",
		"test.conf:1: invalid type 'price/update' (1 to 64 letters, digits, '_', '.' or '-')");
	parse_fails("channel @c a\n",
		"test.conf:1: invalid channel name '@c' (1 to 64 letters, digits, '_', '.' or '-')");
	parse_fails("channel c a/{x}\nform field Ticker c\n",
		"test.conf:2: invalid field name 'Ticker' ([a-z_][a-z0-9_]*)");
	parse_fails(WS "\tgreeting hello!\n",
		"test.conf:3: invalid greeting type 'hello!' (1 to 64 letters, digits, '_', '.' or '-')");
}

static void test_profile_rejects_line_of_64_kib(void **state)
{
	size_t n = 64 * 1024;
	char *text = malloc(n + 2);

	(void)state;
	assert_non_null(text);
	memset(text, 'a', n);
	memcpy(text, "topic ", 6);
	strcpy(text + n, "\n");
	parse_fails(text, "test.conf:1: line too long (64 KiB or more)");
	free(text);
}

static void test_profile_rejects_nul_byte_and_bad_utf8(void **state)
{
	static const char nul[] = "topic a t event\ntopic b\0 t event\n";
	struct profiles *p = NULL;
	char err[256];

	(void)state;
	assert_int_equal(
		profile__parse(&p, "test.conf", nul, sizeof(nul) - 1, err, sizeof(err)), -1);
	assert_null(p);
	assert_string_equal(err, "test.conf:2: NUL byte");
	parse_fails("topic caf\xc3 t event\n", "test.conf:1: invalid UTF-8 or control character");
	parse_fails("topic a\x01 t event\n", "test.conf:1: invalid UTF-8 or control character");
}

static void test_profile_rejects_too_many_words(void **state)
{
	char text[2048] = "channel c";
	int i;

	(void)state;
	for (i = 0; i < 256; i++)
		strcat(text, " a");
	parse_fails(text, "test.conf:1: too many words (at most 256)");
}

/* ==== Broken lines: templates and paths ======================================================= */

static void test_profile_rejects_invalid_templates(void **state)
{
	(void)state;
	parse_fails("topic market/#/x t value\n", "test.conf:1: invalid template 'market/#/x'");
	parse_fails("channel c a/b+\n", "test.conf:1: invalid template 'a/b+'");
	parse_fails("channel c a/x{id}\n",
		"test.conf:1: invalid template 'a/x{id}': '{', '}' or '%' inside the level 'x{id}' (a parameter or %u fills a whole level)");
	parse_fails("channel c a/%c\n",
		"test.conf:1: invalid template 'a/%c': '{', '}' or '%' inside the level '%c' (a parameter or %u fills a whole level)");
	parse_fails("channel c a/{Id}\n",
		"test.conf:1: invalid template 'a/{Id}': bad parameter '{Id}' (a name is [a-z_][a-z0-9_]*)");
	parse_fails("channel c calc/%u~/x\n",
		"test.conf:1: invalid template 'calc/%u~/x': '%u~' needs '+', a {parameter} or text after it, in '%u~'");
	parse_fails("channel c calc/%u~#\n",
		"test.conf:1: invalid template 'calc/%u~#': '%u~' needs '+', a {parameter} or text after it, in '%u~#'");
	parse_fails("channel c %u~a/%u~b\n",
		"test.conf:1: invalid template '%u~a/%u~b': more than one %u~ level");
}

static void test_profile_rejects_user_in_topic_and_publish_templates(void **state)
{
	(void)state;
	parse_fails("topic user/%u/x t event\n",
		"test.conf:1: topic template 'user/%u/x' cannot use %u (write + for any user)");
	parse_fails("broadcast b\n\tpublish user/%u/x\n\ttype t\n",
		"test.conf:2: publish template 'user/%u/x' cannot use %u (a broadcast has no user)");
}

static void test_profile_rejects_wildcards_in_publish_templates(void **state)
{
	(void)state;
	parse_fails("broadcast b\n\tpublish a/+ b/#\n\ttype t\n",
		"test.conf:2: publish template 'a/+' has a wildcard (a broadcast publishes to one topic)\n"
		"test.conf:2: publish template 'b/#' has a wildcard (a broadcast publishes to one topic)");
}

static void test_profile_rejects_invalid_paths(void **state)
{
	(void)state;
	parse_fails("endpoint ws\n\ttransport websocket\n",
		"test.conf:1: invalid path 'ws': it must start with '/'");
	parse_fails("endpoint /a//b\n\ttransport websocket\n",
		"test.conf:1: invalid path '/a//b': empty level");
	parse_fails("endpoint /a?x=1\n\ttransport websocket\n",
		"test.conf:1: invalid path '/a?x=1': '?' (a query string is not part of a path)");
	parse_fails("endpoint /a/{id}/b/{id}\n\ttransport websocket\n",
		"test.conf:1: invalid path '/a/{id}/b/{id}': parameter {id} twice");
	parse_fails("endpoint /a/x{id}\n\ttransport websocket\n",
		"test.conf:1: invalid path '/a/x{id}': '{' or '}' inside a level (a parameter fills a whole level)");
	parse_fails("endpoint /a/{Id}\n\ttransport websocket\n",
		"test.conf:1: invalid path '/a/{Id}': bad parameter '{Id}' (a name is [a-z_][a-z0-9_]*)");
	parse_fails("endpoint\n\ttransport websocket\n",
		"test.conf:1: wrong number of arguments (usage: endpoint PATH...)");
}

static void test_profile_rejects_a_path_served_twice(void **state)
{
	(void)state;
	parse_fails(WS "endpoint /ws/ /ws\n\ttransport sse\n",
		"test.conf:3: path '/ws' is already served by the endpoint on line 1");
	parse_fails("endpoint /a/{x} /a/{y}\n\ttransport sse\n",
		"test.conf:1: path '/a/{y}' is already served by the endpoint on line 1");
	parse_fails("endpoint /h\n\ttransport http\n\thandler health\n"
		    "endpoint /h\n\ttransport websocket\n",
		"test.conf:4: path '/h' is already served by the endpoint on line 1");
}

/* ==== Broken lines: sections ================================================================== */

static void test_profile_rejects_endpoint_without_transport(void **state)
{
	(void)state;
	parse_fails("endpoint /a\n\ttoken optional\n\n# end\nendpoint /b\n\ttransport sse\n",
		"test.conf:2: endpoint on line 1 has no transport");
	parse_fails("endpoint /a\n", "test.conf:1: endpoint on line 1 has no transport");
}

static void test_profile_rejects_keys_the_transport_does_not_take(void **state)
{
	(void)state;
	parse_fails(WS "\tevents unnamed\n", "test.conf:3: 'events' applies to sse endpoints only");
	parse_fails("endpoint /s\n\ttransport sse\n\thistory messages\n",
		"test.conf:3: 'history' applies to websocket endpoints only");
	parse_fails(
		WS "\tsubscribe ?topic\n", "test.conf:3: '?topic' applies to sse endpoints only");
	parse_fails(
		WS "\thandler stats\n", "test.conf:3: 'handler' applies to http endpoints only");
	parse_fails(
		"endpoint /h\n\tgreeting none\n\tnest a b\n\ttransport http\n\thandler health\n",
		"test.conf:2: 'greeting' applies to websocket and sse endpoints only\n"
		"test.conf:3: 'nest' applies to websocket and sse endpoints only");
	parse_fails("channel c a\nendpoint /h\n\ttransport http\n\thandler metrics\n\tcount n c\n",
		"test.conf:5: 'count' applies to http endpoints with handler stats only");
}

static void test_profile_rejects_http_endpoint_without_handler(void **state)
{
	(void)state;
	parse_fails("endpoint /h\n\ttransport http\n",
		"test.conf:2: http endpoint on line 1 has no handler");
}

static void test_profile_rejects_bad_handlers(void **state)
{
	(void)state;
	parse_fails("endpoint /h\n\ttransport http\n\thandler statz\n",
		"test.conf:3: unknown handler 'statz' (stats, metrics, health, publish, broadcast, calculations, session or file)");
	parse_fails("endpoint /h\n\ttransport http\n\thandler file\n",
		"test.conf:3: handler file needs a FILE (a file of static_dir)");
	parse_fails("endpoint /h\n\ttransport http\n\thandler file ../x\n",
		"test.conf:3: invalid file '../x' (a file of static_dir: no '/', no leading '.')");
	parse_fails("endpoint /h\n\ttransport http\n\thandler stats x\n",
		"test.conf:3: handler stats takes no argument");
	parse_fails("endpoint /b/{kind} /c\n\ttransport http\n\thandler broadcast\n",
		"test.conf:3: handler broadcast needs a {kind} parameter in path '/c'");
}

static void test_profile_rejects_conflicting_nest_and_rename(void **state)
{
	(void)state;
	parse_fails(WS "\tnest a x\n\tnest a x\n\tnest a y\n",
		"test.conf:5: type 'a' is already nested under 'x' on line 3");
	parse_fails(WS "\tnest * flat\n\tnest * data\n",
		"test.conf:4: type '*' is already nested under 'flat' on line 3");
	parse_fails(WS "\trename a b\n\trename a c\n",
		"test.conf:4: type 'a' is already renamed to 'b' on line 3");
	parse_fails(
		WS "\trename * b\n", "test.conf:3: cannot rename '*' (rename one type at a time)");
}

static void test_profile_rejects_broadcast_without_publish_or_type(void **state)
{
	(void)state;
	parse_fails("broadcast b\n\tretain\n",
		"test.conf:2: broadcast on line 1 has no publish\n"
		"test.conf:2: broadcast on line 1 has no type");
	parse_fails("broadcast\n\tpublish a\n\ttype t\n",
		"test.conf:1: wrong number of arguments (usage: broadcast KIND)");
}

static void test_profile_rejects_duplicate_definitions(void **state)
{
	(void)state;
	parse_fails("channel c a\nchannel c b\n",
		"test.conf:2: channel 'c' is already defined on line 1");
	parse_fails("broadcast b\n\tpublish a\n\ttype t\nbroadcast b\n\tpublish a\n\ttype t\n",
		"test.conf:4: broadcast 'b' is already defined on line 1");
	parse_fails("channel c a/{x}\nform field x c\nform field x c\n",
		"test.conf:3: form field 'x' is already defined on line 2");
	parse_fails(
		"channel c a\nendpoint /s\n\ttransport http\n\thandler stats\n\tcount n c\n\tcount n c\n",
		"test.conf:6: field 'n' is already counted by this endpoint");
}

/* ==== Broken lines: channel references ======================================================== */

static void test_profile_rejects_unknown_channels(void **state)
{
	(void)state;
	parse_fails("channel market_data market/+\nchannel ticker market/{ticker}\n"
		    "form field ticker tickers\n"
		    "endpoint /s\n\ttransport http\n\thandler stats\n\tcount n market-data\n"
		    "endpoint /n\n\ttransport sse\n\tsubscribe @nope\n",
		"test.conf:3: unknown channel 'tickers' (channels: market_data, ticker)\n"
		"test.conf:7: unknown channel 'market-data' (channels: market_data, ticker)\n"
		"test.conf:10: unknown channel 'nope' (channels: market_data, ticker)");
	parse_fails("form type t nope\n",
		"test.conf:1: unknown channel 'nope' (no channel is defined)");
}

static void test_profile_lists_many_channels_briefly(void **state)
{
	(void)state;
	parse_fails("channel channel_number_one a\nchannel channel_number_two a\n"
		    "channel channel_number_three a\nchannel channel_number_four a\n"
		    "channel channel_number_five a\nform type t nope\n",
		"test.conf:6: unknown channel 'nope' (channels: channel_number_one, channel_number_two, channel_number_three, channel_number_four, ...)");
}

static void test_profile_rejects_form_field_of_a_channel_without_one_parameter(void **state)
{
	(void)state;
	parse_fails("channel c a/b\nform field x c\n",
		"test.conf:2: form field 'x' needs a channel with one {parameter}: 'c' has none");
	parse_fails("channel c a/{x} b/{y}\nform field x c\n",
		"test.conf:2: form field 'x' needs a channel with one {parameter}: 'c' has several");
}

static void test_profile_rejects_subscribe_parameters_the_path_lacks(void **state)
{
	(void)state;
	parse_fails("endpoint /a/{id} /b\n\ttransport sse\n\tsubscribe x/{id}\n",
		"test.conf:3: '{id}' is not a parameter of path '/b'");
	parse_fails("channel c calc/%u~{calculation_id}/progress\n"
		    "endpoint /calc/{id}\n\ttransport sse\n\tsubscribe @c\n",
		"test.conf:4: channel 'c' needs {calculation_id}, which path '/calc/{id}' does not have");
	parse_fails(WS "\tsubscribe ?topics @\n",
		"test.conf:3: unknown subscribe target '?topics' (?topic is the only one)\n"
		"test.conf:3: invalid channel name '' (1 to 64 letters, digits, '_', '.' or '-')");
}

static void test_profile_reports_every_broken_line_in_line_order(void **state)
{
	(void)state;
	parse_fails("endpont /x\n"
		    "nest a b\n"
		    "topic market/#/x t value\n"
		    "endpoint /ws\n"
		    "\ttransport websocket\n"
		    "\tevents unnamed\n"
		    "channel ok a\n"
		    "\tsubscribe @market-data\n"
		    "endpoint /ws\n"
		    "\ttransport sse\n"
		    "topic ok t event\n",
		"test.conf:1: unknown directive 'endpont'\n"
		"test.conf:2: 'nest' outside an endpoint section\n"
		"test.conf:3: invalid template 'market/#/x'\n"
		"test.conf:6: 'events' applies to sse endpoints only\n"
		"test.conf:8: unknown channel 'market-data' (channels: ok)\n"
		"test.conf:9: path '/ws' is already served by the endpoint on line 4");
}

static void test_profile_truncates_error_text_safely(void **state)
{
	struct profiles *p = NULL;
	const char *text = "x\ny\nz\n";
	char err[16];

	(void)state;
	memset(err, 'Q', sizeof(err));
	assert_int_equal(profile__parse(&p, "test.conf", text, strlen(text), err, sizeof(err)), -1);
	assert_null(p);
	assert_int_equal(strlen(err), sizeof(err) - 1);
	assert_memory_equal(err, "test.conf:1: un", 15);
	assert_int_equal(profile__parse(&p, "test.conf", text, strlen(text), NULL, 0), -1);
}

static void test_profile_counts_broken_lines_beyond_the_first_thousand(void **state)
{
	static char text[1001 * 2 + 1], err[64 * 1024];
	struct profiles *p = NULL;
	const char *last;
	int i;

	(void)state;
	for (i = 0; i < 1001; i++)
		memcpy(text + 2 * i, "x\n", 2);
	assert_int_equal(profile__parse(&p, "test.conf", text, strlen(text), err, sizeof(err)), -1);
	last = strrchr(err, '\n');
	assert_non_null(last);
	assert_string_equal(last + 1, "test.conf: and 1 more broken lines");
	assert_non_null(strstr(err, "\ntest.conf:1000: unknown directive 'x'\n"));
}

static void test_profile_rejects_null_arguments(void **state)
{
	struct profiles *p = NULL;
	char err[128];

	(void)state;
	assert_int_equal(profile__parse(NULL, "n", "", 0, err, sizeof(err)), -1);
	assert_int_equal(profile__parse(&p, NULL, "", 0, err, sizeof(err)), -1);
	assert_int_equal(profile__parse(&p, "n", NULL, 3, err, sizeof(err)), -1);
	assert_string_equal(err, "n: invalid arguments");
	assert_int_equal(profile__parse(&p, "n", NULL, 0, err, sizeof(err)), 0);
	profile__unref(p);
	assert_int_equal(profile__load(NULL, "x", err, sizeof(err)), -1);
	assert_int_equal(profile__load(&p, NULL, err, sizeof(err)), -1);
	assert_null(p);
}

static void test_profile_load_reports_files_it_cannot_read(void **state)
{
	struct profiles *p = NULL;
	char err[256];

	(void)state;
	assert_int_equal(profile__load(&p, "/nonexistent/x.conf", err, sizeof(err)), -1);
	assert_null(p);
	assert_string_equal(err, "/nonexistent/x.conf: No such file or directory");
	assert_int_equal(profile__load(&p, "/", err, sizeof(err)), -1);
	assert_string_equal(err, "/: not a regular file");
}

static void test_profile_load_names_the_file_in_errors(void **state)
{
	char path[] = "/tmp/test_profile_XXXXXX", err[256], expected[300];
	struct profiles *p = NULL;
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "topic a t event\nfoo\n", 20), 20);
	close(fd);
	assert_int_equal(profile__load(&p, path, err, sizeof(err)), -1);
	snprintf(expected, sizeof(expected), "%s:2: unknown directive 'foo'", path);
	assert_string_equal(err, expected);
	unlink(path);
}

/* ==== Matching paths ========================================================================== */

static const char *const match_conf = "endpoint /ws /ws/\n\ttransport websocket\n"
				      "endpoint /ws/x/{id}/\n\ttransport websocket\n"
				      "endpoint /sse/{ticker}\n\ttransport sse\n"
				      "endpoint /a/{x}/b/{y}\n\ttransport sse\n"
				      "endpoint /\n\ttransport http\n\thandler file index.html\n"
				      "endpoint /sse/special\n\ttransport sse\n";

static void test_profile_matches_literal_paths(void **state)
{
	struct profiles *p = parse_ok(match_conf);
	struct prof_params pp;

	(void)state;
	pp.n = 5;
	assert_ptr_equal(profile__match(p, "/ws", true, &pp), &p->endpoints[0]);
	assert_int_equal(pp.n, 0);
	assert_ptr_equal(profile__match(p, "/", false, NULL), &p->endpoints[4]);
	assert_null(profile__match(p, "/nope", false, &pp));
	assert_null(profile__match(p, "//", false, NULL));
	assert_null(profile__match(p, "", false, NULL));
	assert_null(profile__match(p, NULL, false, NULL));
	assert_null(profile__match(NULL, "/", false, NULL));
	profile__unref(p);
}

static void test_profile_matches_parameters_into_the_buffer(void **state)
{
	struct profiles *p = parse_ok(match_conf);
	struct prof_params pp;

	(void)state;
	assert_ptr_equal(profile__match(p, "/a/1/b/two", false, &pp), &p->endpoints[3]);
	assert_int_equal(pp.n, 2);
	assert_string_equal(pp.name[0], "x");
	assert_string_equal(pp.value[0], "1");
	assert_string_equal(pp.name[1], "y");
	assert_string_equal(pp.value[1], "two");
	assert_true(pp.value[1] >= pp.buf && pp.value[1] < pp.buf + sizeof(pp.buf));
	assert_string_equal(profile__param(&pp, "y"), "two");
	assert_null(profile__param(&pp, "z"));
	assert_null(profile__match(p, "/a//b/two", false, &pp)); /* a parameter is never empty */
	assert_int_equal(pp.n, 0);
	profile__unref(p);
}

static void test_profile_trailing_slash_is_part_of_the_path(void **state)
{
	struct profiles *p = parse_ok(match_conf);

	(void)state;
	assert_ptr_equal(profile__match(p, "/ws/", true, NULL), &p->endpoints[0]);
	assert_ptr_equal(profile__match(p, "/ws/x/7/", true, NULL), &p->endpoints[1]);
	assert_null(profile__match(p, "/ws/x/7", true, NULL));
	assert_null(profile__match(p, "/sse/AAPL/", false, NULL));
	profile__unref(p);
}

static void test_profile_upgrade_matches_websocket_endpoints_only(void **state)
{
	struct profiles *p = parse_ok(match_conf);

	(void)state;
	assert_null(profile__match(p, "/ws", false, NULL));
	assert_null(profile__match(p, "/sse/AAPL", true, NULL));
	assert_ptr_equal(profile__match(p, "/sse/AAPL", false, NULL), &p->endpoints[2]);
	profile__unref(p);
}

static void test_profile_first_endpoint_in_file_order_wins(void **state)
{
	struct profiles *p = parse_ok(match_conf);

	(void)state;
	/* /sse/{ticker} comes before /sse/special */
	assert_ptr_equal(profile__match(p, "/sse/special", false, NULL), &p->endpoints[2]);
	profile__unref(p);
}

static void test_profile_parameters_that_do_not_fit_match_nothing(void **state)
{
	struct profiles *p = parse_ok(match_conf);
	struct prof_params pp;
	char path[700];

	(void)state;
	memset(path, 'v', sizeof(path));
	memcpy(path, "/sse/", 5);
	path[sizeof(path) - 1] = '\0';
	assert_null(profile__match(p, path, false, &pp));
	assert_non_null(profile__match(p, path, false, NULL));
	profile__unref(p);
}

/* ==== Topics ================================================================================== */

static void test_profile_topic_takes_the_first_matching_line(void **state)
{
	struct profiles *p = parse_ok("topic market/indicators market_update value\n"
				      "topic market/{ticker} price_update value\n"
				      "topic market/# market_event event\n");

	(void)state;
	assert_ptr_equal(profile__topic(p, "market/indicators"), &p->topics[0]);
	assert_ptr_equal(profile__topic(p, "market/AAPL"), &p->topics[1]);
	assert_ptr_equal(profile__topic(p, "market/a/b"), &p->topics[2]);
	assert_null(profile__topic(p, "user/1"));
	assert_null(profile__topic(p, NULL));
	profile__unref(p);
}

static void test_profile_topic_param_reads_the_named_level(void **state)
{
	struct profiles *p = parse_ok("topic a/{x}/b/{y} t event\n");
	char buf[8];

	(void)state;
	assert_true(profile__topic_param(&p->topics[0], "a/1/b/22", "y", buf, sizeof(buf)));
	assert_string_equal(buf, "22");
	assert_true(profile__topic_param(&p->topics[0], "a/1/b/22", "x", buf, sizeof(buf)));
	assert_string_equal(buf, "1");
	assert_false(profile__topic_param(&p->topics[0], "a/1/b/22", "z", buf, sizeof(buf)));
	assert_string_equal(buf, "");
	assert_false(profile__topic_param(&p->topics[0], "a/1/c/22", "x", buf, sizeof(buf)));
	assert_false(profile__topic_param(&p->topics[0], "a/1/b/12345678", "y", buf, sizeof(buf)));
	profile__unref(p);
}

/* ==== Expansion =============================================================================== */

static enum prof_expand expand(
	const char *tmpl, const char *sub, char *out, size_t len, bool *own, const char **bad)
{
	struct prof_params pp = {.n = 0};

	profile__param_add(&pp, "id", "42");
	profile__param_add(&pp, "ticker", "AAPL");
	profile__param_add(&pp, "slash", "a/b");
	profile__param_add(&pp, "plus", "+");
	profile__param_add(&pp, "tilde", "x~y");
	return profile__expand(tmpl, sub, &pp, out, len, own, bad);
}

static void test_profile_expands_user_and_parameters(void **state)
{
	const char *bad = "x";
	char out[64];
	bool own = true;

	(void)state;
	assert_int_equal(expand("user/%u/ticker/{ticker}", "alice", out, sizeof(out), &own, &bad),
		PROF_EXPAND_OK);
	assert_string_equal(out, "user/alice/ticker/AAPL");
	assert_false(own);
	assert_null(bad);
	assert_int_equal(expand("market/+/#", NULL, out, sizeof(out), NULL, NULL), PROF_EXPAND_OK);
	assert_string_equal(out, "market/+/#");
}

static void test_profile_expands_the_users_own_namespace(void **state)
{
	char out[64];
	bool own = false;

	(void)state;
	assert_int_equal(expand("calc/%u~+/progress", "alice", out, sizeof(out), &own, NULL),
		PROF_EXPAND_OK);
	assert_string_equal(out, "calc/+/progress");
	assert_true(own);
	own = false;
	assert_int_equal(expand("calc/%u~{id}/progress", "alice", out, sizeof(out), &own, NULL),
		PROF_EXPAND_OK);
	assert_string_equal(out, "calc/alice~42/progress");
	assert_true(own);
	assert_int_equal(
		expand("calc/%u~all", "alice", out, sizeof(out), &own, NULL), PROF_EXPAND_OK);
	assert_string_equal(out, "calc/alice~all");
}

static void test_profile_expand_refuses_anonymous_users(void **state)
{
	const char *bad = NULL;
	char out[64];

	(void)state;
	assert_int_equal(
		expand("user/%u/x", NULL, out, sizeof(out), NULL, &bad), PROF_EXPAND_ANONYMOUS);
	assert_string_equal(bad, "%u");
	assert_int_equal(
		expand("calc/%u~+/p", NULL, out, sizeof(out), NULL, NULL), PROF_EXPAND_ANONYMOUS);
}

static void test_profile_expand_names_a_missing_parameter(void **state)
{
	const char *bad = NULL;
	char out[64];

	(void)state;
	assert_int_equal(
		expand("a/{nope}/b", "u", out, sizeof(out), NULL, &bad), PROF_EXPAND_MISSING);
	assert_string_equal(bad, "nope");
	assert_ptr_equal(bad, out);
	assert_int_equal(profile__expand("a/{id}", "u", NULL, out, sizeof(out), NULL, &bad),
		PROF_EXPAND_MISSING);
	assert_string_equal(bad, "id");
}

static void test_profile_expand_refuses_values_that_are_not_one_level(void **state)
{
	struct prof_params pp = {.n = 0};
	const char *bad = NULL;
	char out[300], big[129];

	(void)state;
	assert_int_equal(
		expand("a/{slash}", "u", out, sizeof(out), NULL, &bad), PROF_EXPAND_BAD_VALUE);
	assert_string_equal(bad, "slash");
	assert_int_equal(
		expand("a/{plus}", "u", out, sizeof(out), NULL, &bad), PROF_EXPAND_BAD_VALUE);
	assert_int_equal(expand("calc/%u~{tilde}", "u", out, sizeof(out), NULL, &bad),
		PROF_EXPAND_BAD_VALUE);
	assert_string_equal(bad, "tilde");
	assert_int_equal(
		expand("calc/%u~+", "bob~1", out, sizeof(out), NULL, &bad), PROF_EXPAND_BAD_VALUE);
	assert_string_equal(bad, "%u");
	assert_int_equal(
		expand("user/%u", "a/b", out, sizeof(out), NULL, &bad), PROF_EXPAND_BAD_VALUE);
	memset(big, 'v', sizeof(big));
	big[128] = '\0';
	profile__param_add(&pp, "v", big);
	assert_int_equal(profile__expand("a/{v}", "u", &pp, out, sizeof(out), NULL, NULL),
		PROF_EXPAND_BAD_VALUE);
	big[127] = '\0';
	assert_int_equal(
		profile__expand("a/{v}", "u", &pp, out, sizeof(out), NULL, NULL), PROF_EXPAND_OK);
}

static void test_profile_expand_needs_room_for_the_whole_topic(void **state)
{
	char out[8];

	(void)state;
	assert_int_equal(expand("a/{id}/bc", "u", out, sizeof(out), NULL, NULL), PROF_EXPAND_OK);
	assert_string_equal(out, "a/42/bc");
	assert_int_equal(
		expand("a/{id}/bcd", "u", out, sizeof(out), NULL, NULL), PROF_EXPAND_TOO_LONG);
	assert_string_equal(out, "");
	assert_int_equal(expand("a", "u", out, 0, NULL, NULL), PROF_EXPAND_TOO_LONG);
	assert_int_equal(expand(NULL, "u", out, sizeof(out), NULL, NULL), PROF_EXPAND_TOO_LONG);
}

static void test_profile_params_hold_at_most_eight(void **state)
{
	struct prof_params pp = {.n = 0};
	int i;

	(void)state;
	for (i = 0; i < PROF_MAX_PARAMS; i++)
		assert_int_equal(profile__param_add(&pp, "a", "b"), 0);
	assert_int_equal(profile__param_add(&pp, "c", "d"), -1);
	assert_int_equal(profile__param_add(NULL, "c", "d"), -1);
	assert_null(profile__param(NULL, "a"));
}

/* ==== Syntax ================================================================================== */

static void test_profile_syntax_checks_are_public(void **state)
{
	char why[128];

	(void)state;
	assert_true(profile__template_valid("calc/%u~{id}/#", why, sizeof(why)));
	assert_true(profile__template_valid("$SYS/{x}/+", NULL, 0));
	assert_false(profile__template_valid("", why, sizeof(why)));
	assert_string_equal(why, "invalid template ''");
	assert_true(profile__path_valid("/", NULL, 0));
	assert_true(profile__path_valid("/a/{b}/", NULL, 0));
	assert_false(profile__path_valid("", NULL, 0));
	assert_true(profile__ident_valid("_a1", 3));
	assert_false(profile__ident_valid("1a", 2));
	assert_false(profile__ident_valid("a-b", 3));
}

/* ==== Envelopes =============================================================================== */

static void assert_rule(
	const struct env_rule *r, const char *type, const char *nest, const char *rename)
{
	assert_string_equal(r->type, type);
	if (nest)
		assert_string_equal(r->nest, nest);
	else
		assert_null(r->nest);
	if (rename)
		assert_string_equal(r->rename, rename);
	else
		assert_null(r->rename);
}

static void test_profile_envelope_rules_merge_and_sort_by_type(void **state)
{
	struct profiles *p = parse_ok(WS "\trename b_type b2\n\tnest c_type c\n"
					 "\tnest b_type b\n\tnest a_type flat\n");
	const struct envelope *env = p->endpoints[0].env;

	(void)state;
	assert_int_equal(env->nrules, 2); /* a_type flat is what flat does anyway */
	assert_rule(&env->rules[0], "b_type", "b", "b2");
	assert_rule(&env->rules[1], "c_type", "c", NULL);
	assert_true(env->id > 0);
	assert_int_equal(p->nenvs, 1);
	profile__unref(p);
}

static void test_profile_envelope_nested_nests_every_type_under_data(void **state)
{
	struct profiles *p =
		parse_ok(WS "\tenvelope nested\n\tnest a flat\n\trename r r2\n"
			    "endpoint /b\n\ttransport sse\n\tnest * payload\n"
			    "endpoint /c\n\ttransport sse\n\tenvelope nested\n\tnest * flat\n");
	const struct envelope *env = p->endpoints[0].env;

	(void)state;
	assert_int_equal(env->nrules, 3);
	assert_rule(&env->rules[0], "*", "data", NULL);
	assert_rule(&env->rules[1], "a", NULL, NULL);
	assert_rule(&env->rules[2], "r", "data", "r2");
	env = p->endpoints[1].env;
	assert_int_equal(env->nrules, 1);
	assert_rule(&env->rules[0], "*", "payload", NULL);
	assert_int_equal(p->endpoints[2].env->id, 0); /* nested, but every type flat */
	assert_int_equal(p->endpoints[2].env->nrules, 0);
	profile__unref(p);
}

static void test_profile_equal_envelopes_are_shared_and_others_numbered(void **state)
{
	struct profiles *p = parse_ok(WS "\tnest a x\n\trename b c\n"
					 "endpoint /s\n\ttransport sse\n\trename b c\n\tnest a x\n"
					 "endpoint /t\n\ttransport sse\n\tnest a y\n"
					 "endpoint /u\n\ttransport sse\n");
	const struct prof_endpoint *e = p->endpoints;

	(void)state;
	assert_ptr_equal(e[0].env, e[1].env);
	assert_ptr_not_equal(e[0].env, e[2].env);
	assert_true(e[0].env->id > 0 && e[2].env->id > 0);
	assert_int_not_equal(e[0].env->id, e[2].env->id);
	assert_int_equal(e[3].env->id, 0);
	assert_int_equal(e[3].env->nrules, 0);
	assert_int_equal(p->nenvs, 2);
	profile__unref(p);
}

static void test_profile_envelope_ids_grow_across_reloads(void **state)
{
	struct profiles *a = parse_ok(WS "\tnest a x\n"), *b = parse_ok(WS "\tnest a x\n");

	(void)state;
	assert_true(b->endpoints[0].env->id > a->endpoints[0].env->id);
	profile__unref(a);
	profile__unref(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_profile_parses_the_shipped_gateway_conf),
		cmocka_unit_test(test_profile_skips_comments_blank_lines_and_crlf),
		cmocka_unit_test(test_profile_empty_file_is_an_empty_set),
		cmocka_unit_test(test_profile_endpoint_defaults),
		cmocka_unit_test(test_profile_topic_lines_get_a_filter_type_and_kind),
		cmocka_unit_test(test_profile_forms_and_counts_point_at_channels_defined_later),
		cmocka_unit_test(test_profile_broadcast_sections_keep_every_key),
		cmocka_unit_test(test_profile_global_lines_inside_a_section_do_not_end_it),
		cmocka_unit_test(test_profile_references_count_up_and_down),
		cmocka_unit_test(test_profile_rejects_unknown_directive),
		cmocka_unit_test(test_profile_rejects_wrong_number_of_arguments),
		cmocka_unit_test(test_profile_rejects_section_key_outside_its_section),
		cmocka_unit_test(test_profile_rejects_a_key_given_twice),
		cmocka_unit_test(test_profile_rejects_unknown_words_of_a_choice),
		cmocka_unit_test(test_profile_rejects_invalid_names),
		cmocka_unit_test(test_profile_rejects_line_of_64_kib),
		cmocka_unit_test(test_profile_rejects_nul_byte_and_bad_utf8),
		cmocka_unit_test(test_profile_rejects_too_many_words),
		cmocka_unit_test(test_profile_rejects_invalid_templates),
		cmocka_unit_test(test_profile_rejects_user_in_topic_and_publish_templates),
		cmocka_unit_test(test_profile_rejects_wildcards_in_publish_templates),
		cmocka_unit_test(test_profile_rejects_invalid_paths),
		cmocka_unit_test(test_profile_rejects_a_path_served_twice),
		cmocka_unit_test(test_profile_rejects_endpoint_without_transport),
		cmocka_unit_test(test_profile_rejects_keys_the_transport_does_not_take),
		cmocka_unit_test(test_profile_rejects_http_endpoint_without_handler),
		cmocka_unit_test(test_profile_rejects_bad_handlers),
		cmocka_unit_test(test_profile_rejects_conflicting_nest_and_rename),
		cmocka_unit_test(test_profile_rejects_broadcast_without_publish_or_type),
		cmocka_unit_test(test_profile_rejects_duplicate_definitions),
		cmocka_unit_test(test_profile_rejects_unknown_channels),
		cmocka_unit_test(test_profile_lists_many_channels_briefly),
		cmocka_unit_test(
			test_profile_rejects_form_field_of_a_channel_without_one_parameter),
		cmocka_unit_test(test_profile_rejects_subscribe_parameters_the_path_lacks),
		cmocka_unit_test(test_profile_reports_every_broken_line_in_line_order),
		cmocka_unit_test(test_profile_truncates_error_text_safely),
		cmocka_unit_test(test_profile_counts_broken_lines_beyond_the_first_thousand),
		cmocka_unit_test(test_profile_rejects_null_arguments),
		cmocka_unit_test(test_profile_load_reports_files_it_cannot_read),
		cmocka_unit_test(test_profile_load_names_the_file_in_errors),
		cmocka_unit_test(test_profile_matches_literal_paths),
		cmocka_unit_test(test_profile_matches_parameters_into_the_buffer),
		cmocka_unit_test(test_profile_trailing_slash_is_part_of_the_path),
		cmocka_unit_test(test_profile_upgrade_matches_websocket_endpoints_only),
		cmocka_unit_test(test_profile_first_endpoint_in_file_order_wins),
		cmocka_unit_test(test_profile_parameters_that_do_not_fit_match_nothing),
		cmocka_unit_test(test_profile_topic_takes_the_first_matching_line),
		cmocka_unit_test(test_profile_topic_param_reads_the_named_level),
		cmocka_unit_test(test_profile_expands_user_and_parameters),
		cmocka_unit_test(test_profile_expands_the_users_own_namespace),
		cmocka_unit_test(test_profile_expand_refuses_anonymous_users),
		cmocka_unit_test(test_profile_expand_names_a_missing_parameter),
		cmocka_unit_test(test_profile_expand_refuses_values_that_are_not_one_level),
		cmocka_unit_test(test_profile_expand_needs_room_for_the_whole_topic),
		cmocka_unit_test(test_profile_params_hold_at_most_eight),
		cmocka_unit_test(test_profile_syntax_checks_are_public),
		cmocka_unit_test(test_profile_envelope_rules_merge_and_sort_by_type),
		cmocka_unit_test(test_profile_envelope_nested_nests_every_type_under_data),
		cmocka_unit_test(test_profile_equal_envelopes_are_shared_and_others_numbered),
		cmocka_unit_test(test_profile_envelope_ids_grow_across_reloads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
