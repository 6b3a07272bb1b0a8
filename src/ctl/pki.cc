// Development PKI with OpenSSL 3: EC P-256 keys, X.509 v3 certificates with URI SANs.
#include "pki.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "stek/bytes.h"
#include "stek/derive.h"
#include "stek/file.h"
#include "stek/hardening.h"
#include "stek/ossl_ptr.h"
#include "stek/random.h"

#include "api/identity.h"

namespace stek::ctl {

namespace fs = std::filesystem;

namespace {

using Pkey = UniquePtr<EVP_PKEY>;
using Cert = UniquePtr<X509>;
using Bio = UniquePtr<BIO>;

Error ossl(const std::string& what) {
  return make_error(Errc::crypto, what + " failed (OpenSSL)");
}

Result<Pkey> new_key() {
  Pkey k(EVP_EC_gen("P-256"));
  if (!k) return ossl("EC key generation");
  return k;
}

Status add_ext(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  const UniquePtr<X509_EXTENSION> ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str()));
  if (!ext) return ossl("certificate extension " + std::string(OBJ_nid2sn(nid)));
  if (X509_add_ext(cert, ext.get(), -1) != 1) return ossl("adding a certificate extension");
  return {};
}

struct CertSpec {
  std::string common_name;
  std::string san;  // OpenSSL's config syntax: "URI:...,DNS:...,IP:..."
  bool ca = false;
  bool server = false;
  int days = 365;
};

Result<Cert> make_cert(const CertSpec& spec, EVP_PKEY* key, X509* issuer, EVP_PKEY* issuer_key) {
  Cert cert(X509_new());
  if (!cert) return ossl("X509_new");
  X509_set_version(cert.get(), 2);
  unsigned char serial[16];
  if (RAND_bytes(serial, sizeof serial) != 1) return ossl("serial number");
  serial[0] &= 0x7f;
  const UniquePtr<BIGNUM> bn(BN_bin2bn(serial, sizeof serial, nullptr));
  BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(cert.get()));
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>("stek development PKI"), -1, -1,
                             0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(spec.common_name.c_str()), -1,
                             -1, 0);
  X509_set_issuer_name(cert.get(), issuer ? X509_get_subject_name(issuer) : name);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -300);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), static_cast<long>(spec.days) * 86400);
  X509_set_pubkey(cert.get(), key);
  X509* signer = issuer ? issuer : cert.get();
  STEK_TRY(add_ext(cert.get(), signer, NID_subject_key_identifier, "hash"));
  if (spec.ca) {
    STEK_TRY(add_ext(cert.get(), signer, NID_basic_constraints, "critical,CA:TRUE,pathlen:0"));
    STEK_TRY(add_ext(cert.get(), signer, NID_key_usage, "critical,keyCertSign,cRLSign"));
  } else {
    STEK_TRY(add_ext(cert.get(), signer, NID_authority_key_identifier, "keyid:always"));
    STEK_TRY(add_ext(cert.get(), signer, NID_basic_constraints, "critical,CA:FALSE"));
    STEK_TRY(add_ext(cert.get(), signer, NID_key_usage, "critical,digitalSignature"));
    STEK_TRY(
        add_ext(cert.get(), signer, NID_ext_key_usage, spec.server ? "serverAuth" : "clientAuth"));
    STEK_TRY(add_ext(cert.get(), signer, NID_subject_alt_name, spec.san));
  }
  if (X509_sign(cert.get(), issuer_key ? issuer_key : key, EVP_sha256()) == 0)
    return ossl("signing");
  return cert;
}

Status write_pem(const fs::path& path, X509* cert, EVP_PKEY* key) {
  Bio bio(BIO_new(BIO_s_mem()));
  const bool ok =
      cert ? PEM_write_bio_X509(bio.get(), cert) == 1
           : PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) == 1;
  if (!ok) return ossl("PEM encoding");
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  Status s = write_file_atomic(
      path, ByteView(reinterpret_cast<const std::uint8_t*>(data), static_cast<std::size_t>(n)),
      cert ? 0644 : 0600);
  if (!cert) secure_wipe(data, static_cast<std::size_t>(n));
  return s;
}

Status issue(const fs::path& dir, const std::string& stem, const CertSpec& spec, X509* ca,
             EVP_PKEY* ca_key) {
  STEK_ASSIGN_OR_RETURN(Pkey key, new_key());
  STEK_ASSIGN_OR_RETURN(Cert cert, make_cert(spec, key.get(), ca, ca_key));
  STEK_TRY(write_pem(dir / (stem + ".key"), nullptr, key.get()));
  return write_pem(dir / (stem + ".crt"), cert.get(), nullptr);
}

// OpenSSL's config syntax for the URI SANs of `id`: "URI:stek:host:...,URI:stek:domain:...".
// The codec percent-encodes ids, so no ',' of an id can split the list.
Result<std::string> identity_san(const api::Identity& id) {
  STEK_ASSIGN_OR_RETURN(std::vector<std::string> uris, api::identity_uris(id));
  std::string san;
  for (const std::string& uri : uris) san += (san.empty() ? "URI:" : ",URI:") + uri;
  return san;
}

