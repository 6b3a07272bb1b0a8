// Ticket seal/open in OpenSSL's layout, outside any handshake.
#include "stek/openssl/ticket_codec.h"

#include <cstring>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "stek/ossl_ptr.h"

#include "ticket_crypto.h"

namespace stek::openssl {

namespace detail {

const Algorithms& algorithms() {
  // Fetched once; never freed (they live as long as the process's OpenSSL library context).
  static const Algorithms algs = [] {
    Algorithms a;
    a.aes128_cbc = EVP_CIPHER_fetch(nullptr, "AES-128-CBC", nullptr);
    a.aes256_cbc = EVP_CIPHER_fetch(nullptr, "AES-256-CBC", nullptr);
    a.hmac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
    return a;
  }();
  return algs;
}

const EVP_CIPHER* cipher_for(const TicketKey& key) {
  return key.aes_key().size() == 32 ? algorithms().aes256_cbc : algorithms().aes128_cbc;
}

bool init_ticket_hmac(EVP_MAC_CTX* mac, const TicketKey& key) {
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {OSSL_PARAM_construct_octet_string(
                             OSSL_MAC_PARAM_KEY, const_cast<std::uint8_t*>(key.hmac_key().data()),
                             key.hmac_key().size()),
                         OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                         OSSL_PARAM_construct_end()};
  return EVP_MAC_CTX_set_params(mac, params) == 1;
}

}  // namespace detail

std::string_view ticket_result_name(TicketResult result) {
  switch (result) {
    case TicketResult::ok:
      return "ok";
    case TicketResult::renew:
      return "renew";
    case TicketResult::unknown_key:
      return "unknown_key";
    case TicketResult::invalid:
      return "invalid";
  }
  return "unknown";
}

struct TicketCodec::Impl {
  UniquePtr<EVP_CIPHER_CTX> cipher_ctx;
  UniquePtr<EVP_MAC_CTX> mac_ctx;
  EVP_CIPHER_CTX* cipher = nullptr;  // cipher_ctx.get()
  EVP_MAC_CTX* mac = nullptr;        // mac_ctx.get()

