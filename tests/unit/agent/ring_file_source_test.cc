// The ring file source on real files and a fixed clock.
#include "ring_file_source.h"

#include <gtest/gtest.h>

#include "stek/file.h"

#include "fakes.h"
#include "testing/fixed_clock.h"
#include "times.h"

namespace stek::agent {
namespace {

using testing::make_ring;
using testing::ring_json;
using testing::TempDir;

using test::kE;
using test::kT;

void write_ring(const std::filesystem::path& path, const std::string& domain,
                std::uint64_t version) {
  auto bytes = ring_json(make_ring(domain, kE - 2, kE + 2, kT, version));
  ASSERT_TRUE(write_file_atomic(path, bytes.view(), 0600).ok());
}

TEST(RingFileSource, TakesTheFileThenOnlyANewerVersion) {
  TempDir dir;
  FixedClock clock(kT);
  RingFileSource source(dir / "ring.json", "eu", clock);
  write_ring(dir / "ring.json", "eu", 3);
  RingUpdate first = source.next(std::nullopt);
  EXPECT_EQ(first.sync, RingUpdate::Sync::answered);
  ASSERT_TRUE(first.ring.has_value());
  EXPECT_EQ(first.ring->version(), 3u);
  EXPECT_EQ(first.pause, RingFileSource::kPoll);

  RingUpdate same = source.next(first.ring);
  EXPECT_EQ(same.sync, RingUpdate::Sync::none);
  EXPECT_FALSE(same.ring.has_value());
  EXPECT_EQ(same.pause, RingFileSource::kPoll);

  write_ring(dir / "ring.json", "eu", 4);
  RingUpdate newer = source.next(first.ring);
  ASSERT_TRUE(newer.ring.has_value());
  EXPECT_EQ(newer.ring->version(), 4u);
}

TEST(RingFileSource, AMissingOrForeignFileChangesNothingAndIsNoSyncFailure) {
  TempDir dir;
  FixedClock clock(kT);
  RingFileSource source(dir / "ring.json", "eu", clock);
  RingUpdate missing = source.next(std::nullopt);
  EXPECT_EQ(missing.sync, RingUpdate::Sync::none);
  EXPECT_FALSE(missing.ring.has_value());
  write_ring(dir / "ring.json", "us", 3);
  RingUpdate foreign = source.next(std::nullopt);
  EXPECT_EQ(foreign.sync, RingUpdate::Sync::none);
  EXPECT_FALSE(foreign.ring.has_value());
  EXPECT_EQ(foreign.pause, RingFileSource::kPoll);
}

TEST(RingFileSource, DescribesItselfAsOffline) {
  FixedClock clock(kT);
  RingFileSource source("/run/ring.json", "eu", clock);
  EXPECT_EQ(source.describe(), "source: ring file /run/ring.json (offline)\n");
}

}  // namespace
}  // namespace stek::agent
