// Random keys: how random_ticket_key splits the bytes it draws, that it refuses what a broken
// source gives, and that the system source produces fresh bytes.
#include "stek/random.h"

#include <array>
#include <vector>

#include <gtest/gtest.h>

#include "stek/bytes.h"

#include "testing/keys.h"

namespace stek {
namespace {

// Hands out a fixed byte sequence, then fails.
class ScriptedRandom final : public Random {
 public:
  explicit ScriptedRandom(SecretBytes bytes) : bytes_(std::move(bytes)) {}
  Status fill(std::span<std::uint8_t> out) override {
    if (used_ + out.size() > bytes_.size()) return make_error(Errc::crypto, "script exhausted");
    for (auto& b : out) b = bytes_.data()[used_++];
    return {};
  }

 private:
  SecretBytes bytes_;
  std::size_t used_ = 0;
};

TEST(RandomTicketKeyTest, SplitsDrawnBytesNameHmacAes) {
  SecretBytes script = testing::pattern_bytes(11, 80);
  ScriptedRandom random(script.clone());
  auto key = random_ticket_key(random, KeySize::k80);
  ASSERT_TRUE(key.ok());
  EXPECT_EQ(key->name_hex(), to_hex(script.view(0, 16)));
  EXPECT_TRUE(key->hmac_key().equals(script.view(16, 32)));
  EXPECT_TRUE(key->aes_key().equals(script.view(48, 32)));
}

TEST(RandomTicketKeyTest, FortyEightByteKeysDrawFortyEightBytes) {
  SecretBytes script = testing::pattern_bytes(12, 96);
  ScriptedRandom random(script.clone());
  auto first = random_ticket_key(random, KeySize::k48);
  auto second = random_ticket_key(random, KeySize::k48);
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(first->size(), KeySize::k48);
  EXPECT_TRUE(first->aes_key().equals(script.view(32, 16)));
  EXPECT_EQ(second->name_hex(), to_hex(script.view(48, 16)));
  EXPECT_FALSE(random_ticket_key(random, KeySize::k48).ok());  // the script ran out
}

TEST(RandomTicketKeyTest, RefusesAllZeroBytesFromABrokenSource) {
  ScriptedRandom random{SecretBytes(80)};
  auto key = random_ticket_key(random, KeySize::k80);
  ASSERT_FALSE(key.ok());
  EXPECT_EQ(key.error().code, Errc::weak_key);
}

TEST(RandomSecretTest, PropagatesSourceFailure) {
  ScriptedRandom random{SecretBytes(4)};
  auto s = random_secret(random, 32);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, Errc::crypto);
}

TEST(SystemRandomTest, GivesFreshBytesEachCall) {
  SystemRandom random;
  auto a = random_secret(random, 32);
  auto b = random_secret(random, 32);
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(b.ok());
  EXPECT_FALSE(a->equals(b->view()));
  EXPECT_TRUE(check_key_material("random", a->view()).ok());
  std::array<std::uint8_t, 0> none{};
  EXPECT_TRUE(random.fill(none).ok());
}

TEST(SystemRandomTest, MakesDistinctValidKeys) {
  SystemRandom random;
  std::vector<TicketKey> keys;
  for (int i = 0; i < 8; ++i) keys.push_back(random_ticket_key(random, KeySize::k80).value());
  for (std::size_t i = 0; i < keys.size(); ++i) {
    for (std::size_t j = 0; j < i; ++j) {
      EXPECT_NE(keys[i].name(), keys[j].name());
      EXPECT_FALSE(keys[i].same_material(keys[j]));
    }
  }
}

}  // namespace
}  // namespace stek
