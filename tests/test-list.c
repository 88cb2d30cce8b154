/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* common/list.h: the list every daemon list uses (devices, nodes, store
 * sessions and queue), walked both ways after each kind of change. */

#include <check.h>

#include "list.h"
#include "util.h"

typedef struct Item Item;
struct Item {
        int v;
        LIST_FIELDS(Item, items);
};

/* The values head to tail, checking every prev link on the way. */
static void expect(Item *head, const int *want, size_t n) {
        Item *prev = NULL;
        size_t i = 0;

        LIST_FOREACH(items, it, head) {
                ck_assert_uint_lt(i, n);
                ck_assert_int_eq(it->v, want[i]);
                ck_assert_ptr_eq(it->items_prev, prev);
                prev = it;
                i++;
        }
        ck_assert_uint_eq(i, n);
}

START_TEST(test_list) {
        Item it[5] = { { .v = 0 }, { .v = 1 }, { .v = 2 }, { .v = 3 }, { .v = 4 } };
        LIST_HEAD(Item, head) = NULL;
        Item *tail = NULL;

        LIST_PREPEND(items, head, &it[1]);
        LIST_PREPEND(items, head, &it[0]);
        expect(head, (int[]) { 0, 1 }, 2);
        LIST_APPEND(items, head, &it[3]);
        expect(head, (int[]) { 0, 1, 3 }, 3);
        LIST_INSERT_AFTER(items, head, &it[1], &it[2]);
        expect(head, (int[]) { 0, 1, 2, 3 }, 4);
        LIST_INSERT_AFTER(items, head, &it[3], &it[4]);
        expect(head, (int[]) { 0, 1, 2, 3, 4 }, 5);

        LIST_REMOVE(items, head, &it[2]);       /* middle */
        expect(head, (int[]) { 0, 1, 3, 4 }, 4);
        LIST_REMOVE(items, head, &it[0]);       /* head */
        expect(head, (int[]) { 1, 3, 4 }, 3);
        LIST_REMOVE(items, head, &it[4]);       /* tail */
        expect(head, (int[]) { 1, 3 }, 2);
        ck_assert_ptr_null(it[4].items_next);
        ck_assert_ptr_null(it[4].items_prev);

        /* Removing every item while walking. */
        LIST_FOREACH_SAFE(items, i, n, head)
                LIST_REMOVE(items, head, i);
        ck_assert_ptr_null(head);

        /* A FIFO with a kept tail, as the store's queue. */
        for (unsigned k = 0; k < 3; k++) {
                LIST_INSERT_AFTER(items, head, tail, &it[k]);
                tail = &it[k];
        }
        expect(head, (int[]) { 0, 1, 2 }, 3);
}
END_TEST

int main(void) {
        Suite *s = suite_create("list");
        TCase *tc = tcase_create("core");
        SRunner *sr;
        int failures;

        tcase_add_test(tc, test_list);
        suite_add_tcase(s, tc);
        sr = srunner_create(s);
        srunner_run_all(sr, CK_NORMAL);
        failures = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failures ? 1 : 0;
}
