// Fan-out benchmark client: N simulated agents hold long-polls on one stekd; one compromise
// rotation then wakes them all. Prints, for the same N connections in the same run:
//   baseline: every agent fetches the current ring at once (no long-poll)
//   fan-out:  time from the rotation request to the last agent holding the new ring
// Driven by bench/fanout.py, which starts stekd and measures its CPU and memory, and by
// bench/scale.py: agents spread over several stekd replicas (--port A,B,C) and, with
// --external-rotation, the rotation left to the script (`stekctl rotate-domain-secret`) and
// the last answer printed as a CLOCK_MONOTONIC time, so several client processes add up.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <iostream>
#include <memory>
#include <optional>
#include <vector>

#include <CLI/CLI.hpp>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include "https_client.h"

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

struct Agent : std::enable_shared_from_this<Agent> {
  Agent(asio::io_context& io, ssl::context& ctx) : stream(io, ctx) {}
  beast::ssl_stream<beast::tcp_stream> stream;
  beast::flat_buffer buffer;
  http::request<http::empty_body> req;
  std::optional<http::response_parser<http::string_body>> parser;
  std::uint64_t version = 0;
  Clock::time_point done;

  void get(const std::string& target, std::function<void(bool)> cb) {
    req = {http::verb::get, target, 11};
    req.set(http::field::host, "stekd");
    req.keep_alive(true);
    parser.emplace();
    parser->body_limit(1 << 20);
    http::async_write(
        stream, req, [self = shared_from_this(), cb](beast::error_code ec, std::size_t) {
          if (ec) return cb(false);
          http::async_read(self->stream, self->buffer, *self->parser,
                           [self, cb](beast::error_code ec2, std::size_t) {
                             if (ec2) return cb(false);
                             auto& res = self->parser->get();
                             if (res.result_int() == 200)
                               self->version = std::stoull(std::string(res["X-Stek-Ring-Version"]));
                             self->done = Clock::now();
                             cb(res.result_int() == 200);
                           });
        });
  }
};

