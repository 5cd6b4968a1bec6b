/*
 * yajl's tree parser recurses once per level of nesting and yajl_tree_free
 * frees recursively: a text from outside (QEMU's QMP, a stored or received
 * config) is measured before it is parsed, so that depth is refused, not
 * followed down the stack.
 */
#include "enso-util.h"

bool json_too_deep(const char *text, int max_depth)
{
	bool in_str = false;
	int depth = 0;

	for (const char *p = text; *p; p++) {
		if (in_str) {
			if (*p == '\\' && p[1])
				p++;
			else if (*p == '"')
				in_str = false;
		} else if (*p == '"') {
			in_str = true;
		} else if (*p == '[' || *p == '{') {
			if (++depth > max_depth)
				return true;
		} else if ((*p == ']' || *p == '}') && depth > 0) {
			depth--;
		}
	}
	return false;
}
