// KeyRing: validation of the whole set (one encrypting key, no duplicates, no expired keys),
// lookup by key name with the renew decision, canonical order, re-roling across a rotation
// with KeyRing::at, and clone.
#include "stek/ring.h"

#include <limits>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "stek/bytes.h"

#include "testing/keys.h"

namespace stek {
namespace {

using testing::make_key;
using testing::make_ring;
using testing::names_of;
using testing::ring_key;
using testing::roles_of;

void expect_refused(Result<KeyRing> r, Errc code, const std::string& message) {
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, code);
  EXPECT_EQ(r.error().message, message);
}

std::vector<RingKey> keys_with_roles(const std::vector<KeyRole>& roles) {
  std::vector<RingKey> keys;
  for (std::size_t i = 0; i < roles.size(); ++i)
    keys.push_back(ring_key(make_key(i + 1), roles[i]));
  return keys;
}

TEST(KeyRingTest, RefusesAnEmptyRing) {
  expect_refused(KeyRing::make({}), Errc::invalid_argument, "key ring is empty");
}

TEST(KeyRingTest, RefusesRingWithoutAnEncryptingKey) {
  expect_refused(KeyRing::make(keys_with_roles({KeyRole::next, KeyRole::decrypt})),
                 Errc::invalid_argument, "key ring has 0 encrypting keys, expected exactly 1");
}

TEST(KeyRingTest, RefusesRingWithTwoEncryptingKeys) {
  expect_refused(
      KeyRing::make(keys_with_roles({KeyRole::encrypt, KeyRole::decrypt, KeyRole::encrypt})),
      Errc::invalid_argument, "key ring has 2 encrypting keys, expected exactly 1");
}

TEST(KeyRingTest, RefusesExpiredKeys) {
  std::vector<RingKey> keys = keys_with_roles({KeyRole::encrypt, KeyRole::expired});
  const std::string name = keys[1].key.name_hex();
  expect_refused(KeyRing::make(std::move(keys)), Errc::invalid_argument,
                 "key " + name + " is expired and must not be in a ring");
}

TEST(KeyRingTest, RefusesDuplicateNames) {
  std::vector<RingKey> keys = keys_with_roles({KeyRole::encrypt, KeyRole::decrypt});
  TicketKey other = make_key(99);
  keys.push_back(ring_key(
      TicketKey::make(keys[0].key.name(), other.hmac_key().clone(), other.aes_key().clone())
          .value(),
      KeyRole::decrypt));
  const std::string name = keys[0].key.name_hex();
  expect_refused(KeyRing::make(std::move(keys)), Errc::duplicate_key,
                 "key name " + name + " appears twice (keys 1 and 3)");
}

TEST(KeyRingTest, RefusesDuplicateKeyMaterialUnderAnotherName) {
  std::vector<RingKey> keys = keys_with_roles({KeyRole::encrypt, KeyRole::decrypt});
  TicketKey other = make_key(99);
  // A new name, the same HMAC key as key 2: a fleet that re-labels an old key.
  keys.push_back(ring_key(
      TicketKey::make(other.name(), keys[1].key.hmac_key().clone(), other.aes_key().clone())
          .value(),
      KeyRole::next));
  const std::string first = keys[1].key.name_hex();
  const std::string second = other.name_hex();
  auto r = KeyRing::make(std::move(keys));
  expect_refused(std::move(r), Errc::duplicate_key,
                 "keys " + first + " and " + second + " share key material");
}

TEST(KeyRingTest, RefusesSharedAesKeyAlone) {
  std::vector<RingKey> keys = keys_with_roles({KeyRole::encrypt});
  TicketKey other = make_key(99);
  keys.push_back(ring_key(
      TicketKey::make(other.name(), other.hmac_key().clone(), keys[0].key.aes_key().clone())
          .value(),
      KeyRole::decrypt));
  auto r = KeyRing::make(std::move(keys));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::duplicate_key);
}

TEST(KeyRingTest, HasExactlyOneEncryptingKeyFirst) {
  KeyRing ring = make_ring({KeyRole::decrypt, KeyRole::next, KeyRole::encrypt});
  EXPECT_EQ(ring.size(), 3u);
  EXPECT_EQ(ring.encrypting().meta.role, KeyRole::encrypt);
  EXPECT_EQ(ring.encrypting().key.name(), make_key(3).name());
  EXPECT_EQ(&ring.encrypting(), &ring.keys()[0]);
}

