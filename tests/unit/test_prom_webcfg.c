// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_prom_webcfg.c - kvmcmod's --web.config.file (user/kvmcmod/webcfg.c):
 * what parses, what is refused with which message, and basic-auth checks
 * against crypt(3) hashes made by Python's crypt module (libxcrypt).
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test.h"
#include "kvmcmod.h"

/* "s3cret", bcrypt cost 4 and SHA-512 crypt */
#define BCRYPT "$2b$04$NeuzUtOjKP7hElIMeRgJqOLO4uVVPcb2m2rxuAMw2EiFv7ZEurpca"
#define SHA512 "$6$/5gCLrZZyD0gbEk9$i5FvuQfE5w.a81EfvP0nYYW14YlbtOMLFtS5F3oKszL5RGD5NOxjr19v1jGj9sDUBrbcewc6YbG6.ydN8gHYR."

TEST(parse_table)
{
	static const struct {
		const char *yaml;
		int ok;
		int nusers;
		const char *err;        /* a substring of the message */
	} t[] = {
		{ "", 1, 0, NULL },
		{ "basic_auth_users:\n  alice: '" BCRYPT "'\n  bob: '" SHA512 "'\n", 1, 2, NULL },
		{ "basic_auth_users:\n  alice: plain\n", 0, 0, "not a crypt(3) hash" },
		{ "basic_auths:\n  alice: '" BCRYPT "'\n", 0, 0, "unsupported key 'basic_auths'" },
		{ "tls_server_config:\n  cert_file: /nonexistent.crt\n  key_file: /nonexistent.key\n",
		  0, 0, "cannot open /nonexistent.crt" },
		{ "tls_server_config:\n  client_ca_file: x\n", 0, 0, "unsupported key 'client_ca_file'" },
		{ "- a\n- b\n", 0, 0, "top level must be a mapping" },
		{ "basic_auth_users: [a, b]\n", 0, 0, "must be a mapping" },
		{ "basic_auth_users:\n  alice:\n", 0, 0, "needs a value" },
		{ "a: [\n", 0, 0, "line" },
	};

	for (size_t i = 0; i < TEST_COUNT(t); i++) {
		struct kd_webcfg c;
		char err[256] = "";
		int r = kd_webcfg_parse(t[i].yaml, "/", &c, err, sizeof(err));

		ASSERT_EQ(r == 0, t[i].ok, "#%zu: %s", i, err);
		if (r == 0)
			ASSERT_EQ(c.nusers, t[i].nusers, "#%zu", i);
		else
			ASSERT_TRUE(t[i].err && strstr(err, t[i].err), "#%zu: '%s'", i, err);
		kd_webcfg_free(&c);
	}
}

TEST(tls_files_relative_to_the_config)
{
	char dir[] = "/tmp/kvmcmod-webcfg.XXXXXX", path[256], err[256] = "";
	struct kd_webcfg c;
	FILE *f;

	if (!ASSERT_TRUE(mkdtemp(dir) != NULL, "mkdtemp"))
		return;
	snprintf(path, sizeof(path), "%s/c.pem", dir);
	f = fopen(path, "w");
	fputs("CERT\n", f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/k.pem", dir);
	f = fopen(path, "w");
	fputs("KEY\n", f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/web.yml", dir);
	f = fopen(path, "w");
	fputs("tls_server_config:\n  cert_file: c.pem\n  key_file: k.pem\n", f);
	fclose(f);
	ASSERT_EQ(kd_webcfg_load(path, &c, err, sizeof(err)), 0, "%s", err);
	ASSERT_STREQ(c.cert_pem, "CERT\n", "cert read");
	ASSERT_STREQ(c.key_pem, "KEY\n", "key read");
	kd_webcfg_free(&c);
	f = fopen(path, "w");
	fputs("tls_server_config:\n  cert_file: c.pem\n", f);
	fclose(f);
	ASSERT_TRUE(kd_webcfg_load(path, &c, err, sizeof(err)) != 0 &&
		    strstr(err, "both cert_file and key_file"), "%s", err);
	unlink(path);
	snprintf(path, sizeof(path), "%s/c.pem", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/k.pem", dir);
	unlink(path);
	rmdir(dir);
}

TEST(auth_table)
{
	static const struct { const char *user, *pass; int ok; } t[] = {
		{ "alice", "s3cret", 1 },
		{ "bob", "s3cret", 1 },
		{ "alice", "s3cret ", 0 },
		{ "alice", "", 0 },
		{ "carol", "s3cret", 0 },
		{ "", "", 0 },
	};
	struct kd_webcfg c;
	char err[256];

	if (!ASSERT_EQ(kd_webcfg_parse("basic_auth_users:\n  alice: '" BCRYPT "'\n  bob: '"
				       SHA512 "'\n", "/", &c, err, sizeof(err)), 0, "%s", err))
		return;
	for (size_t i = 0; i < TEST_COUNT(t); i++)
		ASSERT_EQ(kd_webcfg_auth(&c, t[i].user, t[i].pass), t[i].ok, "%s:%s",
			  t[i].user, t[i].pass);
	kd_webcfg_free(&c);
}

static const struct test tests[] = {
	TEST_ENTRY(parse_table),
	TEST_ENTRY(tls_files_relative_to_the_config),
	TEST_ENTRY(auth_table),
};

int main(void)
{
	return test_run(tests, TEST_COUNT(tests));
}