int main(int argc, char** argv) {
  CLI::App app{"stek fan-out benchmark client (see bench/fanout.py)"};
  std::string host = "127.0.0.1", ports;
  std::string ca, admin_cert, admin_key, domain = "bench";
  std::string prefix;
  int n = 1000, identities = 100, first = 0;
  bool external_rotation = false;
  app.add_option("--port", ports, "stekd's port, or several (comma-separated): agents in turn")
      ->required();
  app.add_option("--first", first, "Number of the first agent (its certificate and port)");
  app.add_flag("--external-rotation", external_rotation,
               "Do not rotate: wait for the new ring after READY, print last_done_mono");
  app.add_option("--ca", ca)->required();
  app.add_option("--cert-prefix", prefix, "Host certificates are PREFIX-<i>.crt and PREFIX-<i>.key")
      ->required();
  app.add_option("--identities", identities, "How many host certificates (i = 0 .. K-1)")
      ->capture_default_str();
  app.add_option("--admin-cert", admin_cert)->required();
  app.add_option("--admin-key", admin_key)->required();
  app.add_option("--agents,-n", n)->capture_default_str();
  app.add_option("--domain", domain)->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  asio::io_context io;
  std::vector<std::unique_ptr<ssl::context>> ctxs;
  for (int i = 0; i < identities; ++i) {
    auto c = std::make_unique<ssl::context>(ssl::context::tls_client);
    c->load_verify_file(ca);
    c->use_certificate_chain_file(prefix + "-" + std::to_string(i) + ".crt");
    c->use_private_key_file(prefix + "-" + std::to_string(i) + ".key", ssl::context::pem);
    c->set_verify_mode(ssl::verify_peer);
    ctxs.push_back(std::move(c));
  }
  std::vector<tcp::endpoint> endpoints;
  for (std::size_t at = 0; at <= ports.size();) {
    const auto end = std::min(ports.find(',', at), ports.size());
    endpoints.emplace_back(asio::ip::make_address(host),
                           static_cast<unsigned short>(std::stoi(ports.substr(at, end - at))));
    at = end + 1;
  }
  const std::string port = std::to_string(endpoints.front().port());
  std::vector<std::shared_ptr<Agent>> agents;
  int connected = 0, failed = 0, in_flight = 0, next = 0;
  int answered = 0, woke_ok = 0;
  auto long_poll = [&](Agent& a) {
    a.get("/v1/keyring?domain=" + domain + "&wait=" + std::to_string(a.version) + "&timeout=600",
          [&](bool ok) {
            ++answered;
            woke_ok += ok;
          });
  };

  // Phase 0: connect and handshake, a bounded number at a time.
  const auto t_connect = Clock::now();
  std::function<void()> launch = [&] {
    while (in_flight < 200 && next < n) {
      const int number = first + next;
      auto a = std::make_shared<Agent>(io, *ctxs[static_cast<std::size_t>(number % identities)]);
      agents.push_back(a);
      ++next;
      ++in_flight;
      beast::get_lowest_layer(a->stream).async_connect(
          endpoints[static_cast<std::size_t>(number) % endpoints.size()],
          [&, a](beast::error_code ec) {
            auto finish = [&](bool ok) {
              --in_flight;
              ok ? ++connected : ++failed;
              launch();
            };
            if (ec) return finish(false);
            a->stream.async_handshake(
                ssl::stream_base::client, [&, a, finish](beast::error_code ec2) {
                  if (ec2) return finish(false);
                  // With --external-rotation an agent long-polls as soon as it holds a ring,
                  // as stek-agent does: the first ones would otherwise sit idle through the
                  // connection of all the others and meet stekd's idle timeout (60 s).
                  a->get("/v1/keyring?domain=" + domain, [&, a, finish](bool ok) {
                    if (ok && external_rotation) long_poll(*a);
                    finish(ok);
                  });
                });
          });
    }
  };
  launch();
  while (connected + failed < n) io.run_one();
  const double connect_s = std::chrono::duration<double>(Clock::now() - t_connect).count();
  std::printf("connected %d agents (%d failed) in %.2f s\n", connected, failed, connect_s);
  std::printf("connect_s %.2f\n", connect_s);
  std::fflush(stdout);
  std::erase_if(agents, [](const auto& a) { return a->version == 0; });
  if (agents.empty()) return 1;
  if (external_rotation) {
    const auto settle = Clock::now() + std::chrono::seconds(2);
    io.restart();
    while (Clock::now() < settle) io.run_for(std::chrono::milliseconds(50));
    std::printf("READY %zu long-polls waiting\n", agents.size());
    std::fflush(stdout);
    io.restart();
    while (answered < static_cast<int>(agents.size())) io.run_one();
    Clock::time_point last{};
    for (auto& a : agents) last = std::max(last, a->done);
    std::printf("agents %zu\n", agents.size());
    std::printf("last_done_mono %.6f\n",
                std::chrono::duration<double>(last.time_since_epoch()).count());
    std::printf("fanout_ok %d\n", woke_ok);
    return woke_ok == static_cast<int>(agents.size()) ? 0 : 1;
  }
  const std::uint64_t version = agents.front()->version;

  // Phase 1 (baseline): every agent asks for the ring at once, no long-poll.
  io.restart();  // the context stopped when phase 0 ran out of work
  const auto t_base = Clock::now();
  for (auto& a : agents) a->get("/v1/keyring?domain=" + domain, [&](bool) { ++answered; });
  while (answered < static_cast<int>(agents.size())) io.run_one();
  const double base_s = std::chrono::duration<double>(Clock::now() - t_base).count();

  // Phase 2: long-polls, then one rotation wakes them all.
  answered = 0;
  io.restart();
  for (auto& a : agents) {
    a->get("/v1/keyring?domain=" + domain + "&wait=" + std::to_string(version) + "&timeout=600",
           [&](bool ok) {
             ++answered;
             woke_ok += ok;
           });
  }
  // Let stekd register every waiter.
  const auto settle = Clock::now() + std::chrono::seconds(2);
  while (Clock::now() < settle) io.run_for(std::chrono::milliseconds(50));
  std::printf("READY %zu long-polls waiting\n", agents.size());
  std::fflush(stdout);
  stek::net::ClientTls tls{admin_cert, admin_key, ca};
  auto url = stek::net::parse_https_url("https://" + host + ":" + port);
  const auto t_rotate = Clock::now();
  auto r =
      stek::net::https_request(tls, *url, "POST", "/v1/admin/domains/" + domain + "/rotate-secret",
                               "", std::chrono::seconds(30));
  if (!r.ok() || r->status != 200) {
    std::fprintf(stderr, "rotation failed\n");
    return 1;
  }
  io.restart();
  while (answered < static_cast<int>(agents.size())) io.run_one();
  std::vector<double> lat;
  for (auto& a : agents) lat.push_back(std::chrono::duration<double>(a->done - t_rotate).count());
  std::sort(lat.begin(), lat.end());
  const double fan = lat.back();
  std::printf("agents %zu\n", agents.size());
  std::printf("baseline_all_fetch_s %.3f\n", base_s);
  std::printf("fanout_last_agent_s %.3f\n", fan);
  std::printf("fanout_p50_s %.3f\n", lat[lat.size() / 2]);
  std::printf("fanout_p99_s %.3f\n", lat[lat.size() * 99 / 100]);
  std::printf("fanout_ok %d\n", woke_ok);
  std::printf("ratio_fanout_vs_baseline %.2f\n", fan / base_s);
  return woke_ok == static_cast<int>(agents.size()) ? 0 : 1;
}