TEST(KeyRingTest, KeepsCanonicalOrderEncryptNextDecryptPending) {
  KeyRing ring = make_ring({KeyRole::pending, KeyRole::decrypt, KeyRole::next, KeyRole::decrypt,
                            KeyRole::encrypt, KeyRole::pending});
  EXPECT_EQ(roles_of(ring),
            (std::vector<KeyRole>{KeyRole::encrypt, KeyRole::next, KeyRole::decrypt,
                                  KeyRole::decrypt, KeyRole::pending, KeyRole::pending}));
  // Within a role, the given order is kept.
  EXPECT_EQ(names_of(ring),
            (std::vector<std::string>{make_key(5).name_hex(), make_key(3).name_hex(),
                                      make_key(2).name_hex(), make_key(4).name_hex(),
                                      make_key(1).name_hex(), make_key(6).name_hex()}));
}

TEST(KeyRingTest, FindDoesNotRenewTicketsOfTheEncryptingKey) {
  KeyRing ring = make_ring({KeyRole::encrypt, KeyRole::next, KeyRole::decrypt, KeyRole::pending});
  auto m = ring.find(make_key(1).name());
  ASSERT_TRUE(m.has_value());
  EXPECT_FALSE(m->renew);
  EXPECT_EQ(m->key, &ring.encrypting());
}

TEST(KeyRingTest, FindRenewsTicketsOfNextAndDecryptKeys) {
  KeyRing ring = make_ring({KeyRole::encrypt, KeyRole::next, KeyRole::decrypt, KeyRole::pending});
  auto next = ring.find(make_key(2).name());
  ASSERT_TRUE(next.has_value());
  EXPECT_TRUE(next->renew);
  EXPECT_EQ(next->key->meta.role, KeyRole::next);
  EXPECT_EQ(next->key->key.name(), make_key(2).name());
  auto old = ring.find(make_key(3).name());
  ASSERT_TRUE(old.has_value());
  EXPECT_TRUE(old->renew);
  EXPECT_EQ(old->key->meta.role, KeyRole::decrypt);
  EXPECT_TRUE(old->key->key.aes_key().equals(make_key(3).aes_key().view()));
}

TEST(KeyRingTest, FindIgnoresPendingKeysAndUnknownNames) {
  KeyRing ring = make_ring({KeyRole::encrypt, KeyRole::next, KeyRole::decrypt, KeyRole::pending});
  EXPECT_FALSE(ring.find(make_key(4).name()).has_value());   // pending
  EXPECT_FALSE(ring.find(make_key(77).name()).has_value());  // unknown
  KeyName almost = make_key(1).name();
  almost[15] ^= 1;
  EXPECT_FALSE(ring.find(almost).has_value());
  almost = make_key(1).name();
  almost[0] ^= 0x80;
  EXPECT_FALSE(ring.find(almost).has_value());
}

TEST(KeyRingTest, FindsEveryKeyOfALargeRing) {
  std::vector<KeyRole> roles(300, KeyRole::decrypt);
  roles[150] = KeyRole::encrypt;
  KeyRing ring = make_ring(roles);
  for (std::size_t i = 0; i < roles.size(); ++i) {
    auto m = ring.find(make_key(i + 1).name());
    ASSERT_TRUE(m.has_value()) << i;
    EXPECT_EQ(m->key->key.name(), make_key(i + 1).name());
    EXPECT_EQ(m->renew, i != 150);
  }
  EXPECT_FALSE(ring.find(make_key(301).name()).has_value());
}

TEST(KeyRingTest, FindStillWorksAfterTheRingIsMoved) {
  KeyRing ring = make_ring({KeyRole::decrypt, KeyRole::encrypt});
  KeyRing moved = std::move(ring);
  auto m = moved.find(make_key(1).name());
  ASSERT_TRUE(m.has_value());
  EXPECT_TRUE(m->renew);
  EXPECT_GE(m->key, moved.keys().data());
  EXPECT_LT(m->key, moved.keys().data() + moved.size());
}

