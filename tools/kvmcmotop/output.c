// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * output.c - batch frames (-b): plain text like `top -b`, one JSON object per
 * frame (-j), CSV rows like `kvm_stat -c` (-c).
 *
 * Text and CSV show what the screen shows: rates per second, or totals
 * since start with -t.  JSON always carries both windows ("interval" counts
 * and their "rate", and "total"), so a script never has to choose.
 */
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "top.h"

static const char *kind_name(int kind)
{
	return kind >= 0 && kind < TOP_NK ? kvmcmo_kind_label[kind] : "?";
}

static void stamp(char *buf, size_t len, time_t t)
{
	struct tm tm;

	if (!localtime_r(&t, &tm) || !strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm))
		snprintf(buf, len, "%lld", (long long)t);
}

/* the header of a counted or latency column; the focus column is the kind */
static const char *col_header(int c, int kind, char *buf, size_t len)
{
	if (c != TOP_COL_FOCUS)
		return top_cols[c].header;
	snprintf(buf, len, "%s", kind_name(kind));
	for (char *p = buf; *p; p++)
		*p = toupper((unsigned char)*p);
	return buf;
}

/* a cell of batch text: exact where it counts */
static void cell(char *buf, size_t len, const struct top_row *r, int c, bool totals, double dt)
{
	switch (c) {
	case TOP_COL_NAME:
		snprintf(buf, len, "%s", r->name);
		break;
	case TOP_COL_PID:
		if (r->pid)
			snprintf(buf, len, "%u", r->pid);
		else
			snprintf(buf, len, "-");
		break;
	case TOP_COL_VCPUS:
		snprintf(buf, len, "%u", r->vcpus);
		break;
	case TOP_COL_P50:
	case TOP_COL_P99:
		top_fmt_ns(buf, len, (__u64)top_row_value(r, c, totals, dt), 6);
		break;
	case TOP_COL_ERRORS:
		snprintf(buf, len, "%llu", (unsigned long long)r->tot.n[c - TOP_C0]);
		break;
	default:
		if (totals)
			snprintf(buf, len, "%llu",
				 (unsigned long long)(r->tot.n[c - TOP_C0]));
		else
			snprintf(buf, len, "%.1f", top_row_value(r, c, false, dt));
	}
}

int top_print_text(FILE *f, const struct top_frame *fr, const struct top_view_opts *o,
		   const struct top_out_info *in)
{
	int w[TOP_COL__COUNT];
	char ts[32], buf[160], hb[16];
	size_t i;

	stamp(ts, sizeof(ts), in->now);
	fprintf(f, "kvmcmotop %s  %s  %s  every %.1f s  %s  kind %s%s\n", KVMCMO_VERSION, ts,
		in->source, in->interval,
		o->totals ? "totals since start" : "rates per second", kind_name(o->kind),
		in->final ? "  (last, partial interval)" : "");
	fprintf(f, "VMs: %zu shown, %zu seen (%zu alive)", fr->nrows, fr->nvms, fr->nalive);
	if (o->totals)
		fprintf(f, "  since %.1f s\n", fr->since);
	else
		fprintf(f, "  interval %.2f s\n", fr->dt);
	for (int c = 0; c < TOP_COL__COUNT; c++) {
		w[c] = (int)strlen(col_header(c, o->kind, hb, sizeof(hb)));
		for (i = 0; i <= fr->nrows; i++) {
			const struct top_row *r = i < fr->nrows ? &fr->rows[i] : &fr->total;
			int n;

			cell(buf, sizeof(buf), r, c, o->totals, fr->dt);
			n = (int)strlen(buf);
			if (n > w[c])
				w[c] = n;
		}
	}
	for (int c = 0; c < TOP_COL__COUNT; c++)
		fprintf(f, c ? " %*s" : "%-*s", w[c], col_header(c, o->kind, hb, sizeof(hb)));
	fputc('\n', f);
	for (i = 0; i <= fr->nrows; i++) {
		const struct top_row *r = i < fr->nrows ? &fr->rows[i] : &fr->total;

		for (int c = 0; c < TOP_COL__COUNT; c++) {
			cell(buf, sizeof(buf), r, c, o->totals, fr->dt);
			if (r == &fr->total && c == TOP_COL_PID)
				snprintf(buf, sizeof(buf), "-");
			fprintf(f, c ? " %*s" : "%-*s", w[c], buf);
		}
		fputc('\n', f);
	}
	for (int s = 0; s < KVMCMO_STAT__COUNT; s++)
		if (fr->stats[s])
			fprintf(f, "warning: %s: %llu\n", kvmcmo_stat_label[s],
				(unsigned long long)fr->stats[s]);
	fputc('\n', f);
	return ferror(f) ? -EIO : 0;
}

/* ---- JSON ---------------------------------------------------------------- */

static json_t *ju64(__u64 v)
{
	return json_integer(v > INT64_MAX ? INT64_MAX : (json_int_t)v);
}

/* jansson takes only UTF-8; a VMM's argv is any bytes: those become '?' */
static json_t *name_json(const char *name)
{
	json_t *j = json_string(name);
	char buf[sizeof(((struct top_row *)0)->name)];
	size_t i;

	if (j)
		return j;
	for (i = 0; name[i] && i < sizeof(buf) - 1; i++)
		buf[i] = (unsigned char)name[i] < 0x80 ? name[i] : '?';
	buf[i] = 0;
	return json_string(buf);
}

