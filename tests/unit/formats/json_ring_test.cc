// stek's own JSON ring file: every field round-trips, the schema is as documented, and bad
// input is refused with messages that never quote the input (which holds key bytes).
#include <regex>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "stek/bytes.h"
#include "stek/formats.h"

#include "testing/expect.h"
#include "testing/keys.h"

namespace stek {
namespace {

using testing::expect_error;
using testing::make_key;
using testing::names_of;
using testing::roles_of;
using Json = nlohmann::json;

// A ring with every piece of metadata set: four keys of domain eu-west.
KeyRing full_ring() {
  std::vector<RingKey> keys;
  const std::vector<KeyRole> roles = {KeyRole::decrypt, KeyRole::encrypt, KeyRole::next,
                                      KeyRole::pending};
  for (std::size_t i = 0; i < roles.size(); ++i) {
    RingKey rk = testing::ring_key(make_key(i + 1), roles[i]);
    rk.meta.domain = "eu-west";
    rk.meta.epoch = 498753 + static_cast<Epoch>(i);
    rk.meta.not_before = 1795510800 + static_cast<UnixSeconds>(i) * 3600;
    rk.meta.not_after = rk.meta.not_before.value() + 19 * 3600 - 1;
    rk.meta.secret_version = 2;
    keys.push_back(std::move(rk));
  }
  RingInfo info;
  info.version = 41;
  info.generated_at = 1795514400;
  info.schedule = ScheduleParams{3600, 18, 2};
  info.id = std::string(64, 'c');
  return KeyRing::make(std::move(keys), info).value();
}

std::string text_of(const Result<SecretBytes>& r) {
  if (!r.ok()) return "<error: " + r.error().message + ">";
  return testing::text_of(*r);
}

Result<KeyRing> read_text(const std::string& text) {
  return read_key_file(Format::json, as_bytes(text));
}

TEST(JsonRingTest, RoundTripsEveryKeyAndEveryField) {
  KeyRing ring = full_ring();
  auto bytes = write_key_file(Format::json, ring);
  ASSERT_TRUE(bytes.ok());
  auto back = read_key_file(Format::json, bytes->view());
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(names_of(*back), names_of(ring));
  EXPECT_EQ(roles_of(*back), roles_of(ring));
  for (std::size_t i = 0; i < ring.size(); ++i) {
    const RingKey& a = ring.keys()[i];
    const RingKey& b = back->keys()[i];
    EXPECT_TRUE(a.key.hmac_key().equals(b.key.hmac_key().view()));
    EXPECT_TRUE(a.key.aes_key().equals(b.key.aes_key().view()));
    EXPECT_EQ(a.meta.domain, b.meta.domain);
    EXPECT_EQ(a.meta.epoch, b.meta.epoch);
    EXPECT_EQ(a.meta.not_before, b.meta.not_before);
    EXPECT_EQ(a.meta.not_after, b.meta.not_after);
    EXPECT_EQ(a.meta.secret_version, b.meta.secret_version);
  }
  EXPECT_EQ(back->info().version, 41u);
  EXPECT_EQ(back->info().id, std::string(64, 'c'));
  EXPECT_EQ(back->info().generated_at, 1795514400);
  ASSERT_TRUE(back->info().schedule.has_value());
  EXPECT_EQ(back->info().schedule->interval, 3600);
  EXPECT_EQ(back->info().schedule->history, 18);
  EXPECT_EQ(back->info().schedule->lookahead, 2);
}

TEST(JsonRingTest, FollowsTheDocumentedSchema) {
  KeyRing ring = full_ring();
  Json doc = Json::parse(text_of(write_key_file(Format::json, ring, {123})));
  EXPECT_EQ(doc["stek_ring"], 1);
  EXPECT_EQ(doc["version"], 41);
  EXPECT_EQ(doc["ring_id"], std::string(64, 'c'));
  EXPECT_EQ(doc["generated_at"], 1795514400);  // the ring's own time wins over options.now
  EXPECT_EQ(doc["schedule"]["interval"], 3600);
  EXPECT_EQ(doc["schedule"]["history"], 18);
  EXPECT_EQ(doc["schedule"]["lookahead"], 2);
  EXPECT_EQ(doc["schedule"]["lifetime_hint"], 64800);
  ASSERT_EQ(doc["keys"].size(), 4u);
  const Json& k = doc["keys"][0];
  EXPECT_EQ(k["name"], make_key(2).name_hex());
  EXPECT_EQ(k["role"], "encrypt");
  EXPECT_EQ(k["domain"], "eu-west");
  EXPECT_EQ(k["epoch"], 498754);
  EXPECT_EQ(k["secret_version"], 2);
  EXPECT_EQ(k["hmac_key"], testing::text_of(to_base64(make_key(2).hmac_key().view())));
  EXPECT_EQ(k["aes_key"], testing::text_of(to_base64(make_key(2).aes_key().view())));
  EXPECT_EQ(doc["keys"][3]["role"], "pending");
}

TEST(JsonRingTest, GeneratedAtFallsBackToWriteTime) {
  KeyRing ring = testing::make_ring({KeyRole::encrypt});
  Json doc = Json::parse(text_of(write_key_file(Format::json, ring, {777})));
  EXPECT_EQ(doc["generated_at"], 777);
  EXPECT_FALSE(doc.contains("schedule"));
  EXPECT_FALSE(doc.contains("ring_id"));
  EXPECT_FALSE(doc["keys"][0].contains("epoch"));
}

TEST(JsonRingTest, OptionalFieldsMayBeAbsentOrNull) {
  const std::string hmac = testing::text_of(to_base64(make_key(1).hmac_key().view()));
  const std::string aes = testing::text_of(to_base64(make_key(1).aes_key().view()));
  auto ring =
      read_text(R"({"stek_ring": 1, "schedule": null, "keys": [{"name": ")" +
                make_key(1).name_hex() + R"(", "role": "encrypt", "domain": null, "hmac_key": ")" +
                hmac + R"(", "aes_key": ")" + aes + R"("}]})");
  ASSERT_TRUE(ring.ok()) << ring.error().message;
  EXPECT_EQ(ring->info().version, 0u);
  EXPECT_FALSE(ring->info().id.has_value());
  EXPECT_FALSE(ring->encrypting().meta.domain.has_value());
  EXPECT_FALSE(ring->encrypting().meta.epoch.has_value());
}

