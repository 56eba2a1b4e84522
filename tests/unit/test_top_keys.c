// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_top_keys.c - kvmcmotop's key map (tools/kvmcmotop/keys.c) without a
 * terminal: every key of the help screen changes the state it says, the
 * prompts accept and refuse what they should, the selection follows its
 * VM across re-sorts and stays on screen.  (The real screen is driven
 * through tmux in tests/vm/suite-kvmcmotop.sh.)
 */
#include <curses.h>
#include <string.h>

#include "test.h"
#include "../../tools/kvmcmotop/top.h"

static struct top_row rows[30];
static struct top_frame frame = { .rows = rows, .nrows = 30 };

static void setup(struct top_ui *ui)
{
	top_ui_init(ui);
	for (int i = 0; i < 30; i++) {
		rows[i].id = 100 + i;
		snprintf(rows[i].name, sizeof(rows[i].name), "vm%02d", i);
	}
	frame.nrows = 30;
	top_ui_follow(ui, &frame, 10);
}

static void type(struct top_ui *ui, const char *s)
{
	for (; *s; s++)
		top_ui_key(ui, (unsigned char)*s, &frame, 10, 0);
}

TEST(defaults)
{
	struct top_ui ui;

	setup(&ui);
	ASSERT_EQ(ui.view.sort, TOP_COL_FOCUS, "sorted by the CMO column");
	ASSERT_EQ(ui.view.ascending, 0, "most first");
	ASSERT_EQ(ui.view.kind, KVMCMO_KIND_CMO, "cmo");
	ASSERT_EQ(ui.view.totals, 0, "rates");
	ASSERT_EQ(ui.screen, TOP_SCR_MAIN, "main screen");
	ASSERT_EQ(ui.sel_id, 100, "first row selected");
	top_ui_fini(&ui);
}

TEST(toggles)
{
	struct top_ui ui;

	setup(&ui);
	type(&ui, "t");
	ASSERT_EQ(ui.view.totals, 1, "t: totals");
	type(&ui, "t");
	ASSERT_EQ(ui.view.totals, 0, "t again: rates");
	type(&ui, "k");
	ASSERT_EQ(ui.view.kind, KVMCMO_KIND_S1PTW, "k: next kind");
	type(&ui, "kkkk");
	ASSERT_EQ(ui.view.kind, KVMCMO_KIND_CMO, "k wraps around");
	type(&ui, "d");
	ASSERT_EQ(ui.view.hide_dead, 1, "d hides destroyed VMs");
	type(&ui, "r");
	ASSERT_EQ(ui.reset, 1, "r asks for a reset");
	ASSERT_STREQ(ui.msg, "totals reset", "and says so");
	type(&ui, "h");
	ASSERT_EQ(ui.screen, TOP_SCR_HELP, "h: help");
	type(&ui, "x");
	ASSERT_EQ(ui.screen, TOP_SCR_MAIN, "any key leaves help");
	ASSERT_EQ(ui.quit, 0, "without quitting");
	type(&ui, "?");
	ASSERT_EQ(ui.screen, TOP_SCR_HELP, "?: help");
	type(&ui, "q");
	ASSERT_EQ(ui.quit, 1, "q quits from help too");
	top_ui_fini(&ui);
}

TEST(sorting_keys)
{
	struct top_ui ui;

	setup(&ui);
	type(&ui, "N");
	ASSERT_EQ(ui.view.sort, TOP_COL_NAME, "N: name");
	ASSERT_EQ(ui.view.ascending, 1, "names a-z");
	type(&ui, "N");
	ASSERT_EQ(ui.view.ascending, 0, "again: z-a");
	type(&ui, "A");
	ASSERT_EQ(ui.view.sort, TOP_COL_ABORTS, "A: aborts");
	ASSERT_EQ(ui.view.ascending, 0, "counts: most first");
	type(&ui, "R");
	ASSERT_EQ(ui.view.ascending, 1, "R reverses");
	type(&ui, ">");
	ASSERT_EQ(ui.view.sort, TOP_COL_FOCUS, "> next column");
	ASSERT_EQ(ui.view.ascending, 0, "with its own default order");
	type(&ui, "<<");
	ASSERT_EQ(ui.view.sort, TOP_COL_VCPUS, "< < two columns left");
	type(&ui, "<<<");
	ASSERT_EQ(ui.view.sort, TOP_COL_P99, "< wraps to the last column");
	for (int c = 0; c < TOP_COL__COUNT; c++) {
		top_ui_key(&ui, top_cols[c].key, &frame, 10, 0);
		ASSERT_EQ(ui.view.sort, c, "key '%c' sorts by %s", top_cols[c].key,
			  top_cols[c].header);
	}
	top_ui_fini(&ui);
}