static json_t *win_json(const struct top_win *w)
{
	json_t *o = json_object();

	for (int c = TOP_C0; o && c < TOP_C0 + TOP_NCOUNT; c++)
		json_object_set_new(o, top_cols[c].json, ju64(w->n[c - TOP_C0]));
	if (o) {
		json_object_set_new(o, "p50_ns", ju64(w->p50));
		json_object_set_new(o, "p99_ns", ju64(w->p99));
	}
	return o;
}

static json_t *rate_json(const struct top_win *w, double dt)
{
	json_t *o = json_object();

	for (int c = TOP_C0; o && c < TOP_C0 + TOP_NCOUNT; c++)
		json_object_set_new(o, top_cols[c].json,
				    json_real(dt > 0 ? (double)w->n[c - TOP_C0] / dt : 0));
	return o;
}

static json_t *row_json(const struct top_row *r, double dt, bool total)
{
	json_t *o = json_object();

	if (!o)
		return NULL;
	if (!total) {
		json_object_set_new(o, "id", ju64(r->id));
		json_object_set_new(o, "pid", ju64(r->pid));
		json_object_set_new(o, "fd", json_integer(r->fd));
		json_object_set_new(o, "name", name_json(r->name));
		json_object_set_new(o, "alive", json_boolean(r->alive));
	}
	json_object_set_new(o, "vcpus", ju64(r->vcpus));
	json_object_set_new(o, "interval", win_json(&r->iv));
	json_object_set_new(o, "rate", rate_json(&r->iv, dt));
	json_object_set_new(o, "total", win_json(&r->tot));
	return o;
}

int top_print_json(FILE *f, const struct top_frame *fr, const struct top_view_opts *o,
		   const struct top_out_info *in)
{
	json_t *root = json_object(), *vms = json_array(), *st = json_object();
	char ts[32], *txt;
	int err = 0;

	if (!root || !vms || !st) {
		json_decref(root);
		json_decref(vms);
		json_decref(st);
		return -ENOMEM;
	}
	stamp(ts, sizeof(ts), in->now);
	json_object_set_new(root, "time", json_string(ts));
	json_object_set_new(root, "source", json_string(in->source));
	json_object_set_new(root, "kind", json_string(kind_name(o->kind)));
	json_object_set_new(root, "mode", json_string(o->totals ? "totals" : "rates"));
	json_object_set_new(root, "interval_s", json_real(fr->dt));
	json_object_set_new(root, "since_s", json_real(fr->since));
	json_object_set_new(root, "final", json_boolean(in->final));
	json_object_set_new(root, "vms_seen", ju64(fr->nvms));
	json_object_set_new(root, "vms_alive", ju64(fr->nalive));
	for (size_t i = 0; i < fr->nrows; i++)
		if (json_array_append_new(vms, row_json(&fr->rows[i], fr->dt, false)))
			err = -ENOMEM;
	json_object_set_new(root, "vms", vms);
	json_object_set_new(root, "total", row_json(&fr->total, fr->dt, true));
	for (int s = 0; s < KVMCMO_STAT__COUNT; s++)
		json_object_set_new(st, kvmcmo_stat_label[s], ju64(fr->stats[s]));
	json_object_set_new(root, "stats", st);
	txt = err ? NULL : json_dumps(root, JSON_COMPACT);
	json_decref(root);
	if (!txt)
		return -ENOMEM;
	fprintf(f, "%s\n", txt);
	free(txt);
	return ferror(f) ? -EIO : 0;
}

/* ---- CSV ----------------------------------------------------------------- */

/* RFC 4180: quoted when it holds a comma, quote or line break */
static void csv_str(FILE *f, const char *s)
{
	if (!strpbrk(s, ",\"\r\n")) {
		fputs(s, f);
		return;
	}
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

static void csv_row(FILE *f, const char *ts, const struct top_row *r, bool total,
		    const struct top_view_opts *o, double dt)
{
	fprintf(f, "%s,", ts);
	csv_str(f, r->name);
	if (total)
		fprintf(f, ",,,,%u", r->vcpus);
	else
		fprintf(f, ",%u,%d,%d,%u", r->pid, r->fd, r->alive, r->vcpus);
	for (int c = TOP_C0; c < TOP_C0 + TOP_NCOUNT; c++) {
		if (o->totals || c == TOP_COL_ERRORS)
			fprintf(f, ",%llu", (unsigned long long)r->tot.n[c - TOP_C0]);
		else
			fprintf(f, ",%.3f", top_row_value(r, c, false, dt));
	}
	fprintf(f, ",%llu,%llu\n", (unsigned long long)(o->totals ? r->tot.p50 : r->iv.p50),
		(unsigned long long)(o->totals ? r->tot.p99 : r->iv.p99));
}

int top_print_csv(FILE *f, const struct top_frame *fr, const struct top_view_opts *o,
		  const struct top_out_info *in, bool header)
{
	const char *k = kind_name(o->kind);
	char ts[32];

	if (header) {
		fprintf(f, "timestamp,name,pid,fd,alive,vcpus,aborts");
		fprintf(f, ",%s", k);
		for (int c = TOP_COL_FOCUS + 1; c < TOP_C0 + TOP_NCOUNT; c++)
			fprintf(f, ",%s_%s", k, top_cols[c].json);
		fprintf(f, ",p50_ns,p99_ns\n");
	}
	stamp(ts, sizeof(ts), in->now);
	for (size_t i = 0; i < fr->nrows; i++)
		csv_row(f, ts, &fr->rows[i], false, o, fr->dt);
	csv_row(f, ts, &fr->total, true, o, fr->dt);
	return ferror(f) ? -EIO : 0;
}
