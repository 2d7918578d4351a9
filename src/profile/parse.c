/* Reading a BagIt Profile from JSON: types, defaults, and the consistency
 * rules of the specification. Fields a profile's BagIt-Profile-Version does
 * not define are ignored with a warning, as are fields no version defines. */
#include <config.h>

#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>

#include <kist/error.h>
#include <kist/finding.h>
#include <kist/path.h>
#include <kist/profile.h>

#include "profile-internal.h"

/* Newest version of the specification kist knows (1.4.0). */
#define SPEC_MINOR_MAX 4

enum kind { K_LIST, K_BOOL, K_SERIALIZATION, K_SECTION };

/* The top-level fields and the version of the specification that brought
 * each (1.2.0: the *-Allowed lists; 1.4.0: fetch, Data-Empty, payload). */
static const struct field {
	const char *name;
	int since;
	enum kind kind;
	size_t offset;
} fields[] = {
	{ "BagIt-Profile-Info", 1, K_SECTION, 0 },
	{ "Bag-Info", 1, K_SECTION, 0 },
	{ "Manifests-Required", 1, K_LIST, offsetof(struct kist_profile, manifests_required) },
	{ "Manifests-Allowed", 2, K_LIST, offsetof(struct kist_profile, manifests_allowed) },
	{ "Allow-Fetch.txt", 1, K_BOOL, offsetof(struct kist_profile, allow_fetch) },
	{ "Fetch.txt-Required", 4, K_BOOL, offsetof(struct kist_profile, fetch_required) },
	{ "Data-Empty", 4, K_BOOL, offsetof(struct kist_profile, data_empty) },
	{ "Serialization", 1, K_SERIALIZATION, 0 },
	{ "Accept-Serialization", 1, K_LIST, offsetof(struct kist_profile, accept_serialization) },
	{ "Accept-BagIt-Version", 1, K_LIST, offsetof(struct kist_profile, accept_bagit_version) },
	{ "Tag-Manifests-Required", 1, K_LIST, offsetof(struct kist_profile, tag_manifests_required) },
	{ "Tag-Manifests-Allowed", 2, K_LIST, offsetof(struct kist_profile, tag_manifests_allowed) },
	{ "Tag-Files-Required", 1, K_LIST, offsetof(struct kist_profile, tag_files_required) },
	{ "Tag-Files-Allowed", 2, K_LIST, offsetof(struct kist_profile, tag_files_allowed) },
	{ "Payload-Files-Required", 4, K_LIST, offsetof(struct kist_profile, payload_files_required) },
	{ "Payload-Files-Allowed", 4, K_LIST, offsetof(struct kist_profile, payload_files_allowed) },
};
#define NFIELDS (sizeof(fields) / sizeof(fields[0]))

static const char *const info_known[] = {
	"BagIt-Profile-Identifier", "BagIt-Profile-Version", "Source-Organization",
	"External-Description", "Version", "Contact-Name", "Contact-Phone", "Contact-Email",
};

/* Unknown keys of Bag-Info elements, noted once per key. */
struct unknown {
	const char *key;      /* points into the JSON document */
	const char *first;    /* the first element that has it */
	size_t count;
};

struct ctx {
	struct unknown unknown[16];
	size_t nunknown, unknown_more;
	struct kist_profile *p;
	struct kist_findings *fs;
	const char *src;
	size_t errors;
	int oom;
};

#define PROBLEM(c, code, ...)                                                          \
	do {                                                                           \
		(c)->errors++;                                                         \
		kist_findings_add((c)->fs, KIST_SEV_ERROR, code, (c)->src, __VA_ARGS__); \
	} while (0)
#define NOTE(c, code, ...) kist_findings_add((c)->fs, KIST_SEV_WARNING, code, (c)->src, __VA_ARGS__)

