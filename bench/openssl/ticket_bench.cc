// Ticket seal and open outside a handshake: libstek's TicketCodec against the floor, the same
// OpenSSL calls on the same bytes with nothing around them (no ring lookup, no allocation, no
// checks): AES-256-CBC then HMAC-SHA256 into buffers made once. The plaintext is 240 bytes,
// about the size of a serialised TLS 1.3 session with a P-256 certificate chain left out.
#include <cstring>
#include <string>

#include <benchmark/benchmark.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "stek/openssl.h"
#include "stek/ossl_ptr.h"
#include "stek/random.h"

namespace stek::openssl {
namespace {

constexpr std::size_t kPlaintext = 240;
constexpr std::size_t kPadded = (kPlaintext / kTicketBlockSize + 1) * kTicketBlockSize;
constexpr std::size_t kTicket = kKeyNameSize + kTicketIvSize + kPadded + kTicketMacSize;

// A ring of three 80-byte keys (current, next, one older), no schedule: roles as written.
KeyRing make_ring() {
  SystemRandom random;
  std::vector<RingKey> keys;
  for (KeyRole role : {KeyRole::encrypt, KeyRole::next, KeyRole::decrypt}) {
    KeyMeta meta;
    meta.role = role;
    keys.push_back({random_ticket_key(random, KeySize::k80).value(), meta});
  }
  return KeyRing::make(std::move(keys)).value();
}

Bytes plaintext() {
  Bytes p(kPlaintext);
  for (std::size_t i = 0; i < p.size(); ++i) p[i] = static_cast<std::uint8_t>(i * 7 + 1);
  return p;
}

// The plaintext sealed under key with a fixed IV: what the open benchmarks open.
Bytes fixed_ticket(const TicketKey& key) {
  const std::uint8_t iv[kTicketIvSize] = {0x5a};
  return TicketCodec::make().value().seal_with(key, iv, plaintext()).value();
}

// The floor: raw EVP calls with contexts and output buffers made once.
struct Floor {
  UniquePtr<EVP_CIPHER> cipher_owner{EVP_CIPHER_fetch(nullptr, "AES-256-CBC", nullptr)};
  UniquePtr<EVP_MAC> mac_owner{EVP_MAC_fetch(nullptr, "HMAC", nullptr)};
  UniquePtr<EVP_CIPHER_CTX> cctx_owner{EVP_CIPHER_CTX_new()};
  UniquePtr<EVP_MAC_CTX> mctx_owner{EVP_MAC_CTX_new(mac_owner.get())};
  EVP_CIPHER* cipher = cipher_owner.get();
  EVP_CIPHER_CTX* cctx = cctx_owner.get();
  EVP_MAC_CTX* mctx = mctx_owner.get();
  Floor() {
    char digest[] = "SHA256";
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                           OSSL_PARAM_construct_end()};
    EVP_MAC_CTX_set_params(mctx, params);
  }
  Floor(const Floor&) = delete;
  Floor& operator=(const Floor&) = delete;

  // Encrypts plain into out (name and IV already in place) and appends the MAC.
  bool seal(const TicketKey& key, const std::uint8_t* plain, std::uint8_t* out) {
    std::uint8_t* ct = out + kKeyNameSize + kTicketIvSize;
    int n1 = 0;
    int n2 = 0;
    std::size_t m = 0;
    return EVP_EncryptInit_ex2(cctx, cipher, key.aes_key().data(), out + kKeyNameSize, nullptr) ==
               1 &&
           EVP_EncryptUpdate(cctx, ct, &n1, plain, static_cast<int>(kPlaintext)) == 1 &&
           EVP_EncryptFinal_ex(cctx, ct + n1, &n2) == 1 &&
           EVP_MAC_init(mctx, key.hmac_key().data(), key.hmac_key().size(), nullptr) == 1 &&
           EVP_MAC_update(mctx, out, kTicket - kTicketMacSize) == 1 &&
           EVP_MAC_final(mctx, out + kTicket - kTicketMacSize, &m, kTicketMacSize) == 1;
  }
  // Checks the MAC and decrypts into plain.
  bool open(const TicketKey& key, const std::uint8_t* ticket, std::uint8_t* plain) {
    std::uint8_t mac[kTicketMacSize];
    std::size_t m = 0;
    int n1 = 0;
    int n2 = 0;
    const std::uint8_t* iv = ticket + kKeyNameSize;
    return EVP_MAC_init(mctx, key.hmac_key().data(), key.hmac_key().size(), nullptr) == 1 &&
           EVP_MAC_update(mctx, ticket, kTicket - kTicketMacSize) == 1 &&
           EVP_MAC_final(mctx, mac, &m, kTicketMacSize) == 1 &&
           CRYPTO_memcmp(mac, ticket + kTicket - kTicketMacSize, kTicketMacSize) == 0 &&
           EVP_DecryptInit_ex2(cctx, cipher, key.aes_key().data(), iv, nullptr) == 1 &&
           EVP_DecryptUpdate(cctx, plain, &n1, iv + kTicketIvSize, static_cast<int>(kPadded)) ==
               1 &&
           EVP_DecryptFinal_ex(cctx, plain + n1, &n2) == 1;
  }
};

// Seals with raw EVP calls; random_iv adds a fresh IV from OpenSSL's DRBG per ticket, as
// OpenSSL's own ticket path draws one (RAND_bytes_ex) for every ticket it issues.
void floor_seal(benchmark::State& state, bool random_iv) {
  const KeyRing ring = make_ring();
  const TicketKey& key = ring.encrypting().key;
  const Bytes plain = plaintext();
  Floor floor;
  std::uint8_t out[kTicket];
  std::memcpy(out, key.name().data(), kKeyNameSize);
  std::memset(out + kKeyNameSize, 0x5a, kTicketIvSize);
  for (auto _ : state) {
    if ((random_iv && RAND_bytes(out + kKeyNameSize, kTicketIvSize) != 1) ||
        !floor.seal(key, plain.data(), out)) {
      state.SkipWithError("raw seal failed");
    }
    benchmark::DoNotOptimize(out);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * kPlaintext));
}

