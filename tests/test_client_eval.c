/* test_client_eval.c - the per-client test split against counts worked out by hand: proportional
 * floors, the remainder to the lowest client ids, index order within a class, a class no client
 * trained on spread evenly, and every test sample used exactly once. */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "salient/client_eval.h"

int main(void) {
    /* 3 clients, 3 classes. Training counts [client][class]:
     *   c0: 6 of class 0, 0 of 1      c1: 3 of 0, 4 of 1      c2: 1 of 0, 4 of 1; class 2: none */
    uint8_t train_y[18] = {0, 0, 0, 0, 0, 0, /* c0 */ 0, 0, 0, 1, 1, 1, 1, /* c1 */ 0, 1, 1, 1, 1};
    int offset[4] = {0, 6, 13, 18}, index[18];
    for (int i = 0; i < 18; i++) index[i] = i;
    sal_partition part = {.clients = 3, .offset = offset, .index = index};
    /* test: class 0 at 0..6 (7), class 1 at 7..11 (5), class 2 at 12..15 (4), interleaved a bit */
    uint8_t test_y[16] = {0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 2, 2, 2, 2};
    sal_client_tests t;
    sal_err err;
    CHECK(sal_client_tests_make(&t, &part, train_y, test_y, 16, 3, &err) == SAL_OK);
    /* class 0, 7 samples by 6:3:1 of 10: floors 4, 2, 0 (6), the 1 left to client 0: 5, 2, 0
     * class 1, 5 samples by 0:4:4 of 8: floors 0, 2, 2 (4), 1 left to client 0: 1, 2, 2
     * class 2, 4 samples, nobody trained on it: 4 / 3 = 1 each, 1 left to client 0: 2, 1, 1 */
    const int want[3][3] = {{5, 1, 2}, {2, 2, 1}, {0, 2, 1}};
    int seen[16] = {0};
    for (int c = 0; c < 3; c++) {
        int got[3] = {0};
        for (int i = t.offset[c]; i < t.offset[c + 1]; i++) got[test_y[t.index[i]]]++, seen[t.index[i]]++;
        for (int k = 0; k < 3; k++)
            CHECK_MSG(got[k] == want[c][k], "client %d class %d: %d, want %d", c, k, got[k], want[c][k]);
    }
    for (int i = 0; i < 16; i++) CHECK_MSG(seen[i] == 1, "test sample %d used %d times", i, seen[i]);
    /* index order within a class: client 0 gets class 0's first five, client 1 the next two */
    CHECK(t.index[t.offset[0]] == 0 && t.index[t.offset[0] + 4] == 4);
    CHECK(t.index[t.offset[1]] == 5 && t.index[t.offset[1] + 1] == 6);
    CHECK(t.offset[3] == 16);
    /* accuracies from hits: every sample right but 0, 5 and 12 (client 0: 0 and 12 of its 8;
     * client 1: 5 of its 5; client 2: none of its 3) */
    uint8_t hit[16];
    for (int i = 0; i < 16; i++) hit[i] = i != 0 && i != 5 && i != 12;
    double sum = -1, min = -1, acc[3];
    int count = -1;
    for (int c = 0; c < 3; c++) {
        long right = 0;
        for (int i = t.offset[c]; i < t.offset[c + 1]; i++) right += hit[t.index[i]];
        acc[c] = (double)right / (t.offset[c + 1] - t.offset[c]);
    }
    CHECK(acc[0] == 6.0 / 8 && acc[1] == 4.0 / 5 && acc[2] == 1.0);
    sal_client_acc(&t, hit, 0, 3, &sum, &min, &count);
    CHECK_MSG(count == 3 && sum == acc[0] + acc[1] + acc[2] && min == acc[0],
              "all clients: sum %g min %g count %d", sum, min, count);
    sal_client_acc(&t, hit, 1, 3, &sum, &min, &count); /* a rank hosting clients 1 and 2 */
    CHECK_MSG(count == 2 && sum == acc[1] + acc[2] && min == acc[1], "clients 1-2: sum %g min %g",
              sum, min);
    min = 7;
    sal_client_acc(&t, hit, 2, 2, &sum, &min, &count); /* no client: nothing counted */
    CHECK(count == 0 && sum == 0 && min == 7);
    sal_client_tests_free(&t);
    sal_client_tests_free(&t); /* twice is fine */
    return sal_test_done("test_client_eval");
}
