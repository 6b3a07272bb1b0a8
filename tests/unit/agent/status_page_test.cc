// The agent's status page, rendered from a RingKeeper that holds a real ring (fixed secrets,
// fixed clock) and feeds one working and one failing sink: domain, ring version, epoch,
// runway as an end time, each sink's health; escaping; and no key bytes.
#include "status_page.h"

#include <cctype>

#include <gtest/gtest.h>

#include "stek/bytes.h"

#include "fakes.h"
#include "ring_keeper.h"
#include "status_html.h"
#include "testing/fixed_clock.h"
#include "times.h"

namespace stek::agent {
namespace {

using test::kE;
using test::kT;

constexpr std::uint64_t kPageRingVersion = (static_cast<std::uint64_t>(kE) << 20) + 7;

// A keeper holding K(eu, kE-2 .. kE+2) at kT, refreshed once: "good" applied it, "broken"
// failed.
struct PageKeeper {
  PageKeeper() : clock(kT) {
    std::vector<std::unique_ptr<Sink>> sinks;
    sinks.push_back(std::make_unique<testing::RecordingSink>("good"));
    auto broken = std::make_unique<testing::RecordingSink>("broken");
    broken->fail = true;
    sinks.push_back(std::move(broken));
    keeper =
        std::make_unique<RingKeeper>("eu", RingCache(dir.path(), "eu"), std::move(sinks), clock);
    ring = testing::make_ring("eu", kE - 2, kE + 2, kT, kPageRingVersion);
    source.push(testing::ring_update(ring, "eu", kT));
    EXPECT_TRUE(keeper->apply(source.next(keeper->held())));
    keeper->refresh("test");
  }
  std::string page(const std::string& host = "web1") const {
    const UnixSeconds runway = keeper->held()->runway(clock.now());
    return render_agent_status_page(
        keeper->metrics(),
        {clock.now(), host, clock.now() + runway, {false, "sink broken: sink down in this test"}});
  }

  testing::TempDir dir{true};
  FixedClock clock;
  testing::FakeSource source;
  KeyRing ring = testing::make_ring("eu", kE, kE, kT, 1);
  std::unique_ptr<RingKeeper> keeper;
};

bool page_has(const std::string& page, const std::string& part) {
  return page.find(part) != std::string::npos;
}

std::string sink_row_of(const std::string& page, const std::string& sink) {
  const auto at = page.find("<tr class=\"sink\" data-sink=\"" + sink + "\">");
  if (at == std::string::npos) return "";
  return page.substr(at, page.find("</tr>", at) - at);
}

TEST(AgentStatusPage, ShowsDomainRingVersionEpochAndRunwayEnd) {
  const PageKeeper k;
  const std::string page = k.page();
  EXPECT_TRUE(page_has(page, "<h1>stek-agent web1 <span class=\"badge bad\">unhealthy</span>"));
  EXPECT_TRUE(page_has(page, "<dd id=\"domain\">eu</dd>"));
  EXPECT_TRUE(page_has(page, "<dd id=\"ring-version\"><span class=\"mono\">" +
                                 std::to_string(kPageRingVersion) + "</span></dd>"));
  EXPECT_TRUE(page_has(page, "<dd id=\"epoch\">" + std::to_string(kE) + " "));
  // Keys through kE + 2: the runway ends with that epoch, 2 epochs and 50 s from kT.
  EXPECT_TRUE(page_has(
      page, "keys last until " + net::utc_text((kE + 3) * 60) + " (in 2 min 50 s) without stekd"));
  EXPECT_TRUE(page_has(page, "sink broken: sink down in this test"));
}

TEST(AgentStatusPage, ShowsEachSinksHealth) {
  const PageKeeper k;
  const std::string page = k.page();
  const std::string good = sink_row_of(page, "good");
  const std::string broken = sink_row_of(page, "broken");
  EXPECT_TRUE(page_has(good, "<span class=\"badge ok\">ok</span>"));
  EXPECT_TRUE(page_has(good, std::to_string(kPageRingVersion)));
  EXPECT_TRUE(page_has(broken, "<span class=\"badge bad\">failing</span>"));
  EXPECT_TRUE(page_has(broken, "sink down in this test"));
  EXPECT_TRUE(page_has(broken, "<td>never</td>"));  // never applied
}

TEST(AgentStatusPage, WithoutARingSaysSoAndHasNoRunway) {
  Metrics m;
  m.domain = "eu";
  const std::string page = render_agent_status_page(m, {kT, "", std::nullopt, {false, "no ring"}});
  EXPECT_TRUE(page_has(page, "no ring yet"));
  EXPECT_TRUE(page_has(page, "<dd id=\"runway\"><span class=\"badge bad\">none</span></dd>"));
  EXPECT_TRUE(page_has(page, "No sink is configured."));
}

TEST(AgentStatusPage, HostileNamesAndErrorsCannotInjectMarkup) {
  Metrics m;
  m.domain = "<script>x</script>";
  m.sinks["<img src=x>"].failing = true;
  m.sinks["<img src=x>"].last_error = "<b>boom</b>";
  const std::string page =
      render_agent_status_page(m, {kT, "\"><i>", std::nullopt, {false, "<u>bad</u>"}});
  for (const char* raw : {"<script", "<img", "<b>", "<i>", "<u>"}) {
    EXPECT_FALSE(page_has(page, raw)) << raw;
  }
  EXPECT_TRUE(page_has(page, "&lt;script&gt;x&lt;/script&gt;"));
  EXPECT_TRUE(page_has(page, "data-sink=\"&lt;img src=x&gt;\""));
  EXPECT_TRUE(page_has(page, "&lt;b&gt;boom&lt;/b&gt;"));
}

TEST(AgentStatusPage, NeverShowsKeyBytes) {
  const PageKeeper k;
  const std::string page = k.page();
  for (const RingKey& key : k.ring.keys()) {
    for (const ByteView secret : {key.key.hmac_key().view(), key.key.aes_key().view()}) {
      const std::string hex = to_hex(secret);
      std::string upper = hex;
      for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      const SecretBytes b64 = to_base64(secret);
      for (const std::string& form : {hex.substr(0, 16), upper.substr(0, 16),
                                      std::string(as_chars(b64.view())).substr(0, 16)}) {
        EXPECT_FALSE(page_has(page, form)) << "key bytes of epoch " << *key.meta.epoch;
      }
    }
  }
}

}  // namespace
}  // namespace stek::agent