// Seals with TicketCodec: seal() draws the IV from the DRBG, seal_with() takes a fixed one
// (what the codec itself adds to the floor). Both include the output buffer.
void codec_seal(benchmark::State& state, bool random_iv) {
  const KeyRing ring = make_ring();
  const Bytes plain = plaintext();
  TicketCodec codec = TicketCodec::make().value();
  SystemRandom random;
  const std::uint8_t iv[kTicketIvSize] = {0x5a};
  state.SetLabel(random_iv ? "vs BM_FloorSealRandomIv" : "vs BM_FloorSeal");  // bench/ratios.py
  for (auto _ : state) {
    auto ticket = random_iv ? codec.seal(ring, plain, random)
                            : codec.seal_with(ring.encrypting().key, iv, plain);
    if (!ticket.ok()) state.SkipWithError("seal failed");
    benchmark::DoNotOptimize(ticket);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * kPlaintext));
}

void BM_FloorSeal(benchmark::State& state) {
  floor_seal(state, false);
}
BENCHMARK(BM_FloorSeal);
void BM_FloorSealRandomIv(benchmark::State& state) {
  floor_seal(state, true);
}
BENCHMARK(BM_FloorSealRandomIv);
void BM_TicketSeal(benchmark::State& state) {
  codec_seal(state, true);
}
BENCHMARK(BM_TicketSeal);
void BM_TicketSealFixedIv(benchmark::State& state) {
  codec_seal(state, false);
}
BENCHMARK(BM_TicketSealFixedIv);

void BM_FloorOpen(benchmark::State& state) {
  const KeyRing ring = make_ring();
  const Bytes ticket = fixed_ticket(ring.encrypting().key);
  Floor floor;
  std::uint8_t plain[kPadded];
  for (auto _ : state) {
    if (!floor.open(ring.encrypting().key, ticket.data(), plain)) {
      state.SkipWithError("raw open failed");
    }
    benchmark::DoNotOptimize(plain);
  }
  OPENSSL_cleanse(plain, sizeof plain);
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * kPlaintext));
}
BENCHMARK(BM_FloorOpen);

void BM_TicketOpen(benchmark::State& state) {
  const KeyRing ring = make_ring();
  TicketCodec codec = TicketCodec::make().value();
  const Bytes ticket = fixed_ticket(ring.encrypting().key);
  // Includes the lookup by name, the size checks and the wiped plaintext buffer.
  state.SetLabel("vs BM_FloorOpen");
  for (auto _ : state) {
    OpenedTicket opened = codec.open(ring, ticket);
    if (opened.result != TicketResult::ok) state.SkipWithError("open failed");
    benchmark::DoNotOptimize(opened);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * kPlaintext));
}
BENCHMARK(BM_TicketOpen);

void BM_TicketOpenUnknownKey(benchmark::State& state) {
  // A ticket under a key the ring does not hold (another domain, long expired): refused after
  // the lookup, before any cryptography.
  const KeyRing ring = make_ring();
  const KeyRing other = make_ring();
  TicketCodec codec = TicketCodec::make().value();
  const Bytes ticket = fixed_ticket(other.encrypting().key);
  state.SetLabel("vs BM_FloorOpen");
  for (auto _ : state) {
    OpenedTicket opened = codec.open(ring, ticket);
    if (opened.result != TicketResult::unknown_key) state.SkipWithError("unexpected result");
    benchmark::DoNotOptimize(opened);
  }
}
BENCHMARK(BM_TicketOpenUnknownKey);

}  // namespace
}  // namespace stek::openssl
