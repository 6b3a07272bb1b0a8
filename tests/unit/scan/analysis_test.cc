// Findings from hand-made observations: each test builds the connections a server of one
// kind would produce and checks the finding (and its absence in the near-miss case).
#include "analysis.h"

#include <algorithm>

#include <gtest/gtest.h>

#include "names.h"
#include "scan.h"

namespace stek::scan {
namespace {

using test::name;

class Scan {
 public:
  explicit Scan(Mode mode = Mode::watch) {
    data_.mode = mode;
    data_.started_ms = 1'700'000'000'000;
    data_.every_ms = 1000;
  }
  // A fresh connection at t seconds that received one ticket under key n.
  Scan& ticket(double t, std::uint8_t n, std::uint32_t hint = 3600,
               const std::string& ep = "a:443") {
    Connection c = base(t, ep, ConnKind::fresh);
    TicketSeen s;
    s.length = 192;
    s.key_name = name(n);
    s.lifetime_hint = hint;
    c.tickets.push_back(s);
    data_.connections.push_back(c);
    return *this;
  }
  Scan& connection(Connection c) {
    data_.connections.push_back(std::move(c));
    return *this;
  }
  Connection base(double t, const std::string& ep, ConnKind kind) const {
    Connection c;
    c.time_ms = at(t);
    c.endpoint = ep;
    c.kind = kind;
    c.tls_version = "TLSv1.3";
    return c;
  }
  Millis at(double t) const { return data_.started_ms + static_cast<Millis>(t * 1000); }
  Analysis run() {
    if (data_.endpoints.empty()) {
      for (const Connection& c : data_.connections) {
        const std::string host = c.endpoint.substr(0, c.endpoint.find(':'));
        Endpoint e{host, 443, host};
        if (std::none_of(data_.endpoints.begin(), data_.endpoints.end(),
                         [&](const Endpoint& x) { return x.label() == e.label(); })) {
          data_.endpoints.push_back(e);
        }
      }
    }
    data_.finished_ms =
        data_.connections.empty() ? data_.started_ms : data_.connections.back().time_ms + 1;
    return analyze(data_);
  }
  ScanData& data() { return data_; }

 private:
  ScanData data_;
};

const Finding* find(const Analysis& a, std::string_view id) {
  auto it = std::find_if(a.findings.begin(), a.findings.end(),
                         [&](const Finding& f) { return f.id == id; });
  return it == a.findings.end() ? nullptr : &*it;
}

TEST(Analysis, NeverRotatesWhenOneKeyNameSpansTheWatch) {
  Scan s;
  for (int i = 0; i <= 5; ++i) s.ticket(i, 7);
  const Analysis a = s.run();
  const Finding* f = find(a, "never_rotates");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->severity, Severity::warning);
  EXPECT_EQ(f->evidence["key_name"], key_name_hex(name(7)));
  EXPECT_EQ(f->evidence["observed_s"], 5.0);
  EXPECT_EQ(f->evidence["tickets"], 6);
  EXPECT_EQ(find(a, "rotation"), nullptr);
}

TEST(Analysis, OneConnectionIsNotEnoughToSayNeverRotates) {
  Scan once(Mode::once);
  once.ticket(0, 7).ticket(0.2, 7);
  EXPECT_EQ(find(once.run(), "never_rotates"), nullptr);
  Scan single;
  single.ticket(0, 7);
  EXPECT_EQ(find(single.run(), "never_rotates"), nullptr);
}

TEST(Analysis, RotationIntervalIsTheTimeBetweenFirstSightings) {
  // Key 1 before the watch began; keys 2, 3, 4 appear at 10 s, 20 s, 30 s.
  Scan s;
  for (int t = 0; t <= 35; t += 5) s.ticket(t, static_cast<std::uint8_t>(1 + t / 10));
  const Analysis a = s.run();
  const Finding* f = find(a, "rotation");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->evidence["rotations"], 3);
  EXPECT_EQ(f->evidence["key_names"], 4);
  EXPECT_EQ(f->evidence["intervals_s"], Json::array({10.0, 10.0}));
  EXPECT_EQ(f->evidence["median_interval_s"], 10.0);
  EXPECT_EQ(f->evidence["resolution_s"], 5.0);
  EXPECT_EQ(find(a, "never_rotates"), nullptr);
  EXPECT_EQ(find(a, "interleaved_key_names"), nullptr);
}