static const char *type_name(json_object *o)
{
	switch (json_object_get_type(o)) {
	case json_type_null: return "null";
	case json_type_boolean: return "a boolean";
	case json_type_double:
	case json_type_int: return "a number";
	case json_type_object: return "an object";
	case json_type_array: return "an array";
	case json_type_string: return "a string";
	}
	return "something else";
}

static char *dup_or_oom(struct ctx *c, const char *s)
{
	char *d = strdup(s);

	if (!d)
		c->oom = 1;
	return d;
}

/* A LIST field: an array of non-empty strings. */
static void read_list(struct ctx *c, const char *name, json_object *o, struct kist_profile_list *l)
{
	size_t n;

	if (!json_object_is_type(o, json_type_array)) {
		PROBLEM(c, "profile.type", "%s must be a list of strings, not %s", name, type_name(o));
		return;
	}
	n = json_object_array_length(o);
	l->given = 1;
	if (!(l->items = calloc(n ? n : 1, sizeof(*l->items)))) {
		c->oom = 1;
		return;
	}
	for (size_t i = 0; i < n; i++) {
		json_object *e = json_object_array_get_idx(o, i);

		if (!json_object_is_type(e, json_type_string)) {
			PROBLEM(c, "profile.type", "%s: item %zu must be a string, not %s", name, i + 1,
				type_name(e));
			continue;
		}
		if (json_object_get_string_len(e) == 0) {
			PROBLEM(c, "profile.value", "%s: item %zu is empty", name, i + 1);
			continue;
		}
		if (!(l->items[l->count] = dup_or_oom(c, json_object_get_string(e))))
			return;
		l->count++;
	}
}

static int read_bool(struct ctx *c, const char *name, json_object *o, int *out)
{
	if (!json_object_is_type(o, json_type_boolean)) {
		PROBLEM(c, "profile.type", "%s must be true or false, not %s", name, type_name(o));
		return -1;
	}
	*out = json_object_get_boolean(o);
	return 0;
}

/* DIGIT *("." DIGIT), as the specification's ABNF has it (digits, really). */
static int version_ok(const char *s)
{
	if (!*s)
		return 0;
	for (;;) {
		size_t n = strspn(s, "0123456789");

		if (n == 0)
			return 0;
		s += n;
		if (!*s)
			return 1;
		if (*s++ != '.')
			return 0;
	}
}

static void read_profile_info(struct ctx *c, json_object *o)
{
	static const char *const required[] = { "BagIt-Profile-Identifier", "Source-Organization",
						"External-Description", "Version" };
	char **slots[] = { &c->p->identifier, &c->p->source_organization, &c->p->external_description,
			   &c->p->version };
	json_object *v;

	if (!json_object_is_type(o, json_type_object)) {
		PROBLEM(c, "profile.type", "BagIt-Profile-Info must be an object, not %s", type_name(o));
		return;
	}
	for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
		if (!json_object_object_get_ex(o, required[i], &v)) {
			PROBLEM(c, "profile.field-missing", "BagIt-Profile-Info has no %s (required)",
				required[i]);
			continue;
		}
		if (!json_object_is_type(v, json_type_string) || json_object_get_string_len(v) == 0) {
			PROBLEM(c, "profile.type", "BagIt-Profile-Info: %s must be a non-empty string, not %s",
				required[i], json_object_is_type(v, json_type_string) ? "empty" : type_name(v));
			continue;
		}
		*slots[i] = dup_or_oom(c, json_object_get_string(v));
	}
	if (json_object_object_get_ex(o, "BagIt-Profile-Version", &v)) {
		const char *s = json_object_get_string(v);

		if (!json_object_is_type(v, json_type_string) || !version_ok(s)) {
			PROBLEM(c, "profile.value",
				"BagIt-Profile-Info: BagIt-Profile-Version must be a version such as \"1.4.0\", not %s",
				json_object_is_type(v, json_type_string) ? s : type_name(v));
		} else {
			unsigned long major = strtoul(s, NULL, 10), minor = 0;
			const char *dot = strchr(s, '.');

			if (dot)
				minor = strtoul(dot + 1, NULL, 10);
			c->p->spec_declared = 1;
			if (major != 1 || minor > SPEC_MINOR_MAX) {
				NOTE(c, "profile.version-unknown",
				     "BagIt-Profile-Version %s is not one kist knows: read with the rules of 1.%d.0",
				     s, SPEC_MINOR_MAX);
				c->p->spec_minor = major > 1 || minor > SPEC_MINOR_MAX ? SPEC_MINOR_MAX : 1;
			} else {
				c->p->spec_minor = minor < 1 ? 1 : (int)minor;
			}
		}
	}
	json_object_object_foreach(o, key, val) {
		size_t i;

		(void)val;
		for (i = 0; i < sizeof(info_known) / sizeof(info_known[0]); i++)
			if (strcmp(key, info_known[i]) == 0)
				break;
		if (i == sizeof(info_known) / sizeof(info_known[0]))
			NOTE(c, "profile.field-unknown", "BagIt-Profile-Info: %s is not a field of the specification: ignored",
			     key);
	}
}

