// etcd_race: many clients try to create the secret of one epoch at once through stekd's etcd
// store, against a real etcd cluster; prints one JSON line with how many commits won. Used by
// tests/integration/test_stekd_etcd.py: exactly one must win, and the stored secret must be
// the winner's. Each attempt is its own store object with its own connection, all loaded at
// the same generation before any commits, so every attempt is a real compare-and-swap race.
#include <atomic>
#include <iostream>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "stek/random.h"
#include "stek/seal.h"

#include "etcd_store.h"
#include "etcd_transport.h"

namespace {

using stek::server::EtcdStore;
using stek::server::etcd::HttpsEtcdTransport;

struct Attempt {
  std::unique_ptr<EtcdStore> store;
  stek::server::StoreState state;
  std::uint64_t loaded = 0;
  stek::SecretBytes secret;
  bool won = false;
  bool failed = false;
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"etcd_race: concurrent creation of one epoch's secret through the etcd store"};
  std::vector<std::string> endpoints;
  std::string ca, cert, key, kek_file, prefix = "/stek-race";
  int attempts = 1000;
  int threads = 16;
  std::int64_t epoch = 1'000'000;
  app.add_option("--endpoint", endpoints)->required();
  app.add_option("--ca", ca)->required();
  app.add_option("--cert", cert)->required();
  app.add_option("--key", key)->required();
  app.add_option("--kek", kek_file)->required();
  app.add_option("--prefix", prefix);
  app.add_option("--attempts", attempts);
  app.add_option("--threads", threads);
  app.add_option("--epoch", epoch);
  CLI11_PARSE(app, argc, argv);

  stek::SystemRandom random;
  auto kek = stek::load_kek(kek_file);
  if (!kek.ok()) {
    std::cerr << kek.error().message << "\n";
    return 1;
  }
  stek::server::etcd::HttpsTransportOptions options;
  for (const auto& e : endpoints)
    options.endpoints.push_back(stek::net::parse_https_url(e).value());
  options.tls = {cert, key, ca};
  options.timeout = std::chrono::milliseconds(5000);

  // Every attempt loads first: all of them start from the same generation.
  std::vector<Attempt> all(static_cast<std::size_t>(attempts));
  std::atomic<std::size_t> next{0};
  // One connection's client per thread (the transport does one request at a time).
  std::vector<std::unique_ptr<HttpsEtcdTransport>> transports;
  for (int t = 0; t < threads; ++t) {
    auto transport = HttpsEtcdTransport::make(options);
    if (!transport.ok()) {
      std::cerr << transport.error().message << "\n";
      return 1;
    }
    transports.push_back(std::move(transport).value());
  }
  auto for_each = [&](auto&& step) {
    next = 0;
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) {
      pool.emplace_back([&, t] {
        for (std::size_t i; (i = next++) < all.size();) step(all[i], *transports[t]);
      });
    }
    for (auto& th : pool) th.join();
  };
  for_each([&](Attempt& a, HttpsEtcdTransport& transport) {
    a.store = std::make_unique<EtcdStore>(transport, stek::Kek{kek->key.clone(), kek->id}, random,
                                          stek::server::EtcdStoreOptions{prefix, true});
    auto state = a.store->load();
    if (!state.ok() || state->epoch_secrets.count(epoch) != 0) {
      a.failed = true;
      return;
    }
    a.loaded = state->generation;
    a.state = std::move(state).value();
    a.secret = stek::random_secret(random, 32).value();
  });
  const auto started = std::chrono::steady_clock::now();
  // Every store object still holds the generation it loaded above: each commit is a txn.
  for_each([&](Attempt& a, HttpsEtcdTransport&) {
    if (a.failed) return;
    stek::server::StoreState mine = a.state.clone();
    mine.generation = a.loaded + 1;
    mine.epoch_secrets.emplace(epoch, a.secret.clone());
    auto won = a.store->commit(mine, a.loaded);
    if (!won.ok()) {
      a.failed = true;
      return;
    }
    a.won = *won;
  });
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now() - started)
                      .count();
  int won = 0, failed = 0, same_generation = 0;
  const Attempt* winner = nullptr;
  for (const Attempt& a : all) {
    won += a.won ? 1 : 0;
    failed += a.failed ? 1 : 0;
    same_generation += !a.failed && a.loaded == all.front().loaded ? 1 : 0;
    if (a.won) winner = &a;
  }
  // The stored secret is the winner's (compared here: no key byte is printed).
  bool stored_is_winners = false;
  auto check_transport = HttpsEtcdTransport::make(options);
  if (check_transport.ok() && winner != nullptr) {
    EtcdStore check(**check_transport, stek::Kek{kek->key.clone(), kek->id}, random,
                    stek::server::EtcdStoreOptions{prefix, false});
    auto state = check.load();
    stored_is_winners = state.ok() && state->epoch_secrets.count(epoch) == 1 &&
                        state->epoch_secrets.at(epoch).equals(winner->secret.view());
  }
  std::cout << nlohmann::json{{"attempts", attempts}, {"won", won},
                              {"failed", failed},     {"same_generation", same_generation},
                              {"commit_ms", ms},      {"stored_is_winners", stored_is_winners}}
                   .dump()
            << "\n";
  return won == 1 && stored_is_winners ? 0 : 1;
}
