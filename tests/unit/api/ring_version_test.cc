// Ring versions: the packing epoch * 2^20 + secret version, its limits and its order.
#include "api/ring_version.h"

#include <limits>

#include <gtest/gtest.h>

#include "testing/expect.h"

namespace stek::api {
namespace {

using stek::testing::expect_error;

TEST(RingVersion, PacksEpochAndSecretVersionAsEpochTimesTwoToThe20PlusVersion) {
  // The example of docs/api.md: epoch 498754, secret version 1.
  auto v = RingVersion::make(498754, 1);
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->wire(), 498754ull * 1048576 + 1);
  EXPECT_EQ(v->wire(), 522981474305ull);
  EXPECT_EQ(to_string(*v), "522981474305");
}

TEST(RingVersion, EveryWireValueDecodesAndEncodesBack) {
  for (std::uint64_t wire :
       {std::uint64_t{0}, std::uint64_t{1}, std::uint64_t{1} << 20, (std::uint64_t{1} << 20) - 1,
        std::uint64_t{522981474305}, std::numeric_limits<std::uint64_t>::max()}) {
    const RingVersion v = RingVersion::from_wire(wire);
    EXPECT_EQ(v.wire(), wire);
    auto again = RingVersion::make(v.epoch(), v.secret_version());
    ASSERT_TRUE(again.ok()) << wire;
    EXPECT_EQ(*again, v);
  }
  const RingVersion top = RingVersion::from_wire(std::numeric_limits<std::uint64_t>::max());
  EXPECT_EQ(top.epoch(), RingVersion::kMaxEpoch);
  EXPECT_EQ(top.secret_version(), RingVersion::kMaxSecretVersion);
}

TEST(RingVersion, RefusesPartsThatDoNotFitTheWireValue) {
  EXPECT_TRUE(RingVersion::make(0, RingVersion::kMaxSecretVersion).ok());
  expect_error(RingVersion::make(0, RingVersion::kMaxSecretVersion + 1), Errc::invalid_argument,
               "ring version: secret version 1048576 is above 1048575");
  EXPECT_TRUE(RingVersion::make(RingVersion::kMaxEpoch, 0).ok());
  expect_error(RingVersion::make(RingVersion::kMaxEpoch + 1, 0), Errc::invalid_argument,
               "ring version: epoch 17592186044416 is outside 0..17592186044415");
  EXPECT_FALSE(RingVersion::make(-1, 0).ok());
  EXPECT_FALSE(RingVersion::make(std::numeric_limits<Epoch>::max(), 0).ok());
  EXPECT_FALSE(RingVersion::make(1, std::numeric_limits<std::uint64_t>::max()).ok());
}

TEST(RingVersion, OrdersLikeTheWireValue) {
  const RingVersion a = *RingVersion::make(10, 5);
  const RingVersion b = *RingVersion::make(10, 6);
  const RingVersion c = *RingVersion::make(11, 1);  // a new epoch beats any secret version
  EXPECT_LT(a, b);
  EXPECT_LT(b, c);
  EXPECT_LT(*RingVersion::make(10, RingVersion::kMaxSecretVersion), c);
  EXPECT_LT(a.wire(), b.wire());
  EXPECT_LT(b.wire(), c.wire());
  EXPECT_EQ(RingVersion{}, RingVersion::from_wire(0));
}

TEST(RingVersion, ParsesTheDecimalWireValue) {
  EXPECT_EQ(parse_ring_version("522981474305", "wait")->wire(), 522981474305ull);
  EXPECT_EQ(parse_ring_version("18446744073709551615", "wait")->wire(),
            std::numeric_limits<std::uint64_t>::max());
  EXPECT_EQ(parse_ring_version("007", "wait")->wire(), 7u);
}

TEST(RingVersion, RefusesNonNumbersAndOverflow) {
  expect_error(parse_ring_version("18446744073709551616", "wait"), Errc::bad_format,
               "wait is out of range");
  expect_error(parse_ring_version("", "wait"), Errc::bad_format,
               "wait must be a non-negative integer");
  for (const char* bad : {"-1", "+1", " 1", "1 ", "0x10", "1e3", "abc"}) {
    EXPECT_FALSE(parse_ring_version(bad, "X-Stek-Ring-Version").ok()) << bad;
  }
}

}  // namespace
}  // namespace stek::api
