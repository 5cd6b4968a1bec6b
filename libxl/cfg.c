/*
 * libxl/cfg.c: the xl.cfg grammar, text -> generic tree.
 *
 *   file      := { statement | ';' | NEWLINE }
 *   statement := IDENT ( '=' | '+=' ) value ( NEWLINE | ';' | EOF )
 *   value     := STRING | NUMBER | '[' [ value { ',' value } [ ',' ] ] ']'
 *   IDENT     := [a-z][._0-9a-z]*          NUMBER := [0-9][0-9a-fx]*
 *   STRING    := '...' or "..." on one line, with C escapes
 *   '#' starts a comment to the end of the line; inside a list newlines
 *   and comments are blanks.
 *
 * A hand-written scanner over a length-bounded buffer: no recursion
 * deeper than CFG_MAX_DEPTH, no reads past len, NUL bytes rejected.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "private.h"

/* ---- small helpers ---------------------------------------------------- */

char *exl_str_printf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&s, fmt, ap);
	va_end(ap);
	return r < 0 ? NULL : s;
}

void exl_strv_free(char **v, size_t n)
{
	size_t i;

	if (!v)
		return;
	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

bool exl_utf8_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;

	while (i < len) {
		unsigned c = p[i], need, cp, min;

		if (c < 0x80) {
			i++;
			continue;
		}
		if ((c & 0xe0) == 0xc0)
			need = 1, cp = c & 0x1f, min = 0x80;
		else if ((c & 0xf0) == 0xe0)
			need = 2, cp = c & 0x0f, min = 0x800;
		else if ((c & 0xf8) == 0xf0)
			need = 3, cp = c & 0x07, min = 0x10000;
		else
			return false;
		if (len - i <= need)
			return false;
		for (unsigned k = 1; k <= need; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (p[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += need + 1;
	}
	return true;
}

/* ---- the tree ---------------------------------------------------------- */

static void value_free(struct cfg_value *v)
{
	size_t i;

	if (!v)
		return;
	free(v->text);
	for (i = 0; i < v->nitems; i++)
		value_free(v->items[i]);
	free(v->items);
	free(v);
}

void cfg_tree_init(struct cfg_tree *t)
{
	memset(t, 0, sizeof(*t));
}

void cfg_tree_dispose(struct cfg_tree *t)
{
	size_t i;

	for (i = 0; i < t->n; i++) {
		free(t->v[i].key);
		value_free(t->v[i].value);
	}
	free(t->v);
	cfg_tree_init(t);
}

static unsigned key_hash(const char *k)
{
	unsigned h = 2166136261u;

	while (*k)
		h = (h ^ (unsigned char)*k++) * 16777619u;
	return h;
}

/* Slot for key: where it is, or the empty slot where it would go. */
static int *key_slot(const struct cfg_tree *t, const char *key)
{
	const size_t nslots = sizeof(t->slots) / sizeof(t->slots[0]);
	size_t i = key_hash(key) % nslots;

	for (;;) {
		const int *s = &t->slots[i];

		if (!*s || !strcmp(t->v[*s - 1].key, key))
			return (int *)s;
		i = (i + 1) % nslots;
	}
}

const struct cfg_setting *cfg_get(const struct cfg_tree *t, const char *key)
{
	int *s = key_slot(t, key);

	return *s ? &t->v[*s - 1] : NULL;
}

/* ---- the scanner -------------------------------------------------------- */

struct scan {
	const char *p, *end;
	const char *source;
	int line;
	struct enso_error *err;
};

static int scan_peek(const struct scan *sc)
{
	return sc->p < sc->end ? (unsigned char)*sc->p : -1;
}

/* "found 'x'", "found end of line"... for syntax errors. */
static const char *found(const struct scan *sc, char *buf, size_t sz)
{
	int c = scan_peek(sc);

	if (c < 0)
		return "end of file";
	if (c == '\n')
		return "end of line";
	if (c == '"' || c == '\'')
		return "a string";
	if (c >= '0' && c <= '9')
		return "a number";
	if (c >= 'a' && c <= 'z')
		return "a name";
	if (c > 0x20 && c < 0x7f)
		snprintf(buf, sz, "'%c'", c);
	else
		snprintf(buf, sz, "byte 0x%02x", c);
	return buf;
}

static int syntax(struct scan *sc, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static int syntax(struct scan *sc, const char *fmt, ...)
{
	char what[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return exl_fail(sc->err, -EINVAL, "%s:%d: syntax error: %s", sc->source, sc->line,
			what);
}

/* Skips blanks and a comment; with newlines also newlines (inside lists). */
static void skip_blanks(struct scan *sc, bool newlines)
{
	while (sc->p < sc->end) {
		char c = *sc->p;

		if (c == ' ' || c == '\t' || c == '\r') {
			sc->p++;
		} else if (c == '#') {
			while (sc->p < sc->end && *sc->p != '\n')
				sc->p++;
		} else if (c == '\n' && newlines) {
			sc->p++;
			sc->line++;
		} else {
			break;
		}
	}
}

static bool is_ident_start(int c)
{
	return c >= 'a' && c <= 'z';
}

static bool is_ident_char(int c)
{
	return is_ident_start(c) || (c >= '0' && c <= '9') || c == '.' ||
	       c == '_';
}

static bool is_number_char(int c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || c == 'x';
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static struct cfg_value *value_new(enum cfg_kind kind, int line)
{
	struct cfg_value *v = calloc(1, sizeof(*v));

	if (v) {
		v->kind = kind;
		v->line = line;
	}
	return v;
}

/* A quoted string: sc->p at the opening quote. */
static int scan_string(struct scan *sc, struct cfg_value **out)
{
	char q = *sc->p++, *buf, *o;
	const char *start = sc->p;
	struct cfg_value *v;
	int rc;

	/* The unescaped text is never longer than the quoted text. */
	while (sc->p < sc->end && *sc->p != q && *sc->p != '\n') {
		if (*sc->p == '\\' && sc->p + 1 < sc->end && sc->p[1] != '\n')
			sc->p++;
		sc->p++;
	}
	if (sc->p >= sc->end || *sc->p != q)
		return syntax(sc, "unterminated string (a string ends on the "
				  "line where it starts)");
	buf = malloc(sc->p - start + 1);
	if (!buf)
		return -ENOMEM;
	o = buf;
	for (const char *s = start; s < sc->p; s++) {
		int c = (unsigned char)*s, n, d;

		if (c != '\\') {
			*o++ = c;
			continue;
		}
		c = *++s;
		switch (c) {
		case '"': case '\'': case '\\': *o++ = c; break;
		case 'a': *o++ = '\a'; break;
		case 'b': *o++ = '\b'; break;
		case 'f': *o++ = '\f'; break;
		case 'n': *o++ = '\n'; break;
		case 'r': *o++ = '\r'; break;
		case 't': *o++ = '\t'; break;
		case 'v': *o++ = '\v'; break;
		case 'x':
			for (n = 0, d = 0; d < 2 && s + 1 < sc->p &&
					   hexval(s[1]) >= 0; d++)
				n = n * 16 + hexval(*++s);
			if (!d) {
				rc = syntax(sc, "\\x must be followed by hex "
						"digits");
				goto fail;
			}
			if (!n)
				goto nul;
			*o++ = (char)n;
			break;
		default:
			if (c < '0' || c > '7') {
				if (c > 0x20 && c < 0x7f)
					rc = syntax(sc, "unknown escape '\\%c' "
							"in string", c);
				else
					rc = syntax(sc, "unknown escape in "
							"string");
				goto fail;
			}
			for (n = c - '0', d = 1; d < 3 && s + 1 < sc->p &&
					   s[1] >= '0' && s[1] <= '7'; d++)
				n = n * 8 + (*++s - '0');
			if (n > 0xff) {
				rc = syntax(sc, "octal escape above \\377");
				goto fail;
			}
			if (!n)
				goto nul;
			*o++ = (char)n;
		}
	}
	*o = '\0';
	sc->p++;	/* the closing quote */
	if (!exl_utf8_valid(buf, o - buf)) {
		rc = syntax(sc, "string is not valid UTF-8");
		goto fail;
	}
	v = value_new(CFG_STRING, sc->line);
	if (!v) {
		rc = -ENOMEM;
		goto fail;
	}
	v->text = buf;
	*out = v;
	return 0;
nul:
	rc = syntax(sc, "string contains a NUL byte (\\0)");
fail:
	free(buf);
	return rc;
}

static int scan_value(struct scan *sc, int depth, struct cfg_value **out);

static int scan_list(struct scan *sc, int depth, struct cfg_value **out)
{
	int open_line = sc->line, rc;
	struct cfg_value *l, *item;
	char buf[16];

	if (depth >= CFG_MAX_DEPTH)
		return syntax(sc, "lists nested too deeply (more than %d "
				  "levels)", CFG_MAX_DEPTH);
	sc->p++;	/* '[' */
	l = value_new(CFG_LIST, sc->line);
	if (!l)
		return -ENOMEM;
	for (;;) {
		skip_blanks(sc, true);
		if (scan_peek(sc) == ']')
			break;
		if (scan_peek(sc) < 0) {
			rc = syntax(sc, "unterminated list (opened on line "
					"%d)", open_line);
			goto fail;
		}
		rc = scan_value(sc, depth + 1, &item);
		if (rc)
			goto fail;
		if (l->nitems == l->cap) {
			size_t cap = l->cap ? 2 * l->cap : 4;
			struct cfg_value **n = realloc(l->items,
						       cap * sizeof(*n));

			if (!n) {
				value_free(item);
				rc = -ENOMEM;
				goto fail;
			}
			l->items = n;
			l->cap = cap;
		}
		l->items[l->nitems++] = item;
		skip_blanks(sc, true);
		if (scan_peek(sc) == ',') {
			sc->p++;
			continue;
		}
		if (scan_peek(sc) == ']')
			break;
		if (scan_peek(sc) < 0)
			rc = syntax(sc, "unterminated list (opened on line "
					"%d)", open_line);
		else
			rc = syntax(sc, "expected ',' or ']' in list, found %s",
				    found(sc, buf, sizeof(buf)));
		goto fail;
	}
	sc->p++;	/* ']' */
	*out = l;
	return 0;
fail:
	value_free(l);
	return rc;
}

static int scan_value(struct scan *sc, int depth, struct cfg_value **out)
{
	int c = scan_peek(sc);
	struct cfg_value *v;
	const char *start;
	char buf[16];

	if (c == '"' || c == '\'')
		return scan_string(sc, out);
	if (c == '[')
		return scan_list(sc, depth, out);
	if (c >= '0' && c <= '9') {
		start = sc->p;
		while (is_number_char(scan_peek(sc)))
			sc->p++;
		v = value_new(CFG_NUMBER, sc->line);
		if (!v || !(v->text = strndup(start, sc->p - start))) {
			free(v);
			return -ENOMEM;
		}
		*out = v;
		return 0;
	}
	if (is_ident_start(c))
		return syntax(sc, "expected a value, found a bare word (strings "
				  "need quotes)");
	return syntax(sc, "expected a value, found %s",
		      found(sc, buf, sizeof(buf)));
}

/* ---- merging statements into the tree ---------------------------------- */

static int list_append(struct cfg_value *l, struct cfg_value *item)
{
	if (l->nitems == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 4;
		struct cfg_value **n = realloc(l->items, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		l->items = n;
		l->cap = cap;
	}
	l->items[l->nitems++] = item;
	return 0;
}

/* old += add; consumes add on success. */
static int value_add(struct scan *sc, int line, const char *key,
		     struct cfg_value *old, struct cfg_value *add)
{
	size_t i;
	int rc;

	if (old->kind == CFG_NUMBER || add->kind == CFG_NUMBER)
		return exl_fail(sc->err, -EINVAL, "%s:%d: %s: can't use += with numbers",
				sc->source, line, key);
	if (old->kind == CFG_STRING && add->kind == CFG_LIST)
		return exl_fail(sc->err, -EINVAL, "%s:%d: %s: can't use += to add a list "
				"to a string", sc->source, line, key);
	if (old->kind == CFG_STRING) {
		char *s = exl_str_printf("%s%s", old->text, add->text);

		if (!s)
			return -ENOMEM;
		free(old->text);
		old->text = s;
		value_free(add);
		return 0;
	}
	if (add->kind == CFG_STRING)
		return list_append(old, add) ? -ENOMEM : (0);
	for (i = 0; i < add->nitems; i++) {
		rc = list_append(old, add->items[i]);
		if (rc) {
			/* items [0, i) moved: drop them from add */
			memmove(add->items, add->items + i,
				(add->nitems - i) * sizeof(*add->items));
			add->nitems -= i;
			return rc;
		}
	}
	add->nitems = 0;
	value_free(add);
	return 0;
}

static int tree_set(struct scan *sc, struct cfg_tree *t, char *key, bool add,
		    struct cfg_value *v, int line)
{
	int *slot = key_slot(t, key);
	struct cfg_setting *s;
	int rc;

	if (*slot) {
		s = &t->v[*slot - 1];
		if (add) {
			rc = value_add(sc, line, key, s->value, v);
			if (rc)
				return rc;
		} else {
			value_free(s->value);
			s->value = v;
		}
		s->source = sc->source;
		s->line = line;
		free(key);
		return 0;
	}
	if (t->n >= CFG_MAX_KEYS)
		return exl_fail(sc->err, -EINVAL, "%s:%d: too many different settings "
				"(more than %d)", sc->source, line, CFG_MAX_KEYS);
	if (!(t->n & (t->n - 1)) || !t->n) {
		size_t cap = t->n ? 2 * t->n : 16;
		struct cfg_setting *n = realloc(t->v, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		t->v = n;
	}
	/* "+=" on a key never set acts as "=". */
	s = &t->v[t->n++];
	s->key = key;
	s->value = v;
	s->source = sc->source;
	s->line = line;
	*slot = (int)t->n;
	return 0;
}

int cfg_parse_text(struct cfg_tree *t, const char *text, size_t len,
		   const char *source, int first_line, struct enso_error *err)
{
	struct scan sc = { text, text + len, source, first_line, err };
	struct cfg_value *v;
	const char *start, *kend;
	char buf[16], *key;
	bool add;
	int rc, line;

	if (memchr(text, '\0', len)) {
		const char *z = memchr(text, '\0', len);
		int l = first_line;

		for (const char *p = text; p < z; p++)
			l += *p == '\n';
		return exl_fail(err, -EINVAL, "%s:%d: syntax error: NUL byte in the file "
				"(is it a text file?)", source, l);
	}
	for (;;) {
		skip_blanks(&sc, false);
		if (scan_peek(&sc) < 0)
			return 0;
		if (*sc.p == '\n') {
			sc.p++;
			sc.line++;
			continue;
		}
		if (*sc.p == ';') {
			sc.p++;
			continue;
		}
		if (!is_ident_start(*sc.p)) {
			if (*sc.p >= 'A' && *sc.p <= 'Z')
				return syntax(&sc, "setting names are lower "
						   "case, found '%c'", *sc.p);
			return syntax(&sc, "expected a setting name, found %s",
				      found(&sc, buf, sizeof(buf)));
		}
		start = sc.p;
		while (is_ident_char(scan_peek(&sc)))
			sc.p++;
		kend = sc.p;
		line = sc.line;
		skip_blanks(&sc, false);
		if (scan_peek(&sc) == '=') {
			add = false;
			sc.p++;
		} else if (scan_peek(&sc) == '+' && sc.p + 1 < sc.end &&
			   sc.p[1] == '=') {
			add = true;
			sc.p += 2;
		} else {
			return syntax(&sc, "expected '=' or '+=' after '%.*s', "
					   "found %s",
				      (int)(kend - start > 64 ? 64 : kend - start),
				      start, found(&sc, buf, sizeof(buf)));
		}
		skip_blanks(&sc, false);
		rc = scan_value(&sc, 0, &v);
		if (rc)
			return rc;
		key = strndup(start, kend - start);
		if (!key) {
			value_free(v);
			return -ENOMEM;
		}
		skip_blanks(&sc, false);
		if (scan_peek(&sc) >= 0 && *sc.p != '\n' && *sc.p != ';') {
			rc = syntax(&sc, "expected end of line after the value "
					 "of '%.64s', found %s", key,
				    found(&sc, buf, sizeof(buf)));
			free(key);
			value_free(v);
			return rc;
		}
		rc = tree_set(&sc, t, key, add, v, line);
		if (rc) {
			free(key);
			value_free(v);
			return rc;
		}
	}
}

int cfg_read_file(const char *path, char **text, size_t *len,
		  struct enso_error *err)
{
	struct stat st;
	size_t got = 0;
	char *buf = NULL;
	int fd, rc;
	ssize_t r;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		exl_fail(err, -EINVAL, "%s: cannot open: %s", path, strerror(-rc));
		return rc;
	}
	if (fstat(fd, &st) < 0) {
		rc = -errno;
		exl_fail(err, -EINVAL, "%s: cannot stat: %s", path, strerror(-rc));
		goto out;
	}
	if (S_ISDIR(st.st_mode)) {
		rc = exl_fail(err, -EINVAL, "%s: is a directory, not a config file", path);
		goto out;
	}
	buf = malloc(CFG_MAX_FILE_SIZE + 1);
	if (!buf) {
		rc = -ENOMEM;
		goto out;
	}
	for (;;) {
		r = read(fd, buf + got, CFG_MAX_FILE_SIZE + 1 - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = -errno;
			exl_fail(err, -EINVAL, "%s: cannot read: %s", path, strerror(-rc));
			goto out;
		}
		if (r == 0)
			break;
		got += r;
		if (got > CFG_MAX_FILE_SIZE) {
			rc = exl_fail(err, -EINVAL, "%s: file too large (a config is at "
				      "most %d bytes)", path, CFG_MAX_FILE_SIZE);
			goto out;
		}
	}
	buf[got] = '\0';
	*text = buf;
	*len = got;
	buf = NULL;
	rc = 0;
out:
	free(buf);
	close(fd);
	return rc;
}

/* ---- typed access --------------------------------------------------------- */

static const char *kind_name(enum cfg_kind k)
{
	return k == CFG_LIST ? "a list" : k == CFG_NUMBER ? "a number"
							  : "a string";
}

int cfg_want_string(const struct cfg_setting *s, const struct cfg_value *v,
		    const char *what, char **out, struct enso_error *err)
{
	if (v->kind == CFG_LIST)
		return exl_fail(err, -EINVAL, "%s:%d: %s: expected a string, found a list",
				s->source, v == s->value ? s->line : v->line,
				what);
	*out = strdup(v->text);
	return *out ? 0 : -ENOMEM;
}

int cfg_want_number(const struct cfg_setting *s, const struct cfg_value *v,
		    const char *what, long long min, long long max,
		    long long *out, struct enso_error *err)
{
	int line = v == s->value ? s->line : v->line;
	char *end;
	long long n;

	if (v->kind == CFG_LIST)
		return exl_fail(err, -EINVAL, "%s:%d: %s: expected a number, found a list",
				s->source, line, what);
	errno = 0;
	n = strtoll(v->text, &end, 0);
	if (v->kind == CFG_NUMBER && (*end || !v->text[0]))
		return exl_fail(err, -EINVAL, "%s:%d: %s: '%.64s' is not a number "
				"(decimal, 0x hex or 0 octal)", s->source, line,
				what, v->text);
	if (!v->text[0] || *end || v->text[0] == ' ' || v->text[0] == '\t')
		return exl_fail(err, -EINVAL, "%s:%d: %s: expected a number, found %s "
				"\"%.64s\"", s->source, line, what,
				kind_name(v->kind), v->text);
	if (errno == ERANGE || n < min || n > max)
		return exl_fail(err, -EINVAL, "%s:%d: %s: %.64s is out of range (%lld to "
				"%lld)", s->source, line, what, v->text, min, max);
	*out = n;
	return 0;
}

int cfg_want_string_list(const struct cfg_setting *s, bool lone_ok,
			 char ***out, size_t *n, struct enso_error *err)
{
	const struct cfg_value *v = s->value;
	char **strs;
	size_t i;
	int rc;

	*out = NULL;
	*n = 0;
	if (v->kind != CFG_LIST) {
		if (!lone_ok)
			return exl_fail(err, -EINVAL, "%s:%d: %s: expected a list, found "
					"%s", s->source, s->line, s->key,
					kind_name(v->kind));
		strs = calloc(1, sizeof(*strs));
		if (!strs || !(strs[0] = strdup(v->text))) {
			free(strs);
			return -ENOMEM;
		}
		*out = strs;
		*n = 1;
		return 0;
	}
	strs = calloc(v->nitems + 1, sizeof(*strs));
	if (!strs)
		return -ENOMEM;
	for (i = 0; i < v->nitems; i++) {
		const struct cfg_value *it = v->items[i];

		if (it->kind == CFG_LIST) {
			rc = exl_fail(err, -EINVAL, "%s:%d: %s: item %zu: expected a "
				      "string, found a list", s->source,
				      it->line, s->key, i + 1);
			exl_strv_free(strs, i);
			return rc;
		}
		strs[i] = strdup(it->text);
		if (!strs[i]) {
			exl_strv_free(strs, i);
			return -ENOMEM;
		}
	}
	*out = strs;
	*n = v->nitems;
	return 0;
}