static void read_tag(struct ctx *c, const char *label, json_object *o, struct kist_profile_tag *t)
{
	t->repeatable = 1;
	if (!(t->label = dup_or_oom(c, label)))
		return;
	if (!json_object_is_type(o, json_type_object)) {
		PROBLEM(c, "profile.type", "Bag-Info: %s must be an object, not %s", label, type_name(o));
		return;
	}
	json_object_object_foreach(o, key, v) {
		char what[300];

		snprintf(what, sizeof(what), "Bag-Info: %s: %s", label, key);
		if (strcmp(key, "required") == 0) {
			read_bool(c, what, v, &t->required);
		} else if (strcmp(key, "repeatable") == 0) {
			read_bool(c, what, v, &t->repeatable);
		} else if (strcmp(key, "values") == 0) {
			read_list(c, what, v, &t->values);
		} else if (strcmp(key, "description") == 0 && c->p->spec_minor >= 3) {
			if (!json_object_is_type(v, json_type_string))
				PROBLEM(c, "profile.type", "%s must be a string, not %s", what, type_name(v));
			else
				t->description = dup_or_oom(c, json_object_get_string(v));
		} else if (strcmp(key, "description") == 0) {
			NOTE(c, "profile.field-newer",
			     "%s belongs to BagIt Profiles 1.3.0; this profile is read as %s: ignored", what,
			     kist_profile_spec_version(c->p));
		} else {
			size_t u;

			for (u = 0; u < c->nunknown && strcmp(c->unknown[u].key, key) != 0; u++)
				;
			if (u < c->nunknown) {
				c->unknown[u].count++;
			} else if (c->nunknown < sizeof(c->unknown) / sizeof(c->unknown[0])) {
				c->unknown[u].key = key;
				c->unknown[u].first = t->label;
				c->unknown[u].count = 1;
				c->nunknown++;
			} else {
				c->unknown_more++;
			}
		}
	}
}

static void read_bag_info(struct ctx *c, json_object *o)
{
	size_t n = 0;

	if (!json_object_is_type(o, json_type_object)) {
		PROBLEM(c, "profile.type", "Bag-Info must be an object, not %s", type_name(o));
		return;
	}
	if (!(c->p->tags = calloc((size_t)json_object_object_length(o) + 1, sizeof(*c->p->tags)))) {
		c->oom = 1;
		return;
	}
	json_object_object_foreach(o, label, v) {
		if (strcasecmp(label, "BagIt-Profile-Identifier") == 0)
			NOTE(c, "profile.advice",
			     "Bag-Info lists BagIt-Profile-Identifier, which is always required and SHOULD NOT be listed");
		read_tag(c, label, v, &c->p->tags[n++]);
		c->p->ntags = n;
		if (c->oom)
			return;
	}
	for (size_t u = 0; u < c->nunknown; u++) {
		if (c->unknown[u].count == 1)
			NOTE(c, "profile.field-unknown",
			     "Bag-Info: %s: %s is not a field of the specification: ignored", c->unknown[u].first,
			     c->unknown[u].key);
		else
			NOTE(c, "profile.field-unknown",
			     "Bag-Info: %s (in %zu elements, %s the first) is not a field of the specification: ignored",
			     c->unknown[u].key, c->unknown[u].count, c->unknown[u].first);
	}
	if (c->unknown_more)
		NOTE(c, "profile.field-unknown", "Bag-Info: %zu more unknown fields: ignored", c->unknown_more);
}