// The message of a syntax error names a byte offset and nothing from the input.
void expect_syntax_error(const std::string& text) {
  auto r = read_text(text);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::bad_format);
  EXPECT_TRUE(std::regex_match(r.error().message,
                               std::regex(R"(json: not valid JSON \(syntax error at byte \d+\))")))
      << r.error().message;
}

TEST(JsonRingTest, SyntaxErrorsNeverQuoteTheInput) {
  const std::string good = text_of(write_key_file(Format::json, full_ring()));
  const std::size_t in_key = good.find("\"hmac_key\": \"") + 20;
  expect_syntax_error(good.substr(0, in_key));           // truncated inside a key
  expect_syntax_error(good.substr(0, good.size() - 3));  // truncated at the end
  std::string broken = good;
  broken[in_key] = '\x01';  // control character inside a string
  expect_syntax_error(broken);
  broken = good;
  broken.insert(in_key + 10, "\"");  // a stray quote in the middle of the base64
  expect_syntax_error(broken);
  expect_syntax_error("");
  expect_syntax_error("{\"stek_ring\": 1,");
  expect_syntax_error("{\"stek_ring\": 1} trailing");
}

TEST(JsonRingTest, RefusesNumbersTooLargeForADoubleWithoutQuotingThem) {
  // nlohmann throws out_of_range (not parse_error) for these, quoting the number; found by
  // fuzz_detect.
  auto r = read_text(R"({"stek_ring": 1, "generated_at": 1795e5185555555555, "keys": []})");
  expect_error(r, Errc::bad_format, "json: not valid JSON (a number is out of range)");
  expect_error(read_text("[1e400]"), Errc::bad_format,
               "json: not valid JSON (a number is out of range)");
}

TEST(JsonRingTest, RefusesOtherFormatVersions) {
  expect_error(read_text(R"({"stek_ring": 2, "keys": []})"), Errc::unsupported,
               "json: ring format version 2 is not supported (this build reads version 1)");
  expect_error(read_text(R"({"keys": []})"), Errc::bad_format,
               "json: field \"stek_ring\" is missing: not a stek ring file");
  expect_error(read_text(R"({"stek_ring": "1", "keys": []})"), Errc::bad_format,
               "json: field \"stek_ring\" is not an integer");
}

TEST(JsonRingTest, RefusesWrongShapes) {
  expect_error(read_text("[]"), Errc::bad_format, "json: top level is not an object");
  expect_error(read_text(R"({"stek_ring": 1})"), Errc::bad_format,
               "json: field \"keys\" is missing or not a list");
  expect_error(read_text(R"({"stek_ring": 1, "keys": [5]})"), Errc::bad_format,
               "json: keys[0]: is not an object");
  expect_error(read_text(R"({"stek_ring": 1, "keys": [{"role": "encrypt"}]})"), Errc::bad_format,
               "json: keys[0]: field \"name\" is missing");
  expect_error(read_text(R"({"stek_ring": 1, "version": -1, "keys": []})"), Errc::bad_format,
               "json: field \"version\" is negative");
  expect_error(read_text(R"({"stek_ring": 1, "schedule": 5, "keys": []})"), Errc::bad_format,
               "json: field \"schedule\" is not an object");
  expect_error(read_text(R"({"stek_ring": 1, "schedule": {"interval": 60}, "keys": []})"),
               Errc::bad_format, "json: schedule needs interval, history and lookahead");
  expect_error(read_text(R"({"stek_ring": 1, "schedule": {"interval": 0, "history": 1,
                              "lookahead": 1}, "keys": []})"),
               Errc::invalid_argument, "json: schedule: interval must be at least 1 second, got 0");
  expect_error(read_text(R"({"stek_ring": 1, "keys": []})"), Errc::invalid_argument,
               "json: key ring is empty");
}

