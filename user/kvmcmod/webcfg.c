// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * webcfg.c - --web.config.file, in the format of the Prometheus exporter
 * toolkit (the part of it kvmcmod implements):
 *
 *   tls_server_config:
 *     cert_file: server.crt        # PEM; relative paths: from the file's dir
 *     key_file: server.key
 *   basic_auth_users:
 *     alice: $2y$10$...            # crypt(3) hash (bcrypt, as htpasswd -B)
 *
 * Parsed with libyaml's document API.  Any other key is an error (a typo
 * must not silently turn TLS or authentication off).
 */
#include <crypt.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "kvmcmod.h"

static char *slurp(const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t cap = 0;
	ssize_t n;

	if (!f) {
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
		return NULL;
	}
	n = getdelim(&buf, &cap, '\0', f);
	fclose(f);
	if (n < 0) {
		free(buf);
		snprintf(err, errlen, "cannot read %s", path);
		return NULL;
	}
	return buf;
}

static const char *scalar(yaml_document_t *doc, yaml_node_t *n)
{
	(void)doc;
	return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

/* a path relative to the config file's directory */
static char *resolve(const char *dir, const char *p)
{
	char *out;

	if (p[0] == '/' || !dir || !*dir)
		return strdup(p);
	if (asprintf(&out, "%s/%s", dir, p) < 0)
		return NULL;
	return out;
}

int kd_webcfg_parse(const char *text, const char *dir, struct kd_webcfg *c,
		    char *err, size_t errlen)
{
	yaml_parser_t parser;
	yaml_document_t doc;
	yaml_node_t *root;
	int ret = 0;

	memset(c, 0, sizeof(*c));
	if (!yaml_parser_initialize(&parser)) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, strlen(text));
	if (!yaml_parser_load(&parser, &doc)) {
		snprintf(err, errlen, "line %zu: %s", parser.problem_mark.line + 1,
			 parser.problem ? parser.problem : "invalid YAML");
		yaml_parser_delete(&parser);
		return -EINVAL;
	}
	root = yaml_document_get_root_node(&doc);
	if (root && root->type != YAML_MAPPING_NODE) {
		snprintf(err, errlen, "the top level must be a mapping");
		ret = -EINVAL;
		goto out;
	}
	for (yaml_node_pair_t *p = root ? root->data.mapping.pairs.start : NULL;
	     !ret && p && p < root->data.mapping.pairs.top; p++) {
		const char *key = scalar(&doc, yaml_document_get_node(&doc, p->key));
		yaml_node_t *v = yaml_document_get_node(&doc, p->value);

		if (!key || !v || v->type != YAML_MAPPING_NODE) {
			snprintf(err, errlen, "'%s' must be a mapping", key ? key : "?");
			ret = -EINVAL;
			break;
		}
		for (yaml_node_pair_t *q = v->data.mapping.pairs.start;
		     !ret && q < v->data.mapping.pairs.top; q++) {
			const char *k = scalar(&doc, yaml_document_get_node(&doc, q->key));
			const char *val = scalar(&doc, yaml_document_get_node(&doc, q->value));
			char **file = NULL;

			if (!k || !val || !*val) {
				snprintf(err, errlen, "%s: every entry needs a value", key);
				ret = -EINVAL;
			} else if (!strcmp(key, "tls_server_config")) {
				if (!strcmp(k, "cert_file"))
					file = &c->cert_pem;
				else if (!strcmp(k, "key_file"))
					file = &c->key_pem;
				else {
					snprintf(err, errlen, "tls_server_config: unsupported key '%s' "
						 "(cert_file, key_file)", k);
					ret = -EINVAL;
				}
				if (file) {
					char *path = resolve(dir, val);

					free(*file);
					*file = path ? slurp(path, err, errlen) : NULL;
					if (!*file)
						ret = path ? -EINVAL : -ENOMEM;
					free(path);
				}
			} else if (!strcmp(key, "basic_auth_users")) {
				if (c->nusers >= KD_MAX_USERS) {
					snprintf(err, errlen, "basic_auth_users: at most %d users",
						 KD_MAX_USERS);
					ret = -EINVAL;
				} else if (val[0] != '$') {
					snprintf(err, errlen, "basic_auth_users: %s: not a crypt(3) hash "
						 "(use htpasswd -nBC 10 \"\" | tr -d ':\\n')", k);
					ret = -EINVAL;
				} else {
					c->users[c->nusers].user = strdup(k);
					c->users[c->nusers].hash = strdup(val);
					c->nusers++;
				}
			} else {
				snprintf(err, errlen, "unsupported key '%s' (tls_server_config, "
					 "basic_auth_users)", key);
				ret = -EINVAL;
			}
		}
	}
	if (!ret && !c->cert_pem != !c->key_pem) {
		snprintf(err, errlen, "tls_server_config needs both cert_file and key_file");
		ret = -EINVAL;
	}
out:
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	if (ret)
		kd_webcfg_free(c);
	return ret;
}

int kd_webcfg_load(const char *path, struct kd_webcfg *c, char *err, size_t errlen)
{
	char *text = slurp(path, err, errlen), *dir, *slash;
	int ret;

	if (!text)
		return -ENOENT;
	dir = strdup(path);
	slash = dir ? strrchr(dir, '/') : NULL;
	if (slash)
		*slash = 0;
	ret = kd_webcfg_parse(text, slash ? dir : ".", c, err, errlen);
	free(dir);
	free(text);
	return ret;
}

void kd_webcfg_free(struct kd_webcfg *c)
{
	free(c->cert_pem);
	free(c->key_pem);
	for (int i = 0; i < c->nusers; i++) {
		free(c->users[i].user);
		free(c->users[i].hash);
	}
	memset(c, 0, sizeof(*c));
}

int kd_webcfg_auth(const struct kd_webcfg *c, const char *user, const char *pass)
{
	for (int i = 0; i < c->nusers; i++) {
		struct crypt_data data;
		const char *h;
		size_t n;
		int diff = 0;

		if (strcmp(c->users[i].user, user))
			continue;
		memset(&data, 0, sizeof(data));
		h = crypt_r(pass, c->users[i].hash, &data);
		if (!h || h[0] == '*')
			return 0;
		n = strlen(c->users[i].hash);
		if (strlen(h) != n)
			return 0;
		for (size_t j = 0; j < n; j++)     /* no early exit on a mismatch */
			diff |= h[j] ^ c->users[i].hash[j];
		return !diff;
	}
	return 0;
}