TEST(KeyRingTest, CloneIsAnEqualIndependentRing) {
  std::vector<RingKey> keys = keys_with_roles({KeyRole::encrypt, KeyRole::next, KeyRole::decrypt});
  keys[0].meta.domain = "eu-west";
  keys[0].meta.epoch = 498754;
  keys[0].meta.secret_version = 3;
  RingInfo info;
  info.version = 17;
  info.generated_at = 1795514400;
  info.schedule = ScheduleParams{60, 3, 1};
  KeyRing ring = KeyRing::make(std::move(keys), info).value();
  KeyRing copy = ring.clone();
  ASSERT_EQ(copy.size(), ring.size());
  EXPECT_EQ(names_of(copy), names_of(ring));
  EXPECT_EQ(roles_of(copy), roles_of(ring));
  for (std::size_t i = 0; i < ring.size(); ++i) {
    EXPECT_TRUE(copy.keys()[i].key.hmac_key().equals(ring.keys()[i].key.hmac_key().view()));
    EXPECT_TRUE(copy.keys()[i].key.aes_key().equals(ring.keys()[i].key.aes_key().view()));
    EXPECT_NE(copy.keys()[i].key.aes_key().data(), ring.keys()[i].key.aes_key().data());
  }
  EXPECT_EQ(copy.encrypting().meta.domain, "eu-west");
  EXPECT_EQ(copy.encrypting().meta.epoch, 498754);
  EXPECT_EQ(copy.encrypting().meta.secret_version, 3u);
  EXPECT_EQ(copy.info().version, 17u);
  EXPECT_EQ(copy.info().generated_at, 1795514400);
  ASSERT_TRUE(copy.info().schedule.has_value());
  EXPECT_EQ(copy.info().schedule->interval, 60);
  // The clone's index points into the clone, not into the original.
  auto m = copy.find(make_key(2).name());
  ASSERT_TRUE(m.has_value());
  EXPECT_GE(m->key, copy.keys().data());
  EXPECT_LT(m->key, copy.keys().data() + copy.size());
}

TEST(KeyRingTest, UniformSizeDetectsMixedKeySizes) {
  EXPECT_TRUE(make_ring({KeyRole::encrypt, KeyRole::decrypt}).uniform_size());
  EXPECT_TRUE(make_ring({KeyRole::encrypt, KeyRole::decrypt}, KeySize::k48).uniform_size());
  std::vector<RingKey> keys;
  keys.push_back(ring_key(make_key(1, KeySize::k80), KeyRole::encrypt));
  keys.push_back(ring_key(make_key(2, KeySize::k48), KeyRole::decrypt));
  EXPECT_FALSE(KeyRing::make(std::move(keys)).value().uniform_size());
}

// A host's ring under I = 60 s, H = 3, L = 2, with keys for epochs 97..102 (held at epoch 100).
class KeyRingAtTest : public ::testing::Test {
 protected:
  const Schedule schedule = Schedule::make({60, 3, 2}).value();
  const Epoch e = 100;

  KeyRing held_ring(Epoch first, Epoch last, UnixSeconds t) const {
    std::vector<RingKey> keys;
    for (Epoch k = first; k <= last; ++k) {
      RingKey rk = ring_key(make_key(static_cast<std::uint64_t>(k)), schedule.role(k, t));
      rk.meta.epoch = k;
      rk.meta.domain = "eu-west";
      keys.push_back(std::move(rk));
    }
    return KeyRing::make(std::move(keys)).value();
  }

  static std::vector<Epoch> epochs_of(const KeyRing& ring) {
    std::vector<Epoch> out;
    for (const RingKey& k : ring.keys()) out.push_back(*k.meta.epoch);
    return out;
  }
};

TEST_F(KeyRingAtTest, AssignsRolesFromEpochsNewestFirst) {
  const UnixSeconds t = schedule.epoch_start(e) + 5;
  KeyRing ring = held_ring(97, 102, t).at(schedule, t).value();
  EXPECT_EQ(epochs_of(ring), (std::vector<Epoch>{100, 101, 99, 98, 97, 102}));
  EXPECT_EQ(roles_of(ring),
            (std::vector<KeyRole>{KeyRole::encrypt, KeyRole::next, KeyRole::decrypt,
                                  KeyRole::decrypt, KeyRole::decrypt, KeyRole::pending}));
  for (const RingKey& k : ring.keys()) {
    EXPECT_EQ(k.meta.not_before, schedule.not_before(*k.meta.epoch));
    EXPECT_EQ(k.meta.not_after, schedule.not_after(*k.meta.epoch));
    EXPECT_EQ(k.meta.domain, "eu-west");  // other metadata is kept
  }
  ASSERT_TRUE(ring.info().schedule.has_value());
  EXPECT_EQ(ring.info().schedule->history, 3);
}