TEST(Analysis, KeyLifeIsLastSeenMinusFirstSeenAndEdgesAreMarked) {
  Scan s;
  s.ticket(0, 1).ticket(4, 1).ticket(5, 2).ticket(12, 2).ticket(13, 3);
  const Analysis a = s.run();
  ASSERT_EQ(a.endpoints.size(), 1u);
  const auto& keys = a.endpoints[0].keys;
  ASSERT_EQ(keys.size(), 3u);
  EXPECT_EQ(keys[0].life_ms(), 4000);
  EXPECT_TRUE(keys[0].from_start);
  EXPECT_EQ(keys[1].life_ms(), 7000);
  EXPECT_TRUE(keys[1].complete());
  EXPECT_TRUE(keys[2].to_end);
  const Finding* f = find(a, "rotation");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->evidence["longest_life_s"], 7.0);
  EXPECT_EQ(f->evidence["longest_life_complete"], true);
}

TEST(Analysis, HintLongerThanKeyLifeIsInfoWhenRetiredTicketsStillResume) {
  Scan s;
  s.ticket(0, 1, 600).ticket(5, 2, 600).ticket(10, 3, 600);
  Connection r = s.base(11, "a:443", ConnKind::retired);
  r.offered_ticket = true;
  r.offered_key_name = name(2);
  r.offered_issued_ms = s.at(5);
  r.resumed = true;
  s.connection(r);
  const Analysis a = s.run();
  const Finding* f = find(a, "hint_exceeds_key_life");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->severity, Severity::info);
  EXPECT_EQ(f->evidence["retired_ticket_refused_within_hint"], false);
}

TEST(Analysis, HintLongerThanKeyLifeIsAWarningWhenARetiredTicketIsRefusedEarly) {
  Scan s;
  s.ticket(0, 1, 600).ticket(5, 2, 600).ticket(10, 3, 600);
  Connection r = s.base(11, "a:443", ConnKind::retired);
  r.offered_ticket = true;
  r.offered_key_name = name(2);
  r.offered_issued_ms = s.at(5);
  r.resumed = false;  // 6 s old, hint 600 s: refused early
  s.connection(r);
  const Analysis a = s.run();
  const Finding* f = find(a, "hint_exceeds_key_life");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->severity, Severity::warning);
}

TEST(Analysis, HintWithinTheKeyLifeIsNotReported) {
  Scan s;
  s.ticket(0, 1, 4).ticket(5, 2, 4).ticket(10, 2, 4).ticket(11, 3, 4);
  EXPECT_EQ(find(s.run(), "hint_exceeds_key_life"), nullptr);  // key 2 lived 5 s > 4 s
}

TEST(Analysis, HintOverSevenDaysBoundary) {
  Scan at_limit;
  at_limit.ticket(0, 1, 604800);
  EXPECT_EQ(find(at_limit.run(), "hint_over_7_days"), nullptr);
  Scan over;
  over.ticket(0, 1, 604801);
  const Analysis a = over.run();
  const Finding* f = find(a, "hint_over_7_days");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->evidence["lifetime_hint_s"], 604801);
}

TEST(Analysis, UnspecifiedHintOfZeroIsIgnored) {
  Scan s;
  s.ticket(0, 1, 3600).ticket(1, 1, 0);
  const Analysis a = s.run();
  EXPECT_EQ(a.endpoints[0].min_hint, 3600u);
}

TEST(Analysis, SharedKeyNameAcrossEndpointsIsASharedStek) {
  Scan s(Mode::compare);
  s.ticket(0, 9, 3600, "a:443").ticket(0.5, 9, 3600, "b:443").ticket(1, 4, 3600, "c:443");
  Connection x = s.base(2, "b:443", ConnKind::cross);
  x.offered_ticket = true;
  x.offered_from = "a:443";
  x.offered_key_name = name(9);
  x.resumed = true;
  s.connection(x);
  const Analysis a = s.run();
  const Finding* f = find(a, "shared_stek");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->endpoints, (std::vector<std::string>{"a:443", "b:443"}));
  EXPECT_EQ(f->evidence["cross_resumption"][0]["resumed"], true);
  EXPECT_EQ(find(a, "cross_resumption"), nullptr);  // explained by the shared name
}

