// The routing sink's pure parts: `show map` answers of HAProxy 2.6 and the sink's config keys.
// The runtime API round trip runs against a real HAProxy in integration.test_routing.
#include <algorithm>
#include <thread>

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "config.h"
#include "fakes.h"
#include "sinks/haproxy_route.h"
#include "testing/keys.h"

namespace stek::agent {
namespace {

TEST(HaproxyRouteShowMap, ReadsKeyAndValueOfEveryLine) {
  const auto m = parse_show_map(
      "0x55d1c4e0 00112233445566778899aabbccddeeff web1\n"
      "0x55d1c4f0 ffeeddccbbaa99887766554433221100 web2\n\n");
  ASSERT_TRUE(m.ok()) << m.error().message;
  ASSERT_EQ(m->size(), 2u);
  EXPECT_EQ(m->at("00112233445566778899aabbccddeeff"), "web1");
  EXPECT_EQ(m->at("ffeeddccbbaa99887766554433221100"), "web2");
  EXPECT_TRUE(parse_show_map("").value().empty());
}

TEST(HaproxyRouteShowMap, RefusalsAreErrorsNotEntries) {
  EXPECT_EQ(parse_show_map("Unknown map identifier. Please use #<id> or <file>.\n").error().code,
            Errc::invalid_argument);
}

TEST(HaproxyRouteSinkConfig, NeedsAMapAndAServer) {
  auto c = parse_config(
      "servers = [\"https://127.0.0.1:8443\"]\n[[sink]]\ntype = \"haproxy_route\"\n"
      "map = \"/etc/haproxy/stek.map\"\nserver = \"web1\"\n",
      "t");
  ASSERT_TRUE(c.ok()) << c.error().message;
  const auto& s = std::get<HaproxyRouteSinkConfig>(c->sinks.at(0));
  EXPECT_EQ(s.map, "/etc/haproxy/stek.map");
  EXPECT_EQ(s.server, "web1");
  EXPECT_EQ(s.socket, std::filesystem::path("/run/haproxy/admin.sock"));
  EXPECT_FALSE(
      parse_config("servers = [\"https://127.0.0.1:8443\"]\n[[sink]]\ntype = \"haproxy_route\"\n"
                   "server = \"web1\"\n",
                   "t")
          .ok());
}

// A stats socket answering one command per connection from a script: `show map` gets
// `map_text`, every other command an empty answer (HAProxy's success for add/set/del map).
class ScriptedMapSocket {
 public:
  ScriptedMapSocket(const std::filesystem::path& path, std::string map_text, int connections) {
    fd_ = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path.c_str());
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    EXPECT_EQ(::listen(fd_, 8), 0);
    thread_ = std::thread([this, map_text, connections] {
      for (int i = 0; i < connections; ++i) {
        const int c = ::accept(fd_, nullptr, nullptr);
        if (c < 0) return;
        std::string line;
        char ch;
        while (::read(c, &ch, 1) == 1 && ch != '\n') line += ch;
        commands.push_back(line);
        const std::string answer = line.starts_with("show map") ? map_text : "\n";
        EXPECT_EQ(::write(c, answer.data(), answer.size()), static_cast<ssize_t>(answer.size()));
        ::close(c);
      }
    });
  }
  ~ScriptedMapSocket() {
    join();
    ::close(fd_);
  }
  void join() {
    if (thread_.joinable()) thread_.join();
  }
  std::vector<std::string> commands;

 private:
  int fd_ = -1;
  std::thread thread_;
};

TEST(HaproxyRouteSink, AddsItsKeysDeletesItsStaleEntriesAndLeavesOtherServersAlone) {
  agent::testing::TempDir dir(true);
  const KeyRing ring =
      stek::testing::make_ring({KeyRole::decrypt, KeyRole::encrypt, KeyRole::next});
  const auto names = stek::testing::names_of(ring);
  // Already mapped: the first key (ours), a stale key of ours, a key of another server.
  const std::string shown = "0x1 " + names[0] + " web1\n0x2 " + std::string(32, 'a') +
                            " web1\n0x3 " + std::string(32, 'b') + " web2\n";
  ScriptedMapSocket fake(dir / "lb.sock", shown, 4);  // show, add, add, del
  HaproxyRouteSink sink(
      {dir / "lb.sock", "/etc/haproxy/stek.map", "web1", std::chrono::milliseconds(5000)});
  auto report = sink.apply(&ring, 0);
  ASSERT_TRUE(report.ok()) << report.error().message;
  fake.join();
  EXPECT_EQ(report->files_written, 2);
  EXPECT_EQ(report->files_erased, 1);
  const std::vector<std::string> expected = {
      "show map /etc/haproxy/stek.map",
      "add map /etc/haproxy/stek.map " + std::min(names[1], names[2]) + " web1",
      "add map /etc/haproxy/stek.map " + std::max(names[1], names[2]) + " web1",
      "del map /etc/haproxy/stek.map " + std::string(32, 'a')};
  EXPECT_EQ(fake.commands, expected);
}

TEST(HaproxyRouteSink, ASocketWithNothingListeningIsAnError) {
  HaproxyRouteSink sink(
      {"/nonexistent/stek-route.sock", "/tmp/x.map", "web1", std::chrono::milliseconds(200)});
  EXPECT_FALSE(sink.apply(nullptr, 0).ok());
}

}  // namespace
}  // namespace stek::agent
