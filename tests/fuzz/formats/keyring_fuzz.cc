// Fuzz target: KeyRing::make on keys built from the input (names, material, roles and
// epochs drawn so that duplicates and weak keys are common), then lookup, clone and
// re-roling with KeyRing::at under a schedule and time also drawn from the input.
#include <cstddef>
#include <cstdint>
#include <vector>

#include <fuzzer/FuzzedDataProvider.h>

#include "common.h"

using namespace stek;

namespace {

SecretBytes draw(FuzzedDataProvider& in, std::size_t n, const std::vector<SecretBytes>& pool) {
  // Sometimes reuse earlier material, to reach the duplicate checks.
  if (!pool.empty() && in.ConsumeIntegralInRange<int>(0, 7) == 0) {
    const SecretBytes& old = pool[in.ConsumeIntegralInRange<std::size_t>(0, pool.size() - 1)];
    if (old.size() >= n) return SecretBytes::copy_of(old.view(0, n));
  }
  SecretBytes out(n);
  std::vector<std::uint8_t> raw = in.ConsumeBytes<std::uint8_t>(n);
  for (std::size_t i = 0; i < raw.size(); ++i) out.data()[i] = raw[i];
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider in(data, size);
  const std::size_t count = in.ConsumeIntegralInRange<std::size_t>(1, 40);
  const bool with_epochs = in.ConsumeBool();
  std::vector<SecretBytes> pool;
  std::vector<RingKey> keys;
  for (std::size_t i = 0; i < count && in.remaining_bytes() > 0; ++i) {
    const std::size_t part = in.ConsumeBool() ? 32 : 16;
    SecretBytes name = draw(in, kKeyNameSize, pool);
    SecretBytes hmac = draw(in, part, pool);
    SecretBytes aes = draw(in, part, pool);
    KeyName n{};
    std::copy(name.data(), name.data() + kKeyNameSize, n.begin());
    pool.push_back(name.clone());
    pool.push_back(hmac.clone());
    pool.push_back(aes.clone());
    auto key = TicketKey::make(n, std::move(hmac), std::move(aes));
    if (!key.ok()) continue;
    KeyMeta meta;
    meta.role = static_cast<KeyRole>(in.ConsumeIntegralInRange<int>(0, 4));
    if (with_epochs) meta.epoch = in.ConsumeIntegral<std::int64_t>();
    keys.push_back({std::move(key).value(), meta});
  }
  std::vector<KeyName> names;
  for (const RingKey& k : keys) names.push_back(k.key.name());

  auto ring = KeyRing::make(std::move(keys));
  if (!ring.ok()) return 0;
  fuzz::check_ring(*ring);
  // Lookup agrees with a linear scan for every name that was offered, and for a fresh one.
  names.push_back(KeyName{0x01});
  for (const KeyName& n : names) {
    const RingKey* scan = nullptr;
    for (const RingKey& k : ring->keys()) {
      if (k.key.name() == n && role_decrypts(k.meta.role)) scan = &k;
    }
    auto m = ring->find(n);
    fuzz::check(m.has_value() == (scan != nullptr), "find disagrees with a linear scan");
    if (m) fuzz::check(m->key == scan, "find returned another key");
  }
  KeyRing copy = ring->clone();
  fuzz::check(fuzz::same_keys(*ring, copy), "clone differs");
  fuzz::check_ring(copy);

  // Re-role under a schedule and time from the input.
  ScheduleParams p;
  p.interval = in.ConsumeIntegralInRange<std::int64_t>(1, 1 << 20);
  p.history = in.ConsumeIntegralInRange<std::int64_t>(0, 200);
  p.lookahead = in.ConsumeIntegralInRange<std::int64_t>(1, 20);
  auto schedule = Schedule::make(p);
  if (!schedule.ok()) return 0;
  const UnixSeconds t =
      in.ConsumeIntegralInRange<std::int64_t>(-(std::int64_t{1} << 40), std::int64_t{1} << 40);
  auto at = ring->at(*schedule, t);
  if (!at.ok()) return 0;
  fuzz::check_ring(*at);
  fuzz::check(*at->encrypting().meta.epoch == schedule->epoch_at(t), "wrong encrypting epoch");
  for (const RingKey& k : at->keys()) {
    fuzz::check(k.meta.role == schedule->role(*k.meta.epoch, t), "role disagrees with schedule");
  }
  return 0;
}