TEST(filter_prompt)
{
	struct top_ui ui;

	setup(&ui);
	type(&ui, "f");
	ASSERT_EQ(ui.prompt, TOP_PROMPT_FILTER, "f opens the prompt");
	type(&ui, "vm0q");              /* q is text here, not quit */
	ASSERT_EQ(ui.quit, 0, "typing q at a prompt");
	top_ui_key(&ui, KEY_BACKSPACE, &frame, 10, 0);
	top_ui_key(&ui, '[', &frame, 10, 0);
	type(&ui, "12]\n");
	ASSERT_EQ(ui.prompt, TOP_PROMPT_NONE, "Enter closes it");
	ASSERT_STREQ(ui.filter, "vm0[12]", "backspace edited");
	ASSERT_TRUE(ui.view.name_re != NULL, "compiled");
	if (ui.view.name_re) {
		ASSERT_EQ(regexec(ui.view.name_re, "vm01", 0, NULL, 0), 0, "matches vm01");
		ASSERT_TRUE(regexec(ui.view.name_re, "vm03", 0, NULL, 0) != 0, "not vm03");
	}
	/* a bad regex keeps the old filter and says why */
	type(&ui, "f");
	ASSERT_STREQ(ui.buf, "vm0[12]", "the prompt starts from the filter in force");
	top_ui_key(&ui, 21, &frame, 10, 0);     /* Ctrl-U */
	type(&ui, "(\n");
	ASSERT_STREQ(ui.filter, "vm0[12]", "kept");
	ASSERT_TRUE(strstr(ui.msg, "bad regular expression") != NULL, "msg: %s", ui.msg);
	/* Esc cancels; an empty filter clears */
	type(&ui, "fzzz");
	top_ui_key(&ui, 27, &frame, 10, 0);
	ASSERT_STREQ(ui.filter, "vm0[12]", "Esc: unchanged");
	type(&ui, "f");
	top_ui_key(&ui, 21, &frame, 10, 0);
	type(&ui, "\n");
	ASSERT_STREQ(ui.filter, "", "cleared");
	ASSERT_TRUE(ui.view.name_re == NULL, "no regex");
	top_ui_fini(&ui);
}

TEST(pid_and_interval_prompts)
{
	struct top_ui ui;

	setup(&ui);
	type(&ui, "p4242\n");
	ASSERT_EQ(ui.view.pid, 4242, "p: pid filter");
	type(&ui, "p");
	ASSERT_STREQ(ui.buf, "4242", "prompt shows it");
	top_ui_key(&ui, 21, &frame, 10, 0);
	type(&ui, "x1\n");
	ASSERT_EQ(ui.view.pid, 4242, "bad pid ignored");
	ASSERT_TRUE(strstr(ui.msg, "invalid pid") != NULL, "msg: %s", ui.msg);
	type(&ui, "p");
	top_ui_key(&ui, 21, &frame, 10, 0);
	type(&ui, "\n");
	ASSERT_EQ(ui.view.pid, 0, "empty: every pid");

	type(&ui, "s0.5\n");
	ASSERT_TRUE(ui.interval == 0.5, "s: interval %f", ui.interval);
	ASSERT_EQ(ui.interval_changed, 1, "noticed");
	type(&ui, "s0.01\n");
	ASSERT_TRUE(ui.interval == 0.5, "below the minimum: refused");
	ASSERT_TRUE(strstr(ui.msg, "invalid interval") != NULL, "msg: %s", ui.msg);
	type(&ui, "s\n");
	ASSERT_TRUE(ui.interval == 0.5, "empty: unchanged");
	top_ui_fini(&ui);
}

