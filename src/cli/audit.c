/* careid audit verify: checks the audit trail's hash chain. */
#include "cli/cli.h"
#include "cli/commands.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/audit.h"
#include "core/error.h"
#include "crypto/random.h"

static const struct opt VERIFY_OPTS[] = {
    {"anchor", "SEQ:HASH",
     "a head printed by an earlier verify, kept outside the store: the chain must still "
     "hold it (reveals deleted newest rows)",
     false},
    CLI_STORE_OPTS,
    {NULL, NULL, NULL, false},
};

static const char *const problems[] = {
    [AUDIT_EDITED] = "edited",
    [AUDIT_MISSING] = "missing",
    [AUDIT_RELINKED] = "relinked",
    [AUDIT_TRUNCATED] = "truncated",
    [AUDIT_ANCHOR_DIFFERS] = "anchor_differs",
    [AUDIT_INDEX_DIFFERS] = "index_differs",
};

static json_t *report(const struct audit_verification *v, const char *anchor)
{
	json_t *out, *breaks = json_array(), *head = json_null();
	char text[96];

	if (v->last_seq) {
		snprintf(text, sizeof(text), "%lld:%s", (long long)v->last_seq, v->last_hash);
		head = json_pack("{s:I, s:s, s:s}", "seq", (json_int_t)v->last_seq, "hash",
		                 v->last_hash, "anchor", text);
	}
	for (size_t i = 0; breaks && i < v->nbreaks; i++)
		json_array_append_new(breaks, json_pack("{s:I, s:s, s:s}", "seq",
		                                        (json_int_t)v->breaks[i].seq, "problem",
		                                        problems[v->breaks[i].problem], "message",
		                                        v->breaks[i].message));
	out =
	    json_pack("{s:b, s:I, s:o, s:o, s:I}", "intact", v->intact, "rows", (json_int_t)v->rows,
	              "head", head, "breaks", breaks, "breaks_total", (json_int_t)v->total_breaks);
	if (out && anchor)
		json_object_set_new(out, "anchor_checked", json_string(anchor));
	return out;
}

static int verify(int argc, char **argv)
{
	const char *cmd = "audit verify", *anchor_text;
	struct audit_verification *v = NULL;
	struct audit_anchor anchor;
	store *s = NULL;
	opts *o = NULL;
	int status;

	status = cli_parse(
	    &o, cmd, "audit verify [--anchor SEQ:HASH] [--db URL]",
	    "Walks the audit trail in order and checks each event's hash and its link to\n"
	    "the one before. Prints {intact, rows, head, breaks, breaks_total} as JSON;\n"
	    "exits 0 when the chain is intact, 1 naming the first break: a row edited,\n"
	    "rows missing (the chain jumps), a row rewritten with a recomputed hash.\n"
	    "The chain alone cannot show that its newest rows were deleted: keep the\n"
	    "head's anchor (SEQ:HASH) outside the store and pass it with --anchor later.",
	    VERIFY_OPTS, argc - 1, argv + 1);
	if (status != CLI_CONTINUE)
		goto out;
	anchor_text = opts_get(o, "anchor");
	if (anchor_text && audit_anchor_parse(&anchor, anchor_text)) {
		status = cli_usage(cmd, "%s", careid_error_last()->message);
		goto out;
	}
	v = calloc(1, sizeof(*v));
	if (!v) {
		careid_error_set(CAREID_ENOMEM, "out of memory");
		status = cli_fail();
		goto out;
	}
	if (crypto_init() || cli_open_store(&s, o) ||
	    audit_verify(v, s, anchor_text ? &anchor : NULL)) {
		status = cli_fail();
		goto out;
	}
	cli_print_json(report(v, anchor_text));
	if (v->intact) {
		status = 0;
		goto out;
	}
	if (v->total_breaks > 1)
		fprintf(stderr, "careid: the audit chain is broken: %s (and %lld more breaks)\n",
		        v->breaks[0].message, (long long)(v->total_breaks - 1));
	else
		fprintf(stderr, "careid: the audit chain is broken: %s\n", v->breaks[0].message);
	status = 1;
out:
	free(v);
	store_free(s);
	opts_free(o);
	return status;
}

int cmd_audit(int argc, char **argv)
{
	const char *sub = argc > 0 ? argv[0] : NULL;

	if (sub && strcmp(sub, "verify") == 0)
		return verify(argc, argv);
	if (sub && (strcmp(sub, "--help") == 0 || strcmp(sub, "help") == 0)) {
		printf("usage: careid audit verify [options]\n\n"
		       "  verify  check the audit trail's hash chain\n\n"
		       "'careid audit verify --help' describes it.\n");
		return 0;
	}
	if (!sub)
		return cli_usage("audit", "a subcommand is required: verify");
	return cli_usage("audit", "unknown subcommand '%s' (verify)", sub);
}
