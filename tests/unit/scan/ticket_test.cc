// Ticket layout and the all-zero-key check, on tickets sealed here the way OpenSSL-family
// servers seal them: name | IV | AES-CBC(DER session) | HMAC-SHA256 over the rest.
#include "ticket.h"

#include <vector>

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "stek/ossl_ptr.h"

namespace stek::scan {
namespace {

using Bytes = std::vector<std::uint8_t>;

Bytes filled(std::size_t n, std::uint8_t start) {
  Bytes b(n);
  for (std::size_t i = 0; i < n; ++i) b[i] = static_cast<std::uint8_t>(start + 7 * i);
  return b;
}

// A DER SEQUENCE of `content` bytes, like i2d_SSL_SESSION's output.
Bytes der_session(std::size_t content) {
  Bytes b{0x30};
  if (content < 0x80) {
    b.push_back(static_cast<std::uint8_t>(content));
  } else {
    b.push_back(0x82);
    b.push_back(static_cast<std::uint8_t>(content >> 8));
    b.push_back(static_cast<std::uint8_t>(content));
  }
  const Bytes body = filled(content, 0x11);
  b.insert(b.end(), body.begin(), body.end());
  return b;
}

Bytes seal(const Bytes& name, const Bytes& hmac_key, const Bytes& aes_key, const Bytes& plain) {
  const Bytes iv = filled(16, 0xa0);
  const EVP_CIPHER* cipher = aes_key.size() == 32 ? EVP_aes_256_cbc() : EVP_aes_128_cbc();
  const UniquePtr<EVP_CIPHER_CTX> ctx(EVP_CIPHER_CTX_new());
  Bytes ct(plain.size() + 16);
  int n = 0, tail = 0;
  EXPECT_EQ(EVP_EncryptInit_ex(ctx.get(), cipher, nullptr, aes_key.data(), iv.data()), 1);
  EXPECT_EQ(
      EVP_EncryptUpdate(ctx.get(), ct.data(), &n, plain.data(), static_cast<int>(plain.size())), 1);
  EXPECT_EQ(EVP_EncryptFinal_ex(ctx.get(), ct.data() + n, &tail), 1);
  ct.resize(static_cast<std::size_t>(n + tail));
  Bytes ticket = name;
  ticket.insert(ticket.end(), iv.begin(), iv.end());
  ticket.insert(ticket.end(), ct.begin(), ct.end());
  unsigned char mac[32];
  unsigned int mac_len = 0;
  HMAC(EVP_sha256(), hmac_key.data(), static_cast<int>(hmac_key.size()), ticket.data(),
       ticket.size(), mac, &mac_len);
  ticket.insert(ticket.end(), mac, mac + mac_len);
  return ticket;
}

TEST(Ticket, SplitsTheOpensslLayout) {
  const Bytes name = filled(16, 1);
  const Bytes t = seal(name, filled(32, 2), filled(32, 3), der_session(100));
  const auto parts = split_openssl_ticket(t);
  ASSERT_TRUE(parts.has_value());
  EXPECT_TRUE(std::equal(name.begin(), name.end(), parts->name.begin()));
  EXPECT_EQ(parts->iv.size(), 16u);
  EXPECT_EQ(parts->ciphertext.size() % 16, 0u);
  EXPECT_EQ(parts->mac.size(), 32u);
  EXPECT_EQ(parts->authenticated.size(), t.size() - 32);
  EXPECT_EQ(parts->iv.data(), t.data() + 16);
}

TEST(Ticket, LengthsThatCannotBeTheOpensslLayoutExposeNoName) {
  EXPECT_FALSE(split_openssl_ticket(Bytes(79, 1)).has_value());  // shorter than one block
  EXPECT_TRUE(split_openssl_ticket(Bytes(80, 1)).has_value());
  EXPECT_FALSE(split_openssl_ticket(Bytes(81, 1)).has_value());  // ciphertext not whole blocks
  EXPECT_FALSE(split_openssl_ticket(Bytes(95, 1)).has_value());
  EXPECT_TRUE(split_openssl_ticket(Bytes(96, 1)).has_value());
  EXPECT_FALSE(split_openssl_ticket(Bytes(32, 1)).has_value());  // OpenSSL's stateful TLS 1.3 id
  EXPECT_FALSE(split_openssl_ticket({}).has_value());
}

TEST(Ticket, DetectsAllZeroAes256AndHmacKeys) {
  const Bytes t = seal(filled(16, 1), Bytes(32, 0), Bytes(32, 0), der_session(300));
  const ZeroKeyCheck c = check_zero_key(t);
  EXPECT_TRUE(c.applicable);
  EXPECT_TRUE(c.hmac_zero);
  EXPECT_EQ(c.aes_zero_bits, 256);
  EXPECT_TRUE(c.found());
}

TEST(Ticket, DetectsAllZeroAes128AndHmacKeysOfNginx48ByteFiles) {
  // nginx's 48-byte file: 16-byte HMAC key, AES-128.
  const Bytes t = seal(Bytes(16, 0), Bytes(16, 0), Bytes(16, 0), der_session(60));
  const ZeroKeyCheck c = check_zero_key(t);
  EXPECT_TRUE(c.hmac_zero);
  EXPECT_EQ(c.aes_zero_bits, 128);
}

TEST(Ticket, ZeroHmacKeysOf16And32BytesGiveTheSameMac) {
  // HMAC pads keys to the block size with zeros: the two checks cannot disagree.
  const Bytes a = seal(filled(16, 1), Bytes(16, 0), filled(32, 3), der_session(40));
  const Bytes b = seal(filled(16, 1), Bytes(32, 0), filled(32, 3), der_session(40));
  EXPECT_EQ(a, b);
  EXPECT_TRUE(check_zero_key(a).hmac_zero);
}

TEST(Ticket, ZeroHmacKeyAloneIsReportedWithoutAes) {
  const ZeroKeyCheck c =
      check_zero_key(seal(filled(16, 1), Bytes(32, 0), filled(32, 3), der_session(200)));
  EXPECT_TRUE(c.hmac_zero);
  EXPECT_EQ(c.aes_zero_bits, 0);
  EXPECT_TRUE(c.found());
}

TEST(Ticket, ZeroAesKeyAloneIsReportedWithoutHmac) {
  const ZeroKeyCheck c =
      check_zero_key(seal(filled(16, 1), filled(32, 9), Bytes(32, 0), der_session(200)));
  EXPECT_FALSE(c.hmac_zero);
  EXPECT_EQ(c.aes_zero_bits, 256);
}

TEST(Ticket, RandomKeysAreNotReported) {
  for (std::uint8_t seed = 1; seed < 40; ++seed) {
    const Bytes t = seal(filled(16, seed), filled(32, static_cast<std::uint8_t>(seed + 1)),
                         filled(32, static_cast<std::uint8_t>(seed + 2)), der_session(150));
    const ZeroKeyCheck c = check_zero_key(t);
    EXPECT_TRUE(c.applicable);
    EXPECT_FALSE(c.found()) << "seed " << int(seed);
  }
}

TEST(Ticket, FlippedMacBitDefeatsTheZeroHmacCheck) {
  Bytes t = seal(filled(16, 1), Bytes(32, 0), Bytes(32, 0), der_session(100));
  t.back() ^= 1;
  const ZeroKeyCheck c = check_zero_key(t);
  EXPECT_FALSE(c.hmac_zero);
  EXPECT_EQ(c.aes_zero_bits, 256);  // the ciphertext is untouched
}

TEST(Ticket, PlaintextThatIsNotOneDerStructureIsNotAZeroAesFinding) {
  Bytes plain = der_session(100);
  plain.push_back(0);  // trailing byte after the SEQUENCE
  EXPECT_EQ(check_zero_key(seal(filled(16, 1), filled(32, 9), Bytes(32, 0), plain)).aes_zero_bits,
            0);
}

}  // namespace
}  // namespace stek::scan
