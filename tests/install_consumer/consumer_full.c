/* consumer_full.c - a user's program built against the installed whole library
 * (salient::salient): parses a config from a string and validates it. */
#include <stdio.h>

#include "salient/config.h"

int main(void) {
    sal_config cfg;
    sal_err err;
    sal_config_defaults(&cfg);
    sal_status st = sal_config_load_string(&cfg, "[run]\nrounds = 7\n", "inline", &err);
    if (!st) st = sal_config_validate(&cfg, &err);
    if (st) {
        fprintf(stderr, "consumer_full: %s\n", err.msg);
        return 1;
    }
    printf("consumer_full: rounds = %d\n", cfg.rounds);
    return cfg.rounds == 7 ? 0 : 1;
}