Result<CertSpec> host_spec(const HostSpec& h, int days) {
  STEK_ASSIGN_OR_RETURN(std::string san,
                        identity_san({api::Identity::Kind::agent, h.host, h.domains}));
  return CertSpec{"stek host " + h.host, san, false, false, days};
}

Result<CertSpec> admin_spec(const std::string& name, int days) {
  STEK_ASSIGN_OR_RETURN(std::string san, identity_san({api::Identity::Kind::admin, name, {}}));
  return CertSpec{"stek admin " + name, san, false, false, days};
}

Status check_id(const std::string& what, const std::string& id) {
  if (auto ok = validate_domain_id(id); !ok.ok())
    return ok.error().with_context(what + " \"" + id + "\"");
  return {};
}

}  // namespace

Result<HostSpec> parse_host_spec(const std::string& text) {
  const auto eq = text.find('=');
  if (eq == std::string::npos || eq == 0 || eq + 1 == text.size()) {
    return make_error(Errc::invalid_argument,
                      "host \"" + text + "\" is not HOST=DOMAIN[,DOMAIN...]");
  }
  HostSpec h{text.substr(0, eq), {}};
  STEK_TRY(check_id("host", h.host));
  std::string rest = text.substr(eq + 1);
  while (!rest.empty()) {
    const auto comma = rest.find(',');
    std::string d = rest.substr(0, comma);
    STEK_TRY(check_id("domain", d));
    h.domains.push_back(d);
    rest = comma == std::string::npos ? "" : rest.substr(comma + 1);
  }
  return h;
}

Status pki_init(const PkiInitArgs& args) {
  STEK_TRY(create_private_directories(args.dir));  // 0700 whatever the umask: keys go here
  if (!args.force && fs::exists(args.dir / "ca.key")) {
    return make_error(Errc::io,
                      (args.dir / "ca.key").string() + " exists; pass --force to make a new PKI");
  }
  // Every identity is encoded before anything is written, so a bad name leaves no half PKI.
  std::vector<std::pair<std::string, CertSpec>> leaves;  // file stem, certificate
  for (const auto& a : args.admins) {
    STEK_ASSIGN_OR_RETURN(CertSpec spec, admin_spec(a, args.days));
    leaves.emplace_back("admin-" + a, std::move(spec));
  }
  for (const auto& h : args.hosts) {
    STEK_ASSIGN_OR_RETURN(CertSpec spec, host_spec(h, args.days));
    leaves.emplace_back("host-" + h.host, std::move(spec));
  }
  STEK_ASSIGN_OR_RETURN(Pkey ca_key, new_key());
  STEK_ASSIGN_OR_RETURN(Cert ca, make_cert({"stek development CA", "", true, false, args.days},
                                           ca_key.get(), nullptr, nullptr));
  STEK_TRY(write_pem(args.dir / "ca.key", nullptr, ca_key.get()));
  STEK_TRY(write_pem(args.dir / "ca.crt", ca.get(), nullptr));
  std::string san;
  for (const auto& n : args.server_names) {
    if (!san.empty()) san += ",";
    const bool ip =
        n.find_first_not_of("0123456789.") == std::string::npos || n.find(':') != std::string::npos;
    san += (ip ? "IP:" : "DNS:") + n;
  }
  STEK_TRY(
      issue(args.dir, "stekd", {"stekd", san, false, true, args.days}, ca.get(), ca_key.get()));
  for (const auto& [stem, spec] : leaves)
    STEK_TRY(issue(args.dir, stem, spec, ca.get(), ca_key.get()));
  SystemRandom random;
  STEK_ASSIGN_OR_RETURN(SecretBytes kek, random_secret(random, 32));
  SecretString hex = to_hex_secret(kek.view());
  hex.push_back('\n');
  return write_file_atomic(args.dir / "kek", as_bytes({hex.data(), hex.size()}), 0400);
}

Status pki_issue(const PkiIssueArgs& args) {
  if (args.host.has_value() == args.admin.has_value()) {
    return make_error(Errc::invalid_argument, "issue exactly one of --host or --admin");
  }
  STEK_ASSIGN_OR_RETURN(SecretBytes ca_pem, read_file(args.dir / "ca.crt"));
  STEK_ASSIGN_OR_RETURN(SecretBytes key_pem, read_file(args.dir / "ca.key"));
  Bio cb(BIO_new_mem_buf(ca_pem.data(), static_cast<int>(ca_pem.size())));
  Bio kb(BIO_new_mem_buf(key_pem.data(), static_cast<int>(key_pem.size())));
  Cert ca(PEM_read_bio_X509(cb.get(), nullptr, nullptr, nullptr));
  Pkey ca_key(PEM_read_bio_PrivateKey(kb.get(), nullptr, nullptr, nullptr));
  if (!ca || !ca_key)
    return make_error(Errc::bad_format, args.dir.string() + ": cannot read ca.crt and ca.key");
  if (args.admin) {
    STEK_ASSIGN_OR_RETURN(CertSpec spec, admin_spec(*args.admin, args.days));
    return issue(args.dir, "admin-" + *args.admin, spec, ca.get(), ca_key.get());
  }
  STEK_ASSIGN_OR_RETURN(CertSpec spec, host_spec(*args.host, args.days));
  return issue(args.dir, "host-" + args.host->host, spec, ca.get(), ca_key.get());
}

}  // namespace stek::ctl