static void read_serialization(struct ctx *c, json_object *o)
{
	const char *s;

	if (!json_object_is_type(o, json_type_string)) {
		PROBLEM(c, "profile.type", "Serialization must be \"forbidden\", \"required\" or \"optional\", not %s",
			type_name(o));
		return;
	}
	s = json_object_get_string(o);
	if (strcmp(s, "optional") == 0)
		c->p->serialization = KIST_PROFILE_SER_OPTIONAL;
	else if (strcmp(s, "required") == 0)
		c->p->serialization = KIST_PROFILE_SER_REQUIRED;
	else if (strcmp(s, "forbidden") == 0)
		c->p->serialization = KIST_PROFILE_SER_FORBIDDEN;
	else
		PROBLEM(c, "profile.value",
			"Serialization must be \"forbidden\", \"required\" or \"optional\", not \"%s\"", s);
}

/* Every required entry must be covered by the allowed list. */
static void check_covered(struct ctx *c, const char *req_name, const struct kist_profile_list *req,
			  const char *allow_name, const struct kist_profile_list *allow, int algs)
{
	if (!allow->given)
		return;
	for (size_t i = 0; i < req->count; i++) {
		int ok = algs ? kist_profile_list_has_alg(allow, req->items[i])
			      : kist_profile_list_matches(allow, req->items[i]);

		if (!ok)
			PROBLEM(c, "profile.contradiction", "%s lists %s, which %s does not allow", req_name,
				req->items[i], allow_name);
	}
}

static void check_algs(struct ctx *c, const char *name, const struct kist_profile_list *l)
{
	for (size_t i = 0; i < l->count; i++)
		if (kist_alg_from_name(l->items[i]) < 0)
			NOTE(c, "profile.algorithm-unknown",
			     "%s: kist does not know the algorithm %s (bags can be checked for the manifest, not made with it)",
			     name, l->items[i]);
}

static void check_paths(struct ctx *c, const char *name, const struct kist_profile_list *l, int payload,
			int patterns)
{
	for (size_t i = 0; i < l->count; i++) {
		const char *s = l->items[i];
		size_t len = strlen(s);
		/* a required directory ends in '/': check the path without it */
		size_t check = payload && len > 1 && s[len - 1] == '/' ? len - 1 : len;
		enum kist_path_problem pp = kist_path_check_relative(s, check);

		if (pp != KIST_PATH_OK) {
			PROBLEM(c, "profile.value", "%s: %s is not a path relative to the bag: %s", name, s,
				kist_path_problem_str(pp));
			continue;
		}
		if (payload && strncmp(s, "data/", 5) != 0 && !(patterns && s[0] == '*'))
			PROBLEM(c, "profile.value", "%s: %s is not under data/ (payload paths are relative to the bag)",
				name, s);
		else if (!payload && strncmp(s, "data/", 5) == 0)
			PROBLEM(c, "profile.value", "%s: %s is under data/, where the payload is, not tag files",
				name, s);
		if (patterns && payload && len > 0 && s[len - 1] == '/')
			PROBLEM(c, "profile.value", "%s: %s ends in '/': permitted directories are written %s*", name,
				s, s);
		if (!patterns && !payload &&
		    (strcmp(s, "bag-info.txt") == 0 || strncmp(s, "manifest-", 9) == 0 ||
		     strncmp(s, "tagmanifest-", 12) == 0))
			NOTE(c, "profile.advice", "%s SHOULD NOT list %s (required by other rules)", name, s);
	}
}

