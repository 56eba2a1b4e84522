// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * fuzz_recfile.c - libFuzzer harness for the recording reader
 * (tools/kvmcmo/recfile.c) and, on what it accepts, the whole of `kvmcmo
 * diff`: the file compared with itself, --fail-on evaluated, every output
 * (text, JSON, HTML) rendered.  A rejected input must come with one
 * non-empty line naming the file.
 *
 * Built and run by tests/fuzz/run.sh (clang -fsanitize=fuzzer,address,undefined).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diff.h"

static const char *const exprs[] = {
	"cmo.nisv:+10%", "double_faults:>0", "latency.p99:+20%", "aborts:-5",
	"dabt.userspace:>=1", "fault=access_flag:<3",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct diff d = {};
	char err[512];
	FILE *null;

	d.side[0].files = calloc(1, sizeof(struct rec_file));
	d.side[1].files = calloc(1, sizeof(struct rec_file));
	if (!d.side[0].files || !d.side[1].files)
		abort();
	if (rec_parse((const char *)data, size, "fuzz.json", &d.side[0].files[0], err,
		      sizeof(err))) {
		if (!err[0] || strchr(err, '\n') || strncmp(err, "fuzz.json: ", 11))
			abort();        /* the one-line contract */
		free(d.side[0].files);
		free(d.side[1].files);
		return 0;
	}
	/* the same file on both sides, as diff_load would lay it out */
	if (rec_parse((const char *)data, size, "fuzz.json", &d.side[1].files[0], err,
		      sizeof(err)))
		abort();                /* parsing is deterministic */
	for (int s = 0; s < 2; s++) {
		struct rec_file *f = &d.side[s].files[0];

		d.side[s].nfiles = 1;
		d.side[s].all_command = !strcmp(f->mode, "command");
		d.side[s].samples = calloc(f->nsamples, sizeof(struct diff_sample));
		if (!d.side[s].samples)
			abort();
		for (size_t i = 0; i < f->nsamples; i++)
			d.side[s].samples[d.side[s].n++] = (struct diff_sample){
				.s = &f->samples[i], .file = f, .index = i,
				.seconds = (double)f->samples[i].duration_ns / 1e9 };
	}
	if (!diff_compute(&d, &(struct diff_opts){ .alpha = 0.01 })) {
		json_t *fails = json_array(), *j;

		/* identical sides: nothing may be flagged */
		if (d.flagged)
			abort();
		for (size_t i = 0; i < sizeof(exprs) / sizeof(exprs[0]); i++) {
			struct failon *f = failon_parse(exprs[i], err, sizeof(err));

			if (!f)
				abort();
			failon_eval(f, &d, fails, err, sizeof(err));
			failon_free(f);
		}
		null = fopen("/dev/null", "w");
		if (null) {
			diff_print_text(null, &d, false, fails);
			fclose(null);
		}
		j = diff_json(&d, fails);
		free(json_dumps(j, JSON_COMPACT));
		json_decref(j);
		diff_write_html("/dev/null", &d, fails, 0);
		json_decref(fails);
	}
	diff_free(&d);
	return 0;
}
