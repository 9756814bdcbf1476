# Keys, requests and certificate reading (key, csr, x509): R15's key types
# and hashes, the PKCS#10 request (R1 SANs, R16 EKUs), thumbprints, names.
LIB_SRCS    += lib/key.c lib/csr.c lib/x509.c
UNIT_TESTS  += key csr x509
