// Derivation: one K(d,e) (HKDF-SHA256 through OpenSSL's EVP_KDF, 80 bytes out), and the full
// ring of a domain under the default schedule (21 keys: e-18 .. e+2, each from its own
// epoch secret) with and without KeyRing validation. The baseline is the HMAC work HKDF
// cannot avoid for 80 bytes: one extract and three expand blocks, as four HMAC() calls.
#include <vector>

#include <benchmark/benchmark.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "stek/derive.h"
#include "stek/random.h"
#include "stek/ring.h"

namespace stek {
namespace {

constexpr Epoch kEpoch = 498754;

struct Secrets {
  SecretBytes domain;
  std::vector<SecretBytes> epochs;  // one per epoch of the window
};

Secrets make_secrets(std::size_t n) {
  SystemRandom random;
  Secrets s{random_secret(random, kDomainSecretSize).value(), {}};
  for (std::size_t i = 0; i < n; ++i)
    s.epochs.push_back(random_secret(random, kEpochSecretSize).value());
  return s;
}

void BM_DeriveKey(benchmark::State& state) {
  const Secrets s = make_secrets(1);
  Epoch e = kEpoch;
  state.SetLabel("vs BM_HmacSha256x4Baseline");  // bench/ratios.py
  for (auto _ : state) {
    auto key = derive_ticket_key(s.domain.view(), s.epochs[0].view(), "eu-west", e++);
    benchmark::DoNotOptimize(key);
  }
}

void BM_HmacSha256x4Baseline(benchmark::State& state) {
  const Secrets s = make_secrets(1);
  const Bytes info = derivation_info("eu-west", kEpoch).value();
  unsigned char prk[32];
  unsigned char block[32 + 64];
  unsigned int len = 0;
  for (auto _ : state) {
    HMAC(EVP_sha256(), s.domain.data(), 32, s.epochs[0].data(), 32, prk, &len);
    for (int i = 0; i < 3; ++i) {
      HMAC(EVP_sha256(), prk, 32, info.data(), info.size(), block, &len);
    }
    benchmark::DoNotOptimize(block);
  }
}

void BM_DeriveRing21(benchmark::State& state) {
  const Schedule schedule = Schedule::standard();
  const EpochRange w = schedule.held_window(schedule.epoch_start(kEpoch));
  const Secrets s = make_secrets(static_cast<std::size_t>(w.last - w.first + 1));
  for (auto _ : state) {
    std::vector<TicketKey> keys;
    keys.reserve(s.epochs.size());
    for (Epoch e = w.first; e <= w.last; ++e) {
      keys.push_back(
          derive_ticket_key(s.domain.view(), s.epochs[e - w.first].view(), "eu-west", e).value());
    }
    benchmark::DoNotOptimize(keys);
  }
  state.counters["keys"] = static_cast<double>(s.epochs.size());
}

void BM_DeriveAndBuildRing21(benchmark::State& state) {
  const Schedule schedule = Schedule::standard();
  const UnixSeconds now = schedule.epoch_start(kEpoch);
  const EpochRange w = schedule.held_window(now);
  const Secrets s = make_secrets(static_cast<std::size_t>(w.last - w.first + 1));
  for (auto _ : state) {
    std::vector<RingKey> keys;
    keys.reserve(s.epochs.size());
    for (Epoch e = w.first; e <= w.last; ++e) {
      KeyMeta meta;
      meta.role = schedule.role(e, now);
      meta.epoch = e;
      keys.push_back(
          {derive_ticket_key(s.domain.view(), s.epochs[e - w.first].view(), "eu-west", e).value(),
           meta});
    }
    auto ring = KeyRing::make(std::move(keys));
    benchmark::DoNotOptimize(ring);
  }
}

BENCHMARK(BM_DeriveKey);
BENCHMARK(BM_HmacSha256x4Baseline);
BENCHMARK(BM_DeriveRing21);
BENCHMARK(BM_DeriveAndBuildRing21);

}  // namespace
}  // namespace stek
