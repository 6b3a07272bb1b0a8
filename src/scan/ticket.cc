// Ticket layout and the all-zero-key check.
#include "ticket.h"

#include <algorithm>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "stek/ossl_ptr.h"

namespace stek::scan {

namespace {

bool hmac_verifies_with_zero_key(const TicketParts& t, std::size_t key_size) {
  const SecretBytes key(key_size);  // zeros
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), t.authenticated.data(),
           t.authenticated.size(), mac, &mac_len) == nullptr ||
      mac_len != kTicketMacSize) {
    return false;
  }
  return constant_time_equal(ByteView(mac, mac_len), t.mac);
}

// One DER SEQUENCE with a definite length that fills the whole buffer: what i2d of an
// OpenSSL SSL_SESSION (and most servers' session encodings) produces. Random bytes pass
// this and the CBC padding check together with probability around 2^-23.
bool is_one_der_sequence(ByteView p) {
  if (p.size() < 2 || p[0] != 0x30) return false;
  std::size_t header = 2;
  std::size_t length = 0;
  if (p[1] < 0x80) {
    length = p[1];
  } else {
    const std::size_t n = p[1] & 0x7f;
    if (n == 0 || n > 4 || p.size() < 2 + n) return false;
    for (std::size_t i = 0; i < n; ++i) length = (length << 8) | p[2 + i];
    header += n;
  }
  return header + length == p.size();
}

bool decrypts_with_zero_aes_key(const TicketParts& t, const EVP_CIPHER* cipher,
                                std::size_t key_size) {
  const SecretBytes key(key_size);  // zeros
  const UniquePtr<EVP_CIPHER_CTX> ctx(EVP_CIPHER_CTX_new());
  if (!ctx || EVP_DecryptInit_ex(ctx.get(), cipher, nullptr, key.data(), t.iv.data()) != 1) {
    return false;
  }
  SecretBytes plain(t.ciphertext.size() + kTicketBlockSize);
  int n = 0;
  int tail = 0;
  if (EVP_DecryptUpdate(ctx.get(), plain.data(), &n, t.ciphertext.data(),
                        static_cast<int>(t.ciphertext.size())) != 1) {
    return false;
  }
  // Fails on a bad PKCS#7 padding: the usual outcome for a key that is not zero.
  if (EVP_DecryptFinal_ex(ctx.get(), plain.data() + n, &tail) != 1) return false;
  return is_one_der_sequence(plain.view(0, static_cast<std::size_t>(n + tail)));
}

}  // namespace

std::optional<TicketParts> split_openssl_ticket(ByteView ticket) {
  if (ticket.size() < kMinTicketSize) return std::nullopt;
  const std::size_t body = ticket.size() - kKeyNameSize - kTicketIvSize - kTicketMacSize;
  if (body % kTicketBlockSize != 0) return std::nullopt;
  TicketParts parts{};
  std::copy_n(ticket.begin(), kKeyNameSize, parts.name.begin());
  parts.iv = ticket.subspan(kKeyNameSize, kTicketIvSize);
  parts.ciphertext = ticket.subspan(kKeyNameSize + kTicketIvSize, body);
  parts.mac = ticket.subspan(ticket.size() - kTicketMacSize);
  parts.authenticated = ticket.first(ticket.size() - kTicketMacSize);
  return parts;
}

ZeroKeyCheck check_zero_key(ByteView ticket) {
  ZeroKeyCheck check;
  const auto parts = split_openssl_ticket(ticket);
  if (!parts) return check;
  check.applicable = true;
  // HMAC pads a short key with zeros to the hash block size, so all-zero keys of 16 and
  // 32 bytes give the same MAC; both sizes are tried anyway, as the products use them.
  check.hmac_zero =
      hmac_verifies_with_zero_key(*parts, 16) || hmac_verifies_with_zero_key(*parts, 32);
  if (decrypts_with_zero_aes_key(*parts, EVP_aes_256_cbc(), 32)) {
    check.aes_zero_bits = 256;
  } else if (decrypts_with_zero_aes_key(*parts, EVP_aes_128_cbc(), 16)) {
    check.aes_zero_bits = 128;
  }
  return check;
}

}  // namespace stek::scan