TEST(Analysis, DistinctKeyNamesAreNotShared) {
  Scan s(Mode::compare);
  s.ticket(0, 1, 3600, "a:443").ticket(0.5, 2, 3600, "b:443");
  Connection x = s.base(2, "b:443", ConnKind::cross);
  x.offered_ticket = true;
  x.offered_from = "a:443";
  x.offered_key_name = name(1);
  x.resumed = false;
  s.connection(x);
  const Analysis a = s.run();
  EXPECT_EQ(find(a, "shared_stek"), nullptr);
  EXPECT_EQ(find(a, "cross_resumption"), nullptr);
}

TEST(Analysis, ResumptionAcrossEndpointsWithoutASharedNameIsReported) {
  Scan s(Mode::compare);
  s.ticket(0, 1, 3600, "a:443").ticket(0.5, 2, 3600, "b:443");
  Connection x = s.base(2, "b:443", ConnKind::cross);
  x.offered_ticket = true;
  x.offered_from = "a:443";
  x.offered_key_name = name(1);
  x.resumed = true;  // b still holds a's key for decryption
  s.connection(x);
  const Analysis a = s.run();
  const Finding* f = find(a, "cross_resumption");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->severity, Severity::warning);
}

TEST(Analysis, AlternatingNamesAreInterleaved) {
  Scan s;
  s.ticket(0, 1).ticket(1, 2).ticket(2, 1).ticket(3, 2);
  EXPECT_NE(find(s.run(), "interleaved_key_names"), nullptr);
}

TEST(Analysis, ZeroKeyIsCriticalAndSortedFirst) {
  Scan s;
  s.ticket(0, 1, 604801);
  Connection c = s.base(1, "a:443", ConnKind::fresh);
  TicketSeen t;
  t.length = 160;
  t.key_name = name(0);
  t.zero_key = {true, true, 128};
  c.tickets.push_back(t);
  s.connection(c);
  const Analysis a = s.run();
  ASSERT_FALSE(a.findings.empty());
  EXPECT_EQ(a.findings[0].id, "zero_key");
  EXPECT_EQ(a.findings[0].severity, Severity::critical);
  EXPECT_EQ(a.findings[0].evidence["aes_cbc_all_zero_key_bits"], 128);
  EXPECT_EQ(a.worst(), Severity::critical);
}

TEST(Analysis, PskKeAcceptedIsAFindingAndRejectedIsNot) {
  Scan s;
  s.ticket(0, 1, 3600, "a:443").ticket(0, 2, 3600, "b:443");
  PskKeProbe yes;
  yes.endpoint = "a:443";
  yes.result = PskKeResult::accepted;
  PskKeProbe no = yes;
  no.endpoint = "b:443";
  no.result = PskKeResult::rejected;
  s.data().psk_ke = {yes, no};
  const Analysis a = s.run();
  const Finding* f = find(a, "psk_ke_accepted");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->endpoints, std::vector<std::string>{"a:443"});
  EXPECT_EQ(std::count_if(a.findings.begin(), a.findings.end(),
                          [](const Finding& x) { return x.id == "psk_ke_accepted"; }),
            1);
}

TEST(Analysis, FailedConnectionsAndMissingTicketsAreReported) {
  Scan s(Mode::once);
  Connection down = s.base(0, "a:443", ConnKind::fresh);
  down.status = ProbeStatus::refused;
  down.detail = "connect: Connection refused";
  Connection plain = s.base(0, "b:443", ConnKind::fresh);  // ok, no ticket
  s.connection(down).connection(plain);
  const Analysis a = s.run();
  const Finding* f = find(a, "connection_failed");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->severity, Severity::warning);  // nothing at a:443 worked
  EXPECT_EQ(f->evidence["statuses"]["refused"], 1);
  EXPECT_NE(find(a, "no_ticket"), nullptr);
  EXPECT_TRUE(a.any_connection_ok);
}

TEST(Analysis, TicketsWithoutTheOpensslLayoutHideTheKeyName) {
  Scan s;
  Connection c = s.base(0, "a:443", ConnKind::fresh);
  TicketSeen t;
  t.length = 32;
  c.tickets.push_back(t);
  s.connection(c);
  const Analysis a = s.run();
  const Finding* f = find(a, "key_name_hidden");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->evidence["lengths"], Json::array({32}));
  EXPECT_EQ(find(a, "never_rotates"), nullptr);
}

