// TicketKeys: publication, time-driven rotation, runway and status.
#include <gtest/gtest.h>

#include "stek/bytes.h"
#include "stek/openssl.h"

#include "keys_state.h"
#include "ring_fixtures.h"
#include "testing/fixed_clock.h"

namespace stek::openssl {
namespace {

using test::key_of_epoch;
using test::make_ring;
using test::make_window_ring;

using test::kNow;

struct Fixture {
  FixedClock clock{kNow};
  Schedule schedule = Schedule::standard();
  std::shared_ptr<TicketKeys> keys = std::make_shared<TicketKeys>(KeysOptions{&clock});
};

TEST(TicketKeys, StartsEmptyAndIssuesNothing) {
  Fixture f;
  EXPECT_FALSE(f.keys->snapshot()->ring.has_value());
  const KeyStatus s = f.keys->status();
  EXPECT_FALSE(s.has_keys);
  EXPECT_EQ(s.current_key, "");
  EXPECT_FALSE(s.runway_seconds.has_value());
}

TEST(TicketKeys, PublishesRolesForNow) {
  Fixture f;
  const KeyRing source = make_window_ring(f.schedule, kNow);
  const Epoch e = f.schedule.epoch_at(kNow);
  ASSERT_TRUE(f.keys->update(source.clone()).ok());
  const auto snap = f.keys->snapshot();
  ASSERT_TRUE(snap->ring);
  EXPECT_EQ(snap->ring->encrypting().meta.epoch, e);
  EXPECT_EQ(snap->refresh_at, f.schedule.next_boundary(kNow));
  const KeyStatus s = f.keys->status();
  EXPECT_EQ(s.current_key, key_of_epoch(source, e).key.name_hex());
  EXPECT_EQ(s.current_epoch, e);
  // e-H .. e+1 open tickets; e+2 .. e+L are held but pending.
  EXPECT_EQ(s.keys_decrypting, static_cast<std::size_t>(f.schedule.history() + 2));
  EXPECT_EQ(s.keys_held,
            static_cast<std::size_t>(f.schedule.history() + 1 + f.schedule.lookahead()));
}

TEST(TicketKeys, RotatesExactlyAtEpochBoundary) {
  Fixture f;
  const KeyRing source = make_window_ring(f.schedule, kNow);
  ASSERT_TRUE(f.keys->update(source.clone()).ok());
  const Epoch e = f.schedule.epoch_at(kNow);
  const UnixSeconds boundary = f.schedule.next_boundary(kNow);

  f.clock.set(boundary - 1);
  f.keys->tick();
  EXPECT_EQ(f.keys->snapshot()->ring->encrypting().meta.epoch, e);
  EXPECT_EQ(f.keys->until_next_tick(), std::chrono::milliseconds(1000));

  f.clock.set(boundary);
  f.keys->tick();
  const auto after = f.keys->snapshot();
  EXPECT_EQ(after->ring->encrypting().meta.epoch, e + 1);
  // The old current key still opens tickets, and asks for renewal.
  auto old = after->ring->find(key_of_epoch(source, e).key.name());
  ASSERT_TRUE(old);
  EXPECT_TRUE(old->renew);

  const std::uint64_t generation = after->generation;
  f.clock.set(boundary + 1);
  f.keys->tick();
  EXPECT_EQ(f.keys->snapshot()->generation, generation) << "nothing was due: no new snapshot";
}

TEST(TicketKeys, KeepsRotatingWithoutSourceAndReportsRunway) {
  Fixture f;
  ASSERT_TRUE(f.keys->update(make_window_ring(f.schedule, kNow)).ok());
  const Epoch e = f.schedule.epoch_at(kNow);
  const UnixSeconds run_out = f.schedule.epoch_start(e + f.schedule.lookahead() + 1);
  EXPECT_EQ(f.keys->status().runway_seconds, run_out - kNow);
  EXPECT_EQ(f.keys->status().runway_seconds, f.schedule.runway(kNow));

  // No new ring ever arrives: the held keys carry on until e+L.
  for (Epoch k = e + 1; k <= e + f.schedule.lookahead(); ++k) {
    f.clock.set(f.schedule.epoch_start(k));
    f.keys->tick();
    const KeyStatus s = f.keys->status();
    ASSERT_TRUE(s.has_keys) << "epoch " << k;
    EXPECT_EQ(s.current_epoch, k);
    EXPECT_EQ(s.runway_seconds, run_out - f.schedule.epoch_start(k));
  }
  f.clock.set(run_out - 1);
  f.keys->tick();
  EXPECT_TRUE(f.keys->status().has_keys);
  EXPECT_EQ(f.keys->status().runway_seconds, 1);

  // Out of keys: no tickets rather than an old key past its epoch.
  f.clock.set(run_out);
  f.keys->tick();
  const KeyStatus s = f.keys->status();
  EXPECT_FALSE(s.has_keys);
  EXPECT_EQ(s.runway_seconds, 0);
  EXPECT_NE(s.last_error.find("no held key encrypts"), std::string::npos) << s.last_error;
  EXPECT_FALSE(f.keys->snapshot()->ring);

  // A new ring brings it back.
  ASSERT_TRUE(f.keys->update(make_window_ring(f.schedule, run_out)).ok());
  EXPECT_TRUE(f.keys->status().has_keys);
  EXPECT_EQ(f.keys->status().last_error, "");
}

TEST(TicketKeys, RefusesRingWithoutCurrentKeyAndKeepsThePrevious) {
  Fixture f;
  const KeyRing good = make_window_ring(f.schedule, kNow);
  ASSERT_TRUE(f.keys->update(good.clone()).ok());
  const Epoch e = f.schedule.epoch_at(kNow);
  // Keys for a day later only (a host whose clock is behind the key server's).
  const KeyRing future = make_ring(f.schedule, kNow + 86400, e + 24, e + 26);
  auto s = f.keys->update(future.clone());
  ASSERT_FALSE(s.ok());
  const KeyStatus status = f.keys->status();
  EXPECT_EQ(status.current_key, key_of_epoch(good, e).key.name_hex());
  EXPECT_NE(status.last_error.find("previous keys kept"), std::string::npos);
}

TEST(TicketKeys, UsesWrittenRolesWhenRingHasNoSchedule) {
  Fixture f;
  SystemRandom random;
  std::vector<RingKey> keys;
  keys.push_back({std::move(random_ticket_key(random, KeySize::k80)).value(), {KeyRole::decrypt}});
  keys.push_back({std::move(random_ticket_key(random, KeySize::k80)).value(), {KeyRole::encrypt}});
  const std::string current = keys[1].key.name_hex();
  ASSERT_TRUE(f.keys->update(std::move(KeyRing::make(std::move(keys))).value()).ok());
  EXPECT_EQ(f.keys->status().current_key, current);
  EXPECT_FALSE(f.keys->status().runway_seconds);
  EXPECT_FALSE(f.keys->until_next_tick());
  f.clock.advance(10 * 86400);
  f.keys->tick();
  EXPECT_EQ(f.keys->status().current_key, current);
}

TEST(TicketKeys, StatusNeverContainsKeyBytes) {
  Fixture f;
  const KeyRing ring = make_window_ring(f.schedule, kNow);
  ASSERT_TRUE(f.keys->update(ring.clone()).ok());
  detail::KeysAccess::report_source_error(*f.keys, make_error(Errc::io, "something"), true);
  const std::string json = key_status_json(f.keys->status());
  for (const RingKey& k : ring.keys()) {
    for (const SecretBytes* secret : {&k.key.hmac_key(), &k.key.aes_key()}) {
      const std::string hex = to_hex(secret->view());
      SecretBytes b64 = to_base64(secret->view());
      EXPECT_EQ(json.find(hex), std::string::npos);
      EXPECT_EQ(json.find(std::string(as_chars(b64.view()))), std::string::npos);
      EXPECT_EQ(json.find(hex.substr(0, 16)), std::string::npos);
    }
  }
  EXPECT_NE(json.find(ring.encrypting().key.name_hex()), std::string::npos);
}

TEST(TicketKeys, CountsOutcomes) {
  Fixture f;
  detail::KeysAccess::count(*f.keys, TicketResult::ok);
  detail::KeysAccess::count(*f.keys, TicketResult::renew);
  detail::KeysAccess::count(*f.keys, TicketResult::renew);
  detail::KeysAccess::count(*f.keys, TicketResult::unknown_key);
  detail::KeysAccess::count(*f.keys, TicketResult::invalid);
  detail::KeysAccess::count_issued(*f.keys, true);
  detail::KeysAccess::count_issued(*f.keys, false);
  const TicketCounters c = f.keys->status().counters;
  EXPECT_EQ(c.resumed, 1u);
  EXPECT_EQ(c.renewed, 2u);
  EXPECT_EQ(c.unknown_key, 1u);
  EXPECT_EQ(c.invalid, 1u);
  EXPECT_EQ(c.issued, 1u);
  EXPECT_EQ(c.not_issued, 1u);
}

}  // namespace
}  // namespace stek::openssl
