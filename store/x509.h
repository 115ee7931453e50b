/* certvault: X.509 work inside the store (internal to store/).
 *
 * Key generation, CSRs and self-signed certificates from a policy; reading
 * the certificate content users hand to merge and import; writing the
 * secret's content types.  Pure OpenSSL work: nothing here touches LMDB.
 */
#ifndef CV_X509_H
#define CV_X509_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "error.h"
#include "policy.h"

#define CV_KEY_ID_LEN 20 /* SHA-1 */
#define CV_X5T_LEN 27    /* base64url of 20 bytes, no padding */

/* A new key pair of the policy's type and size or curve.
 * Errors: CV_ERR_UNSUPPORTED (a curve this OpenSSL lacks), CV_ERR_CRYPTO. */
cv_err cv_key_generate(const cv_policy *p, EVP_PKEY **out);

/* The CSR for a policy: subject, subjectAltName (DNS, email, UPN as
 * otherName 1.3.6.1.4.1.311.20.2.3, IP, URI), keyUsage and extKeyUsage as
 * requested extensions (and basicConstraints CA:TRUE with the path length
 * for a CA policy), signed with key (SHA-256; SHA-384 for P-384 and
 * SHA-512 for P-521 keys, as for cv_x509_self_sign).
 * With CV_CSR_CN_IN_SAN, a subject CN that reads as a DNS name and is not
 * among dns_names is put first in subjectAltName: ACME CAs take the names
 * to issue for from subjectAltName alone (RFC 8555 7.4).
 * Errors: CV_ERR_BAD_SUBJECT, CV_ERR_POLICY (a SAN or EKU that does not
 * encode; detail names it), CV_ERR_CRYPTO, CV_ERR_NOMEM. */
#define CV_CSR_CN_IN_SAN 0x1u
cv_err cv_x509_build_csr(const cv_policy *p, EVP_PKEY *key, unsigned flags,
			 X509_REQ **out);

/* The self-signed certificate for a policy: a random positive 16-byte
 * serial, notBefore = now, notAfter = now + validity_months, the CSR's
 * extensions, plus basicConstraints (CA:TRUE when the policy is a CA, with
 * its path length, or when keyCertSign is asked),
 * subjectKeyIdentifier and authorityKeyIdentifier.  Errors as above. */
cv_err cv_x509_self_sign(const cv_policy *p, EVP_PKEY *key, time_t now,
			 X509 **out);

/* A certificate for policy p and public key pub, signed by issuer with
 * issuer_key (the vault CA): the policy's subject, SANs, key usage and
 * EKUs; a random positive 20-octet (159-bit) serial; notBefore = now,
 * notAfter = now + validity_months, cut to the issuer's notAfter (*cut set
 * to 1 then); basicConstraints (critical) CA:TRUE with path_length (-1: no
 * pathlen) for a CA policy, else CA:FALSE; subjectKeyIdentifier, and
 * authorityKeyIdentifier the issuer's key id.  Checks nothing of the
 * issuer: the caller has.  *out is the caller's.  Errors: CV_ERR_BAD_SUBJECT,
 * CV_ERR_POLICY, CV_ERR_CRYPTO, CV_ERR_NOMEM. */
cv_err cv_x509_issue(const cv_policy *p, EVP_PKEY *pub, int path_length,
		     X509 *issuer, EVP_PKEY *issuer_key, time_t now, X509 **out,
		     int *cut);

/* Every certificate in data: a PEM file of one or more certificates, a DER
 * certificate, or a PKCS#7 chain (PEM, DER, or bare base64 of the DER).
 * The stack keeps the file's order.  Errors: CV_ERR_BAD_PEM (PEM framing
 * present but content not parseable: Key Vault's text), CV_ERR_BAD_CERT
 * (no certificate found; detail says what the content looked like). */
cv_err cv_x509_read_certificates(const unsigned char *data, size_t len,
				 STACK_OF(X509) **out);

/* The content of an import: PKCS#12 (password may be NULL for none) or PEM
 * with certificates and one private key (PKCS#8, or the traditional RSA/EC
 * forms, each plain or encrypted with password).  PKCS#12 files of OpenSSL 1.x
 * (RC2, 3DES) are read in a library context of their own, and every
 * password-based iteration count is at most 1000000 and every scrypt
 * cost N*r*p at most 1048576, checked before any key is derived
 * (CV_ERR_BAD_CERT naming the count).  *leaf is the certificate
 * whose public key is *key's; *chain holds the others leaf-first (see
 * cv_x509_order_chain).  *is_pkcs12 tells which form the content had.
 * Errors: CV_ERR_BAD_PASSWORD (PKCS#12 or encrypted PKCS#8 key),
 * CV_ERR_ENCRYPTED_KEY (an encrypted key and no password),
 * CV_ERR_NO_KEY (certificates but no key),
 * CV_ERR_KEY_MISMATCH (no certificate matches the key), CV_ERR_BAD_PEM,
 * CV_ERR_BAD_CERT. */
cv_err cv_x509_read_import(const unsigned char *data, size_t len,
			   const char *password, X509 **leaf,
			   STACK_OF(X509) **chain, EVP_PKEY **key,
			   int *is_pkcs12);

/* Order a set of certificates for a key: the leaf is the one whose public
 * key equals pub; each next certificate is the issuer of the one before
 * (by name and, when present, key identifiers); certificates that are not
 * part of the path follow in their original order.  *leaf and *rest are new
 * references/stacks owned by the caller.  Errors: CV_ERR_KEY_MISMATCH. */
cv_err cv_x509_order_chain(EVP_PKEY *pub, STACK_OF(X509) *certs, X509 **leaf,
			   STACK_OF(X509) **rest);

/* 1 when the certificate's public key is pub, else 0. */
int cv_x509_matches_key(X509 *cert, EVP_PKEY *pub);

/* CKA_ID as NSS computes it: SHA-1 of the RSA modulus (unsigned big-endian,
 * no leading zero) or of the EC public point (uncompressed octets).
 * Errors: CV_ERR_UNSUPPORTED, CV_ERR_CRYPTO. */
cv_err cv_key_id(EVP_PKEY *pub, uint8_t out[CV_KEY_ID_LEN]);

/* x5t: base64url SHA-1 of the DER, no padding, NUL-terminated. */
void cv_x509_thumbprint(const unsigned char *der, size_t len,
			char out[CV_X5T_LEN + 1]);

/* notBefore and notAfter as Unix seconds.  Errors: CV_ERR_BAD_CERT. */
cv_err cv_x509_validity(X509 *cert, int64_t *nbf, int64_t *exp);

/* The secret's content: PEM (the private key as unencrypted PKCS#8 when key
 * is not NULL, then the leaf, then the chain) or PKCS#12 (AES-256-CBC and
 * PBKDF2 with password, or no encryption when password is NULL or "";
 * friendly name = name).  *out is owned by the caller and must be freed with
 * OPENSSL_clear_free(*out, *len) since it may hold a private key.
 * Errors: CV_ERR_CRYPTO, CV_ERR_NOMEM. */
cv_err cv_secret_encode(enum cv_content_type ct, const char *name, X509 *leaf,
			STACK_OF(X509) *chain, EVP_PKEY *key,
			const char *password, unsigned char **out, size_t *len);

/* Read a secret written by cv_secret_encode back (password as written).
 * *key is NULL when the secret holds no key.  Errors: CV_ERR_CORRUPT. */
cv_err cv_secret_decode(enum cv_content_type ct, const unsigned char *data,
			size_t len, const char *password, X509 **leaf,
			STACK_OF(X509) **chain, EVP_PKEY **key);

#endif
