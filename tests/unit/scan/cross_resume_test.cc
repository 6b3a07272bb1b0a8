// merge --cross-resume's findings from the offers' results: a ticket that resumed across
// two vantage points is one finding for the pair; refusals and tickets not tried are listed
// but find nothing.
#include "cross_resume.h"

#include <gtest/gtest.h>

namespace stek::scan {
namespace {

CrossOffer cross_offer(std::string from, std::string to, CrossOutcome outcome) {
  CrossOffer o;
  o.from_vantage = std::move(from);
  o.from_endpoint = "127.0.0.1:1";
  o.to_vantage = std::move(to);
  o.to_endpoint = "127.0.0.1:2";
  o.tls_version = "TLSv1.3";
  o.issued_ms = 1'700'000'000'000;
  o.tried_ms = outcome == CrossOutcome::not_tried ? 0 : o.issued_ms + 1000;
  o.outcome = outcome;
  return o;
}

TEST(CrossResume, ResumptionBothWaysIsOneFindingForThePair) {
  Json merged{{"findings", Json::array()}};
  add_cross_resumption(merged, {cross_offer("fra", "sfo", CrossOutcome::resumed),
                                cross_offer("sfo", "fra", CrossOutcome::resumed),
                                cross_offer("fra", "nrt", CrossOutcome::refused),
                                cross_offer("nrt", "fra", CrossOutcome::not_tried)});
  ASSERT_EQ(merged["findings"].size(), 1u);
  const Json& f = merged["findings"][0];
  EXPECT_EQ(f["id"], "shared_across_vantage_points");
  EXPECT_EQ(f["severity"], "warning");
  EXPECT_EQ(f["vantage_points"], (std::vector<std::string>{"fra", "sfo"}));
  EXPECT_EQ(f["evidence"]["method"], "cross_resumption");
  EXPECT_EQ(f["evidence"]["offers"].size(), 2u);
  ASSERT_EQ(merged["cross_resumption"].size(), 4u);
  EXPECT_EQ(merged["cross_resumption"][2]["result"], "refused");
  EXPECT_EQ(merged["cross_resumption"][3]["result"], "not_tried");
  EXPECT_TRUE(merged["cross_resumption"][3]["tried"].is_null());
}

TEST(CrossResume, RefusedAndUntriedOffersFindNothing) {
  Json merged{{"findings", Json::array()}};
  add_cross_resumption(merged, {cross_offer("fra", "nrt", CrossOutcome::refused),
                                cross_offer("nrt", "fra", CrossOutcome::failed)});
  EXPECT_TRUE(merged["findings"].empty());
  EXPECT_EQ(merged["cross_resumption"].size(), 2u);
}

TEST(CrossResume, AKeptSessionThatIsNotDerIsRefused) {
  KeptTicket k;
  k.endpoint = "127.0.0.1:1";
  const std::uint8_t junk[] = {1, 2, 3};
  k.session = SecretBytes::copy_of(junk);
  auto h = held_from_kept(k);
  ASSERT_FALSE(h.ok());
  EXPECT_NE(h.error().message.find("not a TLS session"), std::string::npos);
}

}  // namespace
}  // namespace stek::scan