TEST(Analysis, VhostsReportsATicketResumedUnderAnotherNameAndNotASharedStek) {
  Scan s(Mode::vhosts);
  s.ticket(0, 7, 3600, "a.test@h:443").ticket(0.5, 7, 3600, "b.test@h:443");
  for (const bool resumed : {true, false}) {
    Connection x =
        s.base(resumed ? 2 : 3, resumed ? "b.test@h:443" : "a.test@h:443", ConnKind::cross);
    x.offered_ticket = true;
    x.offered_from = resumed ? "a.test@h:443" : "b.test@h:443";
    x.offered_key_name = name(7);
    x.resumed = resumed;
    s.connection(x);
  }
  const Analysis a = s.run();
  const Finding* f = find(a, "cross_name_resumption");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->severity, Severity::warning);
  EXPECT_EQ(f->endpoints, (std::vector<std::string>{"a.test@h:443", "b.test@h:443"}));
  EXPECT_EQ(std::count_if(a.findings.begin(), a.findings.end(),
                          [](const Finding& x) { return x.id == "cross_name_resumption"; }),
            1);  // the refused direction is not a finding
  EXPECT_EQ(find(a, "shared_stek"), nullptr);
  EXPECT_EQ(find(a, "cross_resumption"), nullptr);
}

TEST(Analysis, SettledLayoutNamesAJavaTicketByItsFourByteKeyId) {
  // Two JSSE tickets under key id 03937add: per ticket they look like 16-byte names.
  ScanData data;
  data.mode = Mode::once;
  for (const int salt : {1, 2}) {
    Connection c;
    c.endpoint = "j:443";
    std::vector<std::uint8_t> bytes(640, static_cast<std::uint8_t>(salt));
    bytes[0] = 0x03, bytes[1] = 0x93, bytes[2] = 0x7a, bytes[3] = 0xdd;
    TicketSeen t;
    t.length = bytes.size();
    t.shape = shape_of(bytes);
    t.layout = guess_ticket_layout(bytes);
    t.key_name = key_name_under(t.layout, t.shape);
    c.tickets.push_back(t);
    data.connections.push_back(c);
  }
  settle_layouts(data);
  EXPECT_EQ(data.layouts.at("j:443").layout, TicketLayout::java);
  for (const Connection& c : data.connections) {
    ASSERT_TRUE(c.tickets[0].key_name.has_value());
    EXPECT_EQ(key_name_hex(*c.tickets[0].key_name), "03937add000000000000000000000000");
  }
}

TEST(Analysis, AgedOffersBracketTheAcceptanceWindowWithoutKeyNames) {
  Scan s(Mode::watch);
  s.data().duration_ms = 10000;
  for (const auto& [age, resumed] : {std::pair{10.0, false}, {5.0, true}, {2.5, true}}) {
    Connection x = s.base(12, "a:443", ConnKind::aged);
    x.offered_ticket = true;
    x.offered_issued_ms = s.at(12 - age);
    x.resumed = resumed;
    s.connection(x);
  }
  const Analysis a = s.run();
  const Finding* f = find(a, "acceptance_window");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->evidence["longest_resumed_age_s"], 5.0);
  EXPECT_EQ(f->evidence["shortest_refused_age_s"], 10.0);
  EXPECT_EQ(find(a, "never_rotates"), nullptr);
}

TEST(Analysis, OldTicketsStillResumingWithoutKeyNamesNeverRotate) {
  Scan s(Mode::watch);
  s.data().duration_ms = 10000;
  for (const double age : {10.0, 5.0}) {
    Connection x = s.base(10.2, "a:443", ConnKind::aged);
    x.offered_ticket = true;
    x.offered_issued_ms = s.at(10.2 - age);
    x.resumed = true;
    s.connection(x);
  }
  const Analysis a = s.run();
  const Finding* f = find(a, "never_rotates");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->evidence["method"], "resumption");
  EXPECT_EQ(find(a, "acceptance_window")->evidence["shortest_refused_age_s"], nullptr);
}

}  // namespace
}  // namespace stek::scan
