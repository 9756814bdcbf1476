/* fuzz_topology.c: a topology document from anywhere (cscert topology
 * publish FILE), then every use's names on every server it lists.
 * Invariants: parse either refuses with a message or gives a topology
 * whose normalized JSON parses again to the same JSON; names_compute
 * never crashes and every name it gives passes the FQDN check
 * (wildcards allowed: --domain-name may add one). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cscert/error.h"
#include "cscert/names.h"
#include "cscert/topology.h"
#include "fuzz.h"

static void names_of(const cscert_topology *t, const char *fqdn)
{
    unsigned bit;
    int all;

    for (bit = 1; bit < (1u << CSCERT_USE_COUNT); bit <<= 1)
        for (all = 0; all < 2; all++) {
            cscert_names n = {0};
            size_t i;

            if (cscert_names_compute(&n, t, fqdn, bit, all, NULL) == CSCERT_OK) {
                FUZZ_ASSERT(n.n > 0);
                for (i = 0; i < n.n; i++) {
                    char norm[254];

                    FUZZ_ASSERT(cscert_fqdn_check(norm, n.v[i].name, 1, "name") == CSCERT_OK);
                    FUZZ_ASSERT(n.v[i].rule != NULL);
                }
            } else {
                FUZZ_ASSERT(cscert_error_last()[0] != '\0');
            }
            cscert_names_clear(&n);
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cscert_topology *t = NULL, *t2 = NULL;
    char *json = NULL, *json2 = NULL;
    size_t p, s;

    if (cscert_topology_parse(&t, (const char *)data, size, "fuzz.json") < 0) {
        FUZZ_ASSERT(t == NULL);
        FUZZ_ASSERT(cscert_error_last()[0] != '\0');
        return 0;
    }
    FUZZ_ASSERT(t != NULL);
    FUZZ_ASSERT(cscert_topology_to_json(&json, t) == CSCERT_OK);
    FUZZ_ASSERT(cscert_topology_parse(&t2, json, strlen(json), "normalized") == CSCERT_OK);
    FUZZ_ASSERT(cscert_topology_to_json(&json2, t2) == CSCERT_OK);
    FUZZ_ASSERT(strcmp(json, json2) == 0);
    for (p = 0; p < t->n_pools && p < 8; p++)
        for (s = 0; s < t->pools[p].n_servers && s < 4; s++)
            names_of(t, t->pools[p].servers[s]);
    names_of(t, "nobody.example.net");
    free(json);
    free(json2);
    cscert_topology_free(t);
    cscert_topology_free(t2);
    return 0;
}
