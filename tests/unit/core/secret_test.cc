// SecretBytes and friends: move-only ownership that leaves the source empty, explicit
// wiping, constant-time equality, and the compile-time guarantee that key material can be
// neither copied nor printed nor formatted by accident.
#include "stek/secret.h"

#include <array>
#include <cstring>
#include <ostream>
#include <sstream>
#include <type_traits>
#include <utility>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "stek/key.h"
#include "stek/ring.h"

#include "testing/keys.h"

namespace stek {
namespace {

template <class T>
concept Streamable = requires(std::ostream& os, const T& v) {
  os << v;
};

// Key material must not compile into a stream or a format string.
static_assert(!Streamable<SecretBytes>, "SecretBytes must not be printable");
static_assert(!fmt::is_formattable<SecretBytes>::value, "SecretBytes must not be formattable");
// The detection idiom itself works: a printable type is detected as printable.
static_assert(Streamable<std::string>);
static_assert(fmt::is_formattable<std::string>::value);

// Copies of key material must be explicit (clone()), never implicit.
static_assert(!std::is_copy_constructible_v<SecretBytes>);
static_assert(!std::is_copy_assignable_v<SecretBytes>);
static_assert(std::is_nothrow_move_constructible_v<SecretBytes>);
static_assert(std::is_nothrow_move_assignable_v<SecretBytes>);
static_assert(!std::is_copy_constructible_v<TicketKey>);
static_assert(!std::is_copy_assignable_v<TicketKey>);
static_assert(!std::is_copy_constructible_v<KeyRing>);
static_assert(!std::is_copy_assignable_v<KeyRing>);

using testing::pattern_bytes;

TEST(SecretBytesTest, SizedConstructorGivesZeroBytes) {
  SecretBytes s(5);
  ASSERT_EQ(s.size(), 5u);
  for (std::size_t i = 0; i < s.size(); ++i) EXPECT_EQ(s.data()[i], 0);
  SecretBytes none;
  EXPECT_TRUE(none.empty());
  EXPECT_EQ(none.data(), nullptr);
}

TEST(SecretBytesTest, MoveConstructionLeavesSourceEmpty) {
  SecretBytes a = pattern_bytes(1, 32);
  const std::uint8_t* storage = a.data();
  SecretBytes b(std::move(a));
  EXPECT_EQ(b.size(), 32u);
  EXPECT_EQ(b.data(), storage);  // moved, not copied
  EXPECT_TRUE(a.empty());        // NOLINT(bugprone-use-after-move): checking the moved-from state
  EXPECT_EQ(a.size(), 0u);
  EXPECT_EQ(a.data(), nullptr);
  EXPECT_TRUE(b.equals(pattern_bytes(1, 32).view()));
}

TEST(SecretBytesTest, MoveAssignmentLeavesSourceEmptyAndReplacesTarget) {
  SecretBytes a = pattern_bytes(1, 32);
  SecretBytes b = pattern_bytes(2, 16);
  b = std::move(a);
  EXPECT_TRUE(a.empty());  // NOLINT(bugprone-use-after-move)
  EXPECT_EQ(a.data(), nullptr);
  EXPECT_EQ(b.size(), 32u);
  EXPECT_TRUE(b.equals(pattern_bytes(1, 32).view()));
}

TEST(SecretBytesTest, SelfMoveAssignmentKeepsTheBytes) {
  SecretBytes a = pattern_bytes(3, 16);
  SecretBytes& alias = a;
  a = std::move(alias);
  EXPECT_TRUE(a.equals(pattern_bytes(3, 16).view()));
}

TEST(SecretBytesTest, WipeEmptiesAndReleases) {
  SecretBytes a = pattern_bytes(4, 48);
  a.wipe();
  EXPECT_TRUE(a.empty());
  EXPECT_EQ(a.data(), nullptr);
  a.wipe();  // idempotent
  EXPECT_TRUE(a.empty());
}

TEST(SecretBytesTest, CloneIsAnIndependentCopy) {
  SecretBytes a = pattern_bytes(5, 32);
  SecretBytes b = a.clone();
  EXPECT_NE(a.data(), b.data());
  EXPECT_TRUE(a.equals(b.view()));
  b.data()[0] ^= 1;
  EXPECT_FALSE(a.equals(b.view()));
}

TEST(SecretBytesTest, EqualsComparesContentAndLength) {
  SecretBytes a = pattern_bytes(6, 32);
  EXPECT_TRUE(a.equals(pattern_bytes(6, 32).view()));
  EXPECT_FALSE(a.equals(pattern_bytes(7, 32).view()));
  EXPECT_FALSE(a.equals(a.view(0, 31)));  // a prefix is not equal
  SecretBytes last_differs = a.clone();
  last_differs.data()[31] ^= 0x80;
  EXPECT_FALSE(a.equals(last_differs.view()));
  EXPECT_TRUE(SecretBytes().equals(ByteView{}));
}

TEST(SecretBytesTest, SubViewsAddressTheRightBytes) {
  SecretBytes a = testing::counting_bytes(0, 10);
  ByteView v = a.view(3, 4);
  ASSERT_EQ(v.size(), 4u);
  EXPECT_EQ(v[0], 3);
  EXPECT_EQ(v[3], 6);
}

TEST(SecretBytesTest, CopyOfCopiesTheGivenBytes) {
  const std::array<std::uint8_t, 3> raw = {9, 8, 7};
  SecretBytes s = SecretBytes::copy_of(raw);
  ASSERT_EQ(s.size(), 3u);
  EXPECT_NE(s.data(), raw.data());
  EXPECT_TRUE(s.equals(raw));
  EXPECT_TRUE(SecretBytes::copy_of(ByteView{}).empty());
}

TEST(ConstantTimeEqualTest, ComparesLengthThenContent) {
  const std::array<std::uint8_t, 4> a = {1, 2, 3, 4};
  const std::array<std::uint8_t, 4> b = {1, 2, 3, 5};
  const std::array<std::uint8_t, 3> c = {1, 2, 3};
  EXPECT_TRUE(constant_time_equal(a, a));
  EXPECT_FALSE(constant_time_equal(a, b));
  EXPECT_FALSE(constant_time_equal(a, c));
  EXPECT_TRUE(constant_time_equal(ByteView{}, ByteView{}));
}

TEST(SecureWipeTest, ZeroesTheWholeBuffer) {
  std::array<std::uint8_t, 64> buf{};
  buf.fill(0xa5);
  secure_wipe(buf.data(), buf.size());
  for (std::uint8_t b : buf) ASSERT_EQ(b, 0);
}

TEST(SecureWipeTest, LeavesBytesOutsideTheRangeAlone) {
  std::array<std::uint8_t, 8> buf{};
  buf.fill(0x5a);
  secure_wipe(buf.data() + 2, 4);
  EXPECT_EQ(buf[1], 0x5a);
  EXPECT_EQ(buf[2], 0);
  EXPECT_EQ(buf[5], 0);
  EXPECT_EQ(buf[6], 0x5a);
  secure_wipe(nullptr, 0);  // a no-op, not a crash
  secure_wipe(buf.data(), 0);
  EXPECT_EQ(buf[0], 0x5a);
}

TEST(SecretStringTest, BehavesLikeAString) {
  SecretString s = "hmac ";
  for (int i = 0; i < 100; ++i) s += "0123456789abcdef";  // forces reallocations
  EXPECT_EQ(s.size(), 5u + 1600u);
  EXPECT_EQ(s.substr(0, 5), "hmac ");
  EXPECT_EQ(s.compare(5, 16, "0123456789abcdef"), 0);
  SecretString moved = std::move(s);
  EXPECT_EQ(moved.size(), 1605u);
}

TEST(WipingAllocatorTest, AllocatesUsableMemoryAndComparesEqual) {
  WipingAllocator<std::uint32_t> a;
  std::uint32_t* p = a.allocate(16);
  for (std::uint32_t i = 0; i < 16; ++i) p[i] = 0xdeadbeef ^ i;
  EXPECT_EQ(p[15], 0xdeadbeefu ^ 15u);
  a.deallocate(p, 16);
  WipingAllocator<char> b(a);  // rebinding copy
  EXPECT_TRUE(b == a);
}

}  // namespace
}  // namespace stek
