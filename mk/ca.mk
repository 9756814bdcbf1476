# The enterprise CA (issue 5): home, key, templates, accounts, the request
# queue, issuance, revocation, CRL (ca.c), template policy and password
# hashing (ca_policy.c), and every SQL statement of the CA (ca_db.c).
LIB_SRCS    += lib/ca.c lib/ca_policy.c lib/ca_db.c
UNIT_TESTS  += ca
