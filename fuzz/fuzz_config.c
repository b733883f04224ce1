/* fuzz_config.c - libFuzzer target for the config parser: any text either fails with a message
 * or loads, and a loaded config must write out and load back to the identical struct. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "salient/config.h"

/* Write c, load the text into fresh defaults, and abort unless the result is c byte for byte
 * (defaults zero the struct first, so padding and string tails compare equal too). */
static void check_round_trip(const sal_config *c) {
    char *text = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&text, &n);
    if (!f) abort();
    if (sal_config_write(c, f) != 0) abort();
    fclose(f);
    sal_config back;
    sal_config_defaults(&back);
    sal_err err;
    if (sal_config_load_string(&back, text, "written", &err) != SAL_OK) {
        fprintf(stderr, "written config does not reload: %s\n%s\n", err.msg, text);
        abort();
    }
    if (memcmp(c, &back, sizeof back) != 0) {
        fprintf(stderr, "written config reloads differently:\n%s\n", text);
        abort();
    }
    free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *text = malloc(size + 1);
    if (!text) return 0;
    memcpy(text, data, size);
    text[size] = '\0';

    sal_config c;
    sal_err err;
    sal_config_defaults(&c);
    sal_status st = sal_config_load_string(&c, text, "fuzz.ini", &err);
    if (st == SAL_OK) {
        check_round_trip(&c);
        (void)sal_config_validate(&c, &err);
    } else if (st != SAL_ECONFIG || !memchr(err.msg, '\0', sizeof err.msg) || !err.msg[0]) {
        abort(); /* text can only be a bad config, and the message must be set */
    }

    /* The same bytes as one --set override: values that arrive this way skip inih, so they are
     * the ones most likely to write text that inih reads back differently. */
    sal_config_defaults(&c);
    st = sal_config_set(&c, text, &err);
    if (st == SAL_OK) check_round_trip(&c);
    else if (st != SAL_ECONFIG || !err.msg[0]) abort();

    free(text);
    return 0;
}