  // MAC over data with the key's HMAC key into out (32 bytes). The digest was set once when
  // the context was made; each call only sets the key.
  bool mac_of(const TicketKey& key, ByteView data, std::uint8_t* out) {
    std::size_t n = 0;
    return EVP_MAC_init(mac, key.hmac_key().data(), key.hmac_key().size(), nullptr) == 1 &&
           EVP_MAC_update(mac, data.data(), data.size()) == 1 &&
           EVP_MAC_final(mac, out, &n, kTicketMacSize) == 1 && n == kTicketMacSize;
  }
};

TicketCodec::TicketCodec(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
TicketCodec::TicketCodec(TicketCodec&&) noexcept = default;
TicketCodec& TicketCodec::operator=(TicketCodec&&) noexcept = default;
TicketCodec::~TicketCodec() = default;

Result<TicketCodec> TicketCodec::make() {
  const auto& algs = detail::algorithms();
  if (!algs.ok()) {
    return make_error(Errc::crypto,
                      "OpenSSL lacks AES-CBC or HMAC (is the default provider loaded?)");
  }
  auto impl = std::make_unique<Impl>();
  impl->cipher_ctx.reset(EVP_CIPHER_CTX_new());
  impl->mac_ctx.reset(EVP_MAC_CTX_new(algs.hmac));
  impl->cipher = impl->cipher_ctx.get();
  impl->mac = impl->mac_ctx.get();
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                         OSSL_PARAM_construct_end()};
  if (impl->cipher == nullptr || impl->mac == nullptr ||
      EVP_MAC_CTX_set_params(impl->mac, params) != 1) {
    return make_error(Errc::crypto, "cannot set up OpenSSL's AES-CBC or HMAC-SHA256");
  }
  return TicketCodec(std::move(impl));
}

Result<Bytes> TicketCodec::seal(const KeyRing& ring, ByteView plaintext, Random& random) {
  std::uint8_t iv[kTicketIvSize];
  STEK_TRY(random.fill(iv));
  return seal_with(ring.encrypting().key, iv, plaintext);
}

Result<Bytes> TicketCodec::seal_with(const TicketKey& key, ByteView iv, ByteView plaintext) {
  if (iv.size() != kTicketIvSize) {
    return make_error(Errc::bad_size,
                      "ticket IV is " + std::to_string(iv.size()) + " bytes, expected 16");
  }
  if (plaintext.size() > 0xFF00) {
    return make_error(Errc::bad_size, "ticket plaintext of " + std::to_string(plaintext.size()) +
                                          " bytes is longer than a TLS ticket can be");
  }
  const std::size_t padded = (plaintext.size() / kTicketBlockSize + 1) * kTicketBlockSize;
  Bytes out(kKeyNameSize + kTicketIvSize + padded + kTicketMacSize);
  std::memcpy(out.data(), key.name().data(), kKeyNameSize);
  std::memcpy(out.data() + kKeyNameSize, iv.data(), kTicketIvSize);
  std::uint8_t* ct = out.data() + kKeyNameSize + kTicketIvSize;
  int n1 = 0;
  int n2 = 0;
  if (EVP_EncryptInit_ex2(impl_->cipher, detail::cipher_for(key), key.aes_key().data(), iv.data(),
                          nullptr) != 1 ||
      EVP_EncryptUpdate(impl_->cipher, ct, &n1, plaintext.data(),
                        static_cast<int>(plaintext.size())) != 1 ||
      EVP_EncryptFinal_ex(impl_->cipher, ct + n1, &n2) != 1 ||
      static_cast<std::size_t>(n1 + n2) != padded) {
    return make_error(Errc::crypto, "AES-CBC encryption of a ticket failed");
  }
  const std::size_t mac_at = out.size() - kTicketMacSize;
  if (!impl_->mac_of(key, ByteView(out.data(), mac_at), out.data() + mac_at)) {
    return make_error(Errc::crypto, "HMAC-SHA256 of a ticket failed");
  }
  return out;
}

OpenedTicket TicketCodec::open(const KeyRing& ring, ByteView ticket) {
  OpenedTicket result;
  if (ticket.size() < kMinTicketSize) return result;  // invalid: too short to hold anything
  KeyName name;
  std::memcpy(name.data(), ticket.data(), kKeyNameSize);
  const auto match = ring.find(name);
  if (!match) {
    result.result = TicketResult::unknown_key;
    return result;
  }
  const TicketKey& key = match->key->key;
  const std::size_t mac_at = ticket.size() - kTicketMacSize;
  const std::size_t ct_len = mac_at - kKeyNameSize - kTicketIvSize;
  if (ct_len % kTicketBlockSize != 0) return result;
  std::uint8_t mac[kTicketMacSize];
  if (!impl_->mac_of(key, ticket.first(mac_at), mac) ||
      CRYPTO_memcmp(mac, ticket.data() + mac_at, kTicketMacSize) != 0) {
    return result;
  }
  SecretBytes plain(ct_len);
  int n1 = 0;
  int n2 = 0;
  const std::uint8_t* iv = ticket.data() + kKeyNameSize;
  if (EVP_DecryptInit_ex2(impl_->cipher, detail::cipher_for(key), key.aes_key().data(), iv,
                          nullptr) != 1 ||
      EVP_DecryptUpdate(impl_->cipher, plain.data(), &n1, iv + kTicketIvSize,
                        static_cast<int>(ct_len)) != 1 ||
      EVP_DecryptFinal_ex(impl_->cipher, plain.data() + n1, &n2) != 1) {
    return result;  // bad padding under a valid MAC: a forger who holds the key; still invalid
  }
  result.result = match->renew ? TicketResult::renew : TicketResult::ok;
  result.storage = std::move(plain);
  result.length = static_cast<std::size_t>(n1 + n2);
  return result;
}

}  // namespace stek::openssl