TEST(selection_and_drill_down)
{
	struct top_ui ui;

	setup(&ui);
	top_ui_key(&ui, KEY_DOWN, &frame, 10, 0);
	top_ui_key(&ui, KEY_DOWN, &frame, 10, 0);
	ASSERT_EQ(ui.sel, 2, "two down");
	ASSERT_EQ(ui.sel_id, 102, "its VM");
	top_ui_key(&ui, KEY_NPAGE, &frame, 10, 0);
	ASSERT_EQ(ui.sel, 12, "a page down");
	ASSERT_EQ(ui.first, 3, "scrolled so the selection shows (rows 3..12)");
	top_ui_key(&ui, KEY_END, &frame, 10, 0);
	ASSERT_EQ(ui.sel, 29, "end");
	ASSERT_EQ(ui.first, 20, "last page");
	top_ui_key(&ui, KEY_DOWN, &frame, 10, 0);
	ASSERT_EQ(ui.sel, 29, "stays on the last row");
	top_ui_key(&ui, KEY_HOME, &frame, 10, 0);
	ASSERT_EQ(ui.sel, 0, "home");
	ASSERT_EQ(ui.first, 0, "top");

	/* a re-sort moves the VM: the selection follows it */
	top_ui_key(&ui, KEY_DOWN, &frame, 10, 0);       /* vm01, id 101 */
	{
		struct top_row t = rows[1];

		rows[1] = rows[25];
		rows[25] = t;
	}
	top_ui_follow(&ui, &frame, 10);
	ASSERT_EQ(ui.sel, 25, "follows id 101 to row 25");
	ASSERT_EQ(ui.first, 16, "and scrolls to it");

	top_ui_key(&ui, '\n', &frame, 10, 0);
	ASSERT_EQ(ui.screen, TOP_SCR_DRILL, "Enter: details");
	ASSERT_EQ(ui.drill_id, 101, "of the selected VM");
	top_ui_key(&ui, KEY_NPAGE, &frame, 10, 50);
	ASSERT_EQ(ui.drill_first, 10, "scrolls the details");
	top_ui_key(&ui, KEY_END, &frame, 10, 50);
	ASSERT_EQ(ui.drill_first, 40, "to the last page of 50 lines");
	type(&ui, "t");
	ASSERT_EQ(ui.view.totals, 1, "t works in the details");
	ASSERT_EQ(ui.screen, TOP_SCR_DRILL, "and stays there");
	top_ui_key(&ui, 27, &frame, 10, 50);
	ASSERT_EQ(ui.screen, TOP_SCR_MAIN, "Esc: back");

	/* a shrinking frame clamps the selection */
	frame.nrows = 5;
	top_ui_key(&ui, KEY_END, &frame, 10, 0);
	ASSERT_EQ(ui.sel, 4, "end of 5 rows");
	frame.nrows = 0;
	top_ui_follow(&ui, &frame, 10);
	ASSERT_EQ(ui.sel, 0, "no rows");
	top_ui_key(&ui, '\n', &frame, 10, 0);
	ASSERT_EQ(ui.screen, TOP_SCR_MAIN, "nothing to drill into");
	frame.nrows = 30;
	top_ui_fini(&ui);
}

TEST(column_names)
{
	ASSERT_EQ(top_col_by_name("ABRT"), TOP_COL_ABORTS, "header");
	ASSERT_EQ(top_col_by_name("aborts"), TOP_COL_ABORTS, "json name");
	ASSERT_EQ(top_col_by_name("cmo"), TOP_COL_FOCUS, "the focus column by its default header");
	ASSERT_EQ(top_col_by_name("p99"), TOP_COL_P99, "case-insensitive");
	ASSERT_EQ(top_col_by_name("nope"), -1, "unknown");
	/* an 80-column screen: the columns and one space between each */
	{
		int w = 0;

		for (int c = 0; c < TOP_COL__COUNT; c++)
			w += top_cols[c].width + (c ? 1 : 0);
		ASSERT_EQ(w, 80, "the columns fill 80 characters exactly");
	}
	for (int c = 0; c < TOP_COL__COUNT; c++)
		ASSERT_TRUE((int)strlen(top_cols[c].header) <= top_cols[c].width,
			    "header %s fits", top_cols[c].header);
}

TEST(use_kvmcmod_and_help)
{
	struct top_ui ui;
	int n = 0;

	setup(&ui);
	type(&ui, "u");
	ASSERT_EQ(ui.use_remote, 0, "u without a kvmcmod found does nothing");
	ASSERT_STREQ(ui.msg, "u: no local kvmcmod was found", "but says why");
	ui.offer_remote = true;
	type(&ui, "u");
	ASSERT_EQ(ui.use_remote, 1, "u with one found asks for the switch");
	ASSERT_STREQ(ui.msg, "", "silently (the switch reports)");
	/* the help screen holds every line on 80x24, the key hints line kept */
	for (; top_help_text[n]; n++)
		ASSERT_TRUE(strlen(top_help_text[n]) <= 80, "help line %d fits 80", n);
	ASSERT_TRUE(n <= 23, "help has %d lines: 23 fit above the status line", n);
	top_ui_fini(&ui);
}

static const struct test tests[] = {
	TEST_ENTRY(defaults),
	TEST_ENTRY(toggles),
	TEST_ENTRY(sorting_keys),
	TEST_ENTRY(filter_prompt),
	TEST_ENTRY(pid_and_interval_prompts),
	TEST_ENTRY(selection_and_drill_down),
	TEST_ENTRY(column_names),
	TEST_ENTRY(use_kvmcmod_and_help),
};

int main(void)
{
	return test_run(tests, TEST_COUNT(tests));
}
