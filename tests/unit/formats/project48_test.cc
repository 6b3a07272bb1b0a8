// The 48-byte projection of stek's keys: what every 48-byte product (Apache, Traffic Server,
// nginx48, haproxy48) is given, with the same key names as the 80-byte keys.
#include <algorithm>
#include <vector>

#include <gtest/gtest.h>

#include "stek/derive.h"
#include "stek/formats.h"

#include "testing/expect.h"
#include "testing/keys.h"

namespace stek {
namespace {

using testing::counting_bytes;
using testing::make_key;
using testing::make_ring;

TEST(Project48Test, ProjectionIsTheKeyTheDerivationMakesAt48Bytes) {
  // Any secrets do: the projection must equal derive_ticket_key's own 48-byte key.
  const SecretBytes g = counting_bytes(0x00, 32);
  const SecretBytes d = counting_bytes(0x20, 32);
  TicketKey k80 = derive_ticket_key(d.view(), g.view(), "eu-west", 498754).value();
  TicketKey k48 = derive_ticket_key(d.view(), g.view(), "eu-west", 498754, KeySize::k48).value();
  TicketKey projected = project_to_48(k80).value();
  EXPECT_EQ(projected.size(), KeySize::k48);
  EXPECT_EQ(projected.name(), k80.name());
  EXPECT_TRUE(projected.hmac_key().equals(k48.hmac_key().view()));
  EXPECT_TRUE(projected.aes_key().equals(k48.aes_key().view()));
}

TEST(Project48Test, ProjectionKeepsTheFirst16BytesOfEachSecret) {
  TicketKey k = make_key(7);
  TicketKey p = project_to_48(k).value();
  EXPECT_TRUE(p.hmac_key().equals(k.hmac_key().view(0, 16)));
  EXPECT_TRUE(p.aes_key().equals(k.aes_key().view(0, 16)));
}

TEST(Project48Test, A48ByteKeyIsLeftAsItIs) {
  TicketKey k = make_key(9, KeySize::k48);
  TicketKey p = project_to_48(k).value();
  EXPECT_EQ(p.name(), k.name());
  EXPECT_TRUE(p.same_material(k));
}

TEST(Project48Test, RingProjectionKeepsNamesRolesAndOrder) {
  KeyRing ring = make_ring({KeyRole::encrypt, KeyRole::next, KeyRole::decrypt, KeyRole::pending});
  KeyRing p = project_ring_to_48(ring).value();
  ASSERT_EQ(p.size(), ring.size());
  for (std::size_t i = 0; i < ring.size(); ++i) {
    EXPECT_EQ(p.keys()[i].key.name(), ring.keys()[i].key.name());
    EXPECT_EQ(p.keys()[i].meta.role, ring.keys()[i].meta.role);
    EXPECT_EQ(p.keys()[i].key.size(), KeySize::k48);
  }
}

TEST(Project48Test, ApacheAndAtsFilesOfAProjectedRingHoldNameHmacThenAes) {
  KeyRing ring = make_ring({KeyRole::encrypt, KeyRole::next, KeyRole::decrypt});
  KeyRing p = project_ring_to_48(ring).value();
  SecretBytes ats = write_key_file(Format::ats, p).value();
  ASSERT_EQ(ats.size(), 3u * 48u);
  for (std::size_t i = 0; i < 3; ++i) {
    const TicketKey& k = ring.keys()[i].key;
    const ByteView rec = ats.view(i * 48, 48);
    EXPECT_TRUE(std::equal(k.name().begin(), k.name().end(), rec.begin()));
    EXPECT_TRUE(std::equal(rec.begin() + 16, rec.begin() + 32, k.hmac_key().view().begin()));
    EXPECT_TRUE(std::equal(rec.begin() + 32, rec.begin() + 48, k.aes_key().view().begin()));
  }
  std::vector<RingKey> one;
  one.push_back(p.encrypting().clone());
  SecretBytes apache =
      write_key_file(Format::apache, KeyRing::make(std::move(one)).value()).value();
  EXPECT_TRUE(apache.equals(ats.view(0, 48)));
}

TEST(Project48Test, Formats48StillRefuse80ByteKeysWithoutProjection) {
  KeyRing ring = make_ring({KeyRole::encrypt});
  EXPECT_FALSE(write_key_file(Format::apache, ring).ok());
}

}  // namespace
}  // namespace stek