static void check_mimes(struct ctx *c)
{
	const struct kist_profile_list *l = &c->p->accept_serialization;

	for (size_t i = 0; i < l->count; i++) {
		const char *slash = strchr(l->items[i], '/');

		if (!slash || slash == l->items[i] || !slash[1] || strchr(slash + 1, '/') ||
		    strpbrk(l->items[i], " \t\r\n"))
			PROBLEM(c, "profile.value", "Accept-Serialization: %s is not a MIME type", l->items[i]);
		else if (!kist_profile_mime_known(l->items[i]))
			NOTE(c, "profile.serialization-unknown",
			     "Accept-Serialization: kist does not recognise %s as a serialization; a bag in it cannot be accepted",
			     l->items[i]);
	}
}

/* Rules about the profile as a whole, once every field is read. */
static void check_consistency(struct ctx *c)
{
	struct kist_profile *p = c->p;
	const struct kist_profile_list *v = &p->accept_bagit_version;

	if (!v->given || v->count == 0)
		PROBLEM(c, "profile.field-missing",
			"Accept-BagIt-Version %s: at least one BagIt version is required",
			v->given ? "is empty" : "is missing");
	for (size_t i = 0; i < v->count; i++)
		if (!version_ok(v->items[i]) || !strchr(v->items[i], '.'))
			PROBLEM(c, "profile.value", "Accept-BagIt-Version: %s is not a BagIt version such as \"1.0\"",
				v->items[i]);
	if (p->serialization == KIST_PROFILE_SER_REQUIRED && p->accept_serialization.count == 0)
		PROBLEM(c, "profile.contradiction",
			"Serialization is required but Accept-Serialization names no format");
	else if (p->serialization == KIST_PROFILE_SER_FORBIDDEN && p->accept_serialization.count > 0)
		NOTE(c, "profile.advice", "Accept-Serialization has no meaning when Serialization is forbidden");
	check_mimes(c);
	if (p->fetch_required && !p->allow_fetch)
		PROBLEM(c, "profile.contradiction", "Fetch.txt-Required is true but Allow-Fetch.txt is false");
	check_covered(c, "Manifests-Required", &p->manifests_required, "Manifests-Allowed",
		      &p->manifests_allowed, 1);
	check_covered(c, "Tag-Manifests-Required", &p->tag_manifests_required, "Tag-Manifests-Allowed",
		      &p->tag_manifests_allowed, 1);
	check_covered(c, "Tag-Files-Required", &p->tag_files_required, "Tag-Files-Allowed",
		      &p->tag_files_allowed, 0);
	check_covered(c, "Payload-Files-Required", &p->payload_files_required, "Payload-Files-Allowed",
		      &p->payload_files_allowed, 0);
	check_algs(c, "Manifests-Required", &p->manifests_required);
	check_algs(c, "Manifests-Allowed", &p->manifests_allowed);
	check_algs(c, "Tag-Manifests-Required", &p->tag_manifests_required);
	check_algs(c, "Tag-Manifests-Allowed", &p->tag_manifests_allowed);
	check_paths(c, "Tag-Files-Required", &p->tag_files_required, 0, 0);
	check_paths(c, "Tag-Files-Allowed", &p->tag_files_allowed, 0, 1);
	check_paths(c, "Payload-Files-Required", &p->payload_files_required, 1, 0);
	check_paths(c, "Payload-Files-Allowed", &p->payload_files_allowed, 1, 1);
}

/* "line L, column C" of an offset, for JSON syntax errors. */
static void where(const char *text, size_t off, unsigned long *line, unsigned long *col)
{
	*line = 1;
	*col = 1;
	for (size_t i = 0; i < off; i++) {
		if (text[i] == '\n') {
			(*line)++;
			*col = 1;
		} else {
			(*col)++;
		}
	}
}