// A one-key document with one field replaced by raw JSON text.
std::string one_key_doc(const std::string& field, const std::string& raw_value) {
  Json doc =
      Json::parse(text_of(write_key_file(Format::json, testing::make_ring({KeyRole::encrypt}))));
  std::string text = doc.dump();
  Json key = doc["keys"][0];
  const std::string needle = "\"" + field + "\":" + key[field].dump();
  const std::size_t at = text.find(needle);
  if (at == std::string::npos) return "<field not found>";
  text.replace(at, needle.size(), "\"" + field + "\":" + raw_value);
  return text;
}

TEST(JsonRingTest, RefusesBadKeyFieldsWithoutQuotingKeyBytes) {
  const std::string hmac_b64 = testing::text_of(to_base64(make_key(1).hmac_key().view()));
  auto bad_b64 = read_text(
      one_key_doc("hmac_key", "\"" + hmac_b64.substr(0, 40) + "*" + hmac_b64.substr(41) + "\""));
  expect_error(
      bad_b64, Errc::bad_format,
      "json: keys[0]: field \"hmac_key\": base64 text has an invalid character at offset 40");
  auto short_key = read_text(one_key_doc("aes_key", "\"" + hmac_b64.substr(0, 24) + "\""));
  expect_error(short_key, Errc::bad_size, "json: keys[0]: AES key is 18 bytes, expected 16 or 32");
  expect_error(read_text(one_key_doc("role", "\"current\"")), Errc::bad_format,
               "json: keys[0]: unknown key role \"current\" (expected pending, next, encrypt, "
               "decrypt or expired)");
  expect_error(read_text(one_key_doc("name", "\"abcd\"")), Errc::bad_size,
               "json: keys[0]: key name has 4 hex digits, expected 32");
  expect_error(read_text(one_key_doc("hmac_key", "7")), Errc::bad_format,
               "json: keys[0]: field \"hmac_key\" is not a string");
}

TEST(JsonRingTest, RefusesIntegersOutsideTheFieldsRange) {
  // Numbers that do not fit the field are refused, never wrapped (2^32 is not version 0,
  // 2^63 is not epoch -2^63).
  Json doc = Json::parse(text_of(write_key_file(Format::json, full_ring())));
  Json big = doc;
  big["keys"][0]["secret_version"] = std::uint64_t{1} << 32;
  expect_error(read_text(big.dump()), Errc::bad_format,
               "json: keys[0]: field \"secret_version\" is out of range");
  big = doc;
  big["keys"][0]["epoch"] = std::uint64_t{1} << 63;
  expect_error(read_text(big.dump()), Errc::bad_format,
               "json: keys[0]: field \"epoch\" is out of range");
  big = doc;
  big["keys"][0]["not_after"] = ~std::uint64_t{0};
  expect_error(read_text(big.dump()), Errc::bad_format,
               "json: keys[0]: field \"not_after\" is out of range");
  big = doc;
  big["version"] = ~std::uint64_t{0};  // the ring version is unsigned 64-bit: fits
  auto ring = read_text(big.dump());
  ASSERT_TRUE(ring.ok()) << ring.error().message;
  EXPECT_EQ(ring->info().version, ~std::uint64_t{0});
  big = doc;
  big["keys"][0]["secret_version"] = 4294967295u;
  ASSERT_TRUE(read_text(big.dump()).ok());
  big["keys"][0]["secret_version"] = -1;
  expect_error(read_text(big.dump()), Errc::bad_format,
               "json: keys[0]: field \"secret_version\" is negative");
}

TEST(JsonRingTest, WritingRefusesADomainThatIsNotUtf8) {
  // JSON strings are UTF-8; nlohmann's dump() throws on anything else.
  std::vector<RingKey> keys;
  keys.push_back(testing::ring_key(make_key(1), KeyRole::encrypt));
  keys[0].meta.domain = "eu-\xff";
  KeyRing ring = KeyRing::make(std::move(keys)).value();
  expect_error(write_key_file(Format::json, ring), Errc::invalid_argument,
               "json: a domain is not valid UTF-8");
}

TEST(JsonRingTest, RefusesInvalidRingsWhole) {
  // Two encrypting keys: the ring check runs on the parsed keys.
  KeyRing ring = testing::make_ring({KeyRole::encrypt, KeyRole::decrypt});
  Json doc = Json::parse(text_of(write_key_file(Format::json, ring)));
  doc["keys"][1]["role"] = "encrypt";
  expect_error(read_text(doc.dump()), Errc::invalid_argument,
               "json: key ring has 2 encrypting keys, expected exactly 1");
  doc["keys"][1]["role"] = "expired";
  expect_error(read_text(doc.dump()), Errc::invalid_argument,
               "json: key " + make_key(2).name_hex() + " is expired and must not be in a ring");
}

}  // namespace
}  // namespace stek