TEST_F(KeyRingAtTest, ReRolesAcrossARotation) {
  const UnixSeconds boundary = schedule.epoch_start(e + 1);
  KeyRing held = held_ring(97, 102, schedule.epoch_start(e));

  KeyRing before = held.at(schedule, boundary - 1).value();
  EXPECT_EQ(*before.encrypting().meta.epoch, e);
  EXPECT_EQ(before.size(), 6u);

  KeyRing after = held.at(schedule, boundary).value();
  EXPECT_EQ(*after.encrypting().meta.epoch, e + 1);
  // 97 expired at the boundary (97 + H = 100 has ended) and is dropped.
  EXPECT_EQ(epochs_of(after), (std::vector<Epoch>{101, 102, 100, 99, 98}));
  EXPECT_EQ(roles_of(after),
            (std::vector<KeyRole>{KeyRole::encrypt, KeyRole::next, KeyRole::decrypt,
                                  KeyRole::decrypt, KeyRole::decrypt}));
  // A ticket of the old current key still opens and is renewed; the new one is not renewed.
  auto old = after.find(make_key(100).name());
  ASSERT_TRUE(old.has_value());
  EXPECT_TRUE(old->renew);
  auto cur = after.find(make_key(101).name());
  ASSERT_TRUE(cur.has_value());
  EXPECT_FALSE(cur->renew);
  EXPECT_FALSE(after.find(make_key(97).name()).has_value());

  KeyRing later = held.at(schedule, boundary + 1).value();
  EXPECT_EQ(epochs_of(later), epochs_of(after));
}

TEST_F(KeyRingAtTest, FailsWhenTheHeldKeysRunOut) {
  KeyRing held = held_ring(97, 102, schedule.epoch_start(e));
  // The last held epoch still works...
  auto last = held.at(schedule, schedule.epoch_start(102) + 59);
  ASSERT_TRUE(last.ok());
  EXPECT_EQ(*last->encrypting().meta.epoch, 102);
  // ...the second after it does not.
  auto out = held.at(schedule, schedule.epoch_start(103));
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.error().code, Errc::not_found);
  EXPECT_EQ(out.error().message, "no key for the current epoch 103: the held keys have run out");
}

TEST_F(KeyRingAtTest, FailsBeforeTheFirstHeldEpoch) {
  KeyRing held = held_ring(97, 102, schedule.epoch_start(e));
  auto early = held.at(schedule, schedule.epoch_start(97) - 1);
  ASSERT_FALSE(early.ok());
  EXPECT_EQ(early.error().code, Errc::not_found);
}

TEST_F(KeyRingAtTest, RefusesEpochsTooFarAwayToPlaceInTime) {
  // A ring file may carry any epoch; one whose start or end in seconds does not fit in
  // 64 bits is refused, not overflowed (found by fuzz_keyring).
  std::vector<RingKey> keys;
  RingKey current = ring_key(make_key(1), KeyRole::encrypt);
  current.meta.epoch = e;
  keys.push_back(std::move(current));
  RingKey far = ring_key(make_key(2), KeyRole::pending);
  far.meta.epoch = std::numeric_limits<Epoch>::max() - 1;
  const std::string far_name = far.key.name_hex();
  keys.push_back(std::move(far));
  KeyRing ring = KeyRing::make(std::move(keys)).value();
  auto r = ring.at(schedule, schedule.epoch_start(e));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::invalid_argument);
  EXPECT_EQ(r.error().message, "key " + far_name + " has epoch 9223372036854775806, too far " +
                                   "away to place in time with a 60 s interval");
}

TEST_F(KeyRingAtTest, FailsForKeysWithoutEpochs) {
  KeyRing ring = make_ring({KeyRole::encrypt, KeyRole::decrypt});
  auto r = ring.at(schedule, 0);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::invalid_argument);
  EXPECT_EQ(r.error().message,
            "key " + ring.encrypting().key.name_hex() + " has no epoch; roles cannot be derived");
}

}  // namespace
}  // namespace stek