static json_object *parse_json(struct ctx *c, const char *text, size_t len)
{
	struct json_tokener *tok;
	json_object *root = NULL;
	enum json_tokener_error e;
	unsigned long line, col;
	size_t end;

	if (len > KIST_PROFILE_MAX_BYTES) {
		PROBLEM(c, "profile.malformed", "larger than %d bytes: not a profile", KIST_PROFILE_MAX_BYTES);
		return NULL;
	}
	if (memchr(text, '\0', len)) {
		PROBLEM(c, "profile.malformed", "not JSON text: it holds a NUL byte");
		return NULL;
	}
	if (!(tok = json_tokener_new_ex(KIST_PROFILE_MAX_DEPTH))) {
		c->oom = 1;
		return NULL;
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	root = json_tokener_parse_ex(tok, text, (int)len);
	e = json_tokener_get_error(tok);
	end = json_tokener_get_parse_end(tok);
	if (!root) {
		where(text, end, &line, &col);
		if (e == json_tokener_continue)
			PROBLEM(c, "profile.malformed", "not JSON: the text ends in the middle of a value");
		else if (e == json_tokener_error_depth)
			PROBLEM(c, "profile.malformed",
				"not a profile: JSON nested more than %d deep (line %lu, column %lu)",
				KIST_PROFILE_MAX_DEPTH, line, col);
		else
			PROBLEM(c, "profile.malformed", "not JSON: %s at line %lu, column %lu",
				json_tokener_error_desc(e), line, col);
	} else {
		/* text need not end in a NUL: stay within len */
		while (end < len && (text[end] == ' ' || text[end] == '\t' || text[end] == '\r' ||
				     text[end] == '\n'))
			end++;
		if (end < len) {
			where(text, end, &line, &col);
			PROBLEM(c, "profile.malformed", "not JSON: more text after the profile, at line %lu, column %lu",
				line, col);
			json_object_put(root);
			root = NULL;
		}
	}
	json_tokener_free(tok);
	return root;
}

int kist_profile_parse(const char *text, size_t len, const char *source, struct kist_profile **out,
		       struct kist_findings *findings)
{
	struct ctx c = { .fs = findings, .src = source };
	json_object *root, *v;
	int rc = KIST_OK;

	*out = NULL;
	if (!(c.p = calloc(1, sizeof(*c.p))) || !(c.p->source = strdup(source ? source : "profile"))) {
		free(c.p);
		return KIST_FAILED;
	}
	c.p->allow_fetch = 1;
	c.p->spec_minor = 1;   /* without BagIt-Profile-Version: the rules of 1.1.0 */
	if (!(root = parse_json(&c, text, len)))
		goto out;
	if (!json_object_is_type(root, json_type_object)) {
		PROBLEM(&c, "profile.malformed", "a profile is a JSON object, not %s", type_name(root));
		goto out;
	}
	/* the version first: it decides which fields count */
	if (json_object_object_get_ex(root, "BagIt-Profile-Info", &v))
		read_profile_info(&c, v);
	else
		PROBLEM(&c, "profile.field-missing", "no BagIt-Profile-Info (required)");
	json_object_object_foreach(root, key, val) {
		size_t i;

		for (i = 0; i < NFIELDS; i++)
			if (strcmp(key, fields[i].name) == 0)
				break;
		if (i == NFIELDS) {
			NOTE(&c, "profile.field-unknown", "%s is not a field of the specification: ignored", key);
			continue;
		}
		if (fields[i].since > c.p->spec_minor) {
			NOTE(&c, "profile.field-newer",
			     "%s belongs to BagIt Profiles 1.%d.0; this profile is read as %s%s: ignored", key,
			     fields[i].since, kist_profile_spec_version(c.p),
			     c.p->spec_declared ? "" : " (it has no BagIt-Profile-Version)");
			continue;
		}
		switch (fields[i].kind) {
		case K_SECTION:
			if (strcmp(key, "Bag-Info") == 0)
				read_bag_info(&c, val);
			break;
		case K_LIST:
			read_list(&c, key, val, (struct kist_profile_list *)((char *)c.p + fields[i].offset));
			break;
		case K_BOOL:
			read_bool(&c, key, val, (int *)((char *)c.p + fields[i].offset));
			break;
		case K_SERIALIZATION:
			read_serialization(&c, val);
			break;
		}
		if (c.oom)
			break;
	}
	if (!c.oom)
		check_consistency(&c);
out:
	if (root)
		json_object_put(root);
	if (c.oom) {
		kist_profile_free(c.p);
		return KIST_FAILED;
	}
	if (c.errors) {
		kist_profile_free(c.p);
		return KIST_INVALID;
	}
	*out = c.p;
	return rc;
}

static void list_free(struct kist_profile_list *l)
{
	for (size_t i = 0; i < l->count; i++)
		free(l->items[i]);
	free(l->items);
}

void kist_profile_free(struct kist_profile *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->ntags; i++) {
		free(p->tags[i].label);
		free(p->tags[i].description);
		list_free(&p->tags[i].values);
	}
	free(p->tags);
	list_free(&p->manifests_required);
	list_free(&p->manifests_allowed);
	list_free(&p->tag_manifests_required);
	list_free(&p->tag_manifests_allowed);
	list_free(&p->tag_files_required);
	list_free(&p->tag_files_allowed);
	list_free(&p->payload_files_required);
	list_free(&p->payload_files_allowed);
	list_free(&p->accept_serialization);
	list_free(&p->accept_bagit_version);
	free(p->identifier);
	free(p->version);
	free(p->source_organization);
	free(p->external_description);
	free(p->source);
	free(p);
}

