// Key-name lookup: KeyRing::find (hash index) against the linear memcmp scan over an array
// of keys that OpenSSL-callback servers such as nginx do, for rings of 3, 21 and 1000 keys.
// Hits query every key of the ring in a shuffled order (a scan averages n/2 compares);
// misses query names the ring does not hold (a scan compares all n).
#include <algorithm>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "stek/ring.h"

namespace stek {
namespace {

constexpr std::size_t kQueries = 1024;  // power of two: the index wraps with a mask

KeyName random_name(std::mt19937_64& rng) {
  KeyName n{};
  for (std::size_t i = 0; i < n.size(); i += 8) {
    const std::uint64_t v = rng();
    std::memcpy(n.data() + i, &v, 8);
  }
  return n;
}

SecretBytes random_bytes(std::mt19937_64& rng, std::size_t size) {
  SecretBytes out(size);
  for (std::size_t i = 0; i < size; ++i) out.data()[i] = static_cast<std::uint8_t>(rng());
  return out;
}

struct Setup {
  KeyRing ring;
  std::vector<KeyName> array;   // the same names, as a server's key array
  std::vector<KeyName> hits;    // kQueries names from the ring, shuffled
  std::vector<KeyName> misses;  // kQueries names not in the ring
};

Setup make_setup(std::size_t n) {
  std::mt19937_64 rng(n);
  std::vector<RingKey> keys;
  for (std::size_t i = 0; i < n; ++i) {
    KeyMeta meta;
    meta.role = i == 0 ? KeyRole::encrypt : KeyRole::decrypt;
    keys.push_back(
        {TicketKey::make(random_name(rng), random_bytes(rng, 32), random_bytes(rng, 32)).value(),
         meta});
  }
  KeyRing ring = KeyRing::make(std::move(keys)).value();
  std::vector<KeyName> array;
  for (const RingKey& k : ring.keys()) array.push_back(k.key.name());
  std::vector<KeyName> hits;
  for (std::size_t i = 0; i < kQueries; ++i) hits.push_back(array[i % n]);
  std::shuffle(hits.begin(), hits.end(), rng);
  std::vector<KeyName> misses;
  for (std::size_t i = 0; i < kQueries; ++i) misses.push_back(random_name(rng));
  return {std::move(ring), std::move(array), std::move(hits), std::move(misses)};
}

// The baseline: first key whose 16-byte name matches, as an array scan with memcmp.
const KeyName* linear_find(const std::vector<KeyName>& keys, const KeyName& name) {
  for (const KeyName& k : keys) {
    if (std::memcmp(k.data(), name.data(), kKeyNameSize) == 0) return &k;
  }
  return nullptr;
}

void BM_RingFindHit(benchmark::State& state) {
  const Setup s = make_setup(static_cast<std::size_t>(state.range(0)));
  state.SetLabel("vs BM_LinearScanHit/" + std::to_string(state.range(0)));  // bench/ratios.py
  std::size_t i = 0;
  for (auto _ : state) {
    auto m = s.ring.find(s.hits[i++ & (kQueries - 1)]);
    benchmark::DoNotOptimize(m);
  }
}

void BM_RingFindMiss(benchmark::State& state) {
  const Setup s = make_setup(static_cast<std::size_t>(state.range(0)));
  state.SetLabel("vs BM_LinearScanMiss/" + std::to_string(state.range(0)));  // bench/ratios.py
  std::size_t i = 0;
  for (auto _ : state) {
    auto m = s.ring.find(s.misses[i++ & (kQueries - 1)]);
    benchmark::DoNotOptimize(m);
  }
}

void BM_LinearScanHit(benchmark::State& state) {
  const Setup s = make_setup(static_cast<std::size_t>(state.range(0)));
  std::size_t i = 0;
  for (auto _ : state) {
    const KeyName* m = linear_find(s.array, s.hits[i++ & (kQueries - 1)]);
    benchmark::DoNotOptimize(m);
  }
}

void BM_LinearScanMiss(benchmark::State& state) {
  const Setup s = make_setup(static_cast<std::size_t>(state.range(0)));
  std::size_t i = 0;
  for (auto _ : state) {
    const KeyName* m = linear_find(s.array, s.misses[i++ & (kQueries - 1)]);
    benchmark::DoNotOptimize(m);
  }
}

BENCHMARK(BM_RingFindHit)->Arg(3)->Arg(21)->Arg(1000);
BENCHMARK(BM_LinearScanHit)->Arg(3)->Arg(21)->Arg(1000);
BENCHMARK(BM_RingFindMiss)->Arg(3)->Arg(21)->Arg(1000);
BENCHMARK(BM_LinearScanMiss)->Arg(3)->Arg(21)->Arg(1000);

}  // namespace
}  // namespace stek
