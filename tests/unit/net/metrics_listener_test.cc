// The metrics listener's routing, without sockets, and one real request on loopback.
#include "metrics_listener.h"

#include <array>
#include <thread>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <gtest/gtest.h>

namespace stek::net {
namespace {

MetricsEndpoints endpoints(bool healthy, bool page) {
  MetricsEndpoints e;
  e.metrics = [] { return std::string("m 1\n"); };
  e.health = [healthy] { return HealthReport{healthy, healthy ? "ok" : "no key"}; };
  if (page) e.status_page = [] { return std::string("<p>page</p>"); };
  return e;
}

TEST(MetricsRouting, MetricsAreVersionedPrometheusText) {
  const PlainReply r = route_metrics_request(endpoints(true, false), "GET", "/metrics");
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(r.content_type, "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_EQ(r.body, "m 1\n");
}

TEST(MetricsRouting, QueryStringIsIgnored) {
  EXPECT_EQ(route_metrics_request(endpoints(true, false), "GET", "/metrics?x=1").status, 200u);
}

TEST(MetricsRouting, HealthIs200WhenHealthyAnd503Otherwise) {
  const PlainReply ok = route_metrics_request(endpoints(true, false), "GET", "/healthz");
  EXPECT_EQ(ok.status, 200u);
  EXPECT_EQ(ok.body, "ok\n");
  const PlainReply bad = route_metrics_request(endpoints(false, false), "GET", "/healthz");
  EXPECT_EQ(bad.status, 503u);
  EXPECT_EQ(bad.body, "no key\n");
}

TEST(MetricsRouting, StatusPageOnlyWhenGiven) {
  const PlainReply page = route_metrics_request(endpoints(true, true), "GET", "/");
  EXPECT_EQ(page.status, 200u);
  EXPECT_EQ(page.content_type, "text/html; charset=utf-8");
  EXPECT_EQ(route_metrics_request(endpoints(true, false), "GET", "/").status, 404u);
}

TEST(MetricsRouting, OnlyGetIsAllowed) {
  EXPECT_EQ(route_metrics_request(endpoints(true, true), "POST", "/metrics").status, 405u);
  EXPECT_EQ(route_metrics_request(endpoints(true, true), "DELETE", "/").status, 405u);
}

TEST(MetricsRouting, UnknownPathIs404) {
  EXPECT_EQ(route_metrics_request(endpoints(true, true), "GET", "/keys").status, 404u);
}

TEST(MetricsListener, ServesOneRequestOnLoopbackAndCloses) {
  boost::asio::io_context io;
  auto listener = MetricsListener::start(io, "127.0.0.1", 0, endpoints(true, false));
  ASSERT_TRUE(listener.ok()) << listener.error().message;
  const std::uint16_t port = (*listener)->port();
  ASSERT_NE(port, 0);
  std::string answer;
  boost::asio::ip::tcp::socket client(io);
  client.connect({boost::asio::ip::make_address("127.0.0.1"), port});
  const std::string request = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n";
  boost::asio::write(client, boost::asio::buffer(request));
  std::thread reader([&] {
    boost::system::error_code ec;
    std::array<char, 1024> buf{};
    for (;;) {
      const std::size_t n = client.read_some(boost::asio::buffer(buf), ec);
      if (ec) break;
      answer.append(buf.data(), n);
    }
    io.stop();
  });
  io.run_for(std::chrono::seconds(10));
  reader.join();
  EXPECT_EQ(answer.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << answer;
  EXPECT_NE(answer.find("Cache-Control: no-store"), std::string::npos);
  EXPECT_EQ(answer.substr(answer.size() - 4), "m 1\n");
}

TEST(MetricsListener, RefusesAddressThatIsNotAnIp) {
  boost::asio::io_context io;
  auto listener = MetricsListener::start(io, "localhost", 0, endpoints(true, false));
  ASSERT_FALSE(listener.ok());
  EXPECT_EQ(listener.error().code, Errc::invalid_argument);
}

}  // namespace
}  // namespace stek::net