const char *kist_profile_spec_version(const struct kist_profile *p)
{
	static const char *const names[] = { "1.1.0", "1.1.0", "1.2.0", "1.3.0", "1.4.0" };

	return names[p->spec_minor >= 1 && p->spec_minor <= SPEC_MINOR_MAX ? p->spec_minor : 1];
}

const struct kist_profile_tag *kist_profile_tag(const struct kist_profile *p, const char *label)
{
	for (size_t i = 0; i < p->ntags; i++)
		if (p->tags[i].label && strcasecmp(p->tags[i].label, label) == 0)
			return &p->tags[i];
	return NULL;
}

/* '*' matches any run of characters, '/' too ("Tag-Files-Allowed": ["*"]
 * allows every tag file, in folders as well); every other byte matches
 * itself. Iterative with one backtrack point: linear in practice, never
 * exponential on hostile patterns. */
int kist_profile_glob(const char *pat, const char *s)
{
	const char *star = NULL, *resume = NULL;

	while (*s) {
		if (*pat == '*') {
			star = pat++;
			resume = s;
		} else if (*pat == *s) {
			pat++;
			s++;
		} else if (star) {
			pat = star + 1;
			s = ++resume;
		} else {
			return 0;
		}
	}
	while (*pat == '*')
		pat++;
	return *pat == '\0';
}

int kist_profile_list_matches(const struct kist_profile_list *l, const char *path)
{
	for (size_t i = 0; i < l->count; i++)
		if (kist_profile_glob(l->items[i], path))
			return 1;
	return 0;
}

int kist_profile_alg_same(const char *a, const char *b)
{
	int x = kist_alg_from_name(a), y = kist_alg_from_name(b);

	if (x >= 0 && y >= 0)
		return x == y;
	return strcasecmp(a, b) == 0;
}

int kist_profile_list_has_alg(const struct kist_profile_list *l, const char *name)
{
	for (size_t i = 0; i < l->count; i++)
		if (kist_profile_alg_same(l->items[i], name))
			return 1;
	return 0;
}
