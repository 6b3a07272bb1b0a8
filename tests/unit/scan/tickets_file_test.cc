// The kept-tickets file: what --keep-tickets writes reads back whole; a malformed file
// (truncated, another version, bad base64, a huge count) is refused with a clear error.
#include "tickets_file.h"

#include <string>

#include <gtest/gtest.h>

#include "stek/bytes.h"

namespace stek::scan {
namespace {

std::vector<KeptTicket> two_kept() {
  std::vector<KeptTicket> v;
  for (int i = 0; i < 2; ++i) {
    KeptTicket t;
    t.endpoint = i == 0 ? "127.0.0.1:8443" : "[::1]:443";
    t.sni = i == 0 ? "localhost" : "";
    t.tls_version = "TLSv1.3";
    t.issued_ms = 1'700'000'000'000 + i;
    t.lifetime_hint_s = 300;
    const std::uint8_t der[] = {0x30, 0x03, 0x02, 0x01, static_cast<std::uint8_t>(i)};
    t.session = SecretBytes::copy_of(der);
    v.push_back(std::move(t));
  }
  return v;
}

std::string text_of(const std::vector<KeptTicket>& v) {
  const SecretString s = format_kept_tickets(v);
  return std::string(s.data(), s.size());
}

std::string error_of(std::string_view text) {
  auto r = parse_kept_tickets(text);
  EXPECT_FALSE(r.ok()) << text;
  return r.ok() ? std::string() : r.error().message;
}

TEST(TicketsFile, WhatIsWrittenReadsBackWhole) {
  const auto kept = two_kept();
  auto back = parse_kept_tickets(text_of(kept));
  ASSERT_TRUE(back.ok()) << back.error().message;
  ASSERT_EQ(back->size(), 2u);
  for (std::size_t i = 0; i < 2; ++i) {
    EXPECT_EQ((*back)[i].endpoint, kept[i].endpoint);
    EXPECT_EQ((*back)[i].sni, kept[i].sni);
    EXPECT_EQ((*back)[i].tls_version, "TLSv1.3");
    EXPECT_EQ((*back)[i].issued_ms, kept[i].issued_ms);
    EXPECT_EQ((*back)[i].lifetime_hint_s, 300u);
    EXPECT_TRUE((*back)[i].session.equals(kept[i].session.view()));
  }
}

TEST(TicketsFile, SaysItIsASecret) {
  EXPECT_NE(text_of(two_kept()).find("Keep it secret"), std::string::npos);
}

TEST(TicketsFile, AnEmptyListIsAValidFile) {
  auto back = parse_kept_tickets(text_of({}));
  ASSERT_TRUE(back.ok());
  EXPECT_TRUE(back->empty());
}

TEST(TicketsFile, RefusesATruncatedFile) {
  const std::string text = text_of(two_kept());
  const std::string cut = text.substr(0, text.rfind("ticket "));
  EXPECT_NE(error_of(cut).find("truncated: 1 of 2"), std::string::npos);
  // Cut inside the base64 of the last line: padding no longer matches.
  EXPECT_NE(error_of(text.substr(0, text.size() - 3)).find("base64"), std::string::npos);
  EXPECT_NE(error_of("").find("not a stek-scan tickets file"), std::string::npos);
}

TEST(TicketsFile, RefusesAnotherVersion) {
  std::string text = text_of(two_kept());
  text.replace(0, text.find('\n'), "stek-scan-tickets 2 2");
  EXPECT_NE(error_of(text).find("version 2 is not supported"), std::string::npos);
  EXPECT_NE(error_of("something-else 1 0\n").find("not a stek-scan tickets file"),
            std::string::npos);
}

TEST(TicketsFile, RefusesBadBase64WithoutQuotingIt) {
  const std::string text = "stek-scan-tickets 1 1\nticket a:1 - TLSv1.2 5 0 !!secret!!\n";
  const std::string e = error_of(text);
  EXPECT_NE(e.find("line 2: session is not valid base64"), std::string::npos) << e;
  EXPECT_EQ(e.find("secret!!"), std::string::npos);
}

TEST(TicketsFile, RefusesHugeCountsAndExtraTickets) {
  EXPECT_NE(error_of("stek-scan-tickets 1 99999999999\n").find("ticket count"), std::string::npos);
  EXPECT_NE(error_of("stek-scan-tickets 1 -1\n").find("ticket count"), std::string::npos);
  std::string text = text_of(two_kept());
  text.replace(0, text.find('\n'), "stek-scan-tickets 1 1");
  EXPECT_NE(error_of(text).find("more tickets than the header's count"), std::string::npos);
}

TEST(TicketsFile, RefusesMalformedLines) {
  EXPECT_NE(error_of("stek-scan-tickets 1 1\nticket a:1 - TLSv1.2 5\n").find("line 2: expected"),
            std::string::npos);
  EXPECT_NE(
      error_of("stek-scan-tickets 1 1\nticket a:1 - TLSv1.2 soon 0 MA==\n").find("issue time"),
      std::string::npos);
  EXPECT_NE(error_of("stek-scan-tickets 1 1\nticket a:1 - TLSv1.2 5 -3 MA==\n").find("lifetime"),
            std::string::npos);
  EXPECT_NE(error_of("stek-scan-tickets 1 1\nticket a:1  TLSv1.2 5 0 MA==\n").find("line 2"),
            std::string::npos);
  const std::string long_session(kMaxSessionBytes * 2, 'A');
  EXPECT_NE(error_of("stek-scan-tickets 1 1\nticket a:1 - TLSv1.2 5 0 " + long_session + "\n")
                .find("session too long"),
            std::string::npos);
}

}  // namespace
}  // namespace stek::scan
