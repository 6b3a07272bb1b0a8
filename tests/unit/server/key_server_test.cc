// KeyServer's start with real sockets on 127.0.0.1 (a development PKI from stekctl's code) and a
// fixed clock: maintenance is due at every boundary, also one that passed while it started.
#include "key_server.h"

#include <filesystem>

#include <gtest/gtest.h>
#include <unistd.h>

#include "fakes_server.h"
#include "pki.h"

namespace stek::server {
namespace {

namespace fs = std::filesystem;
using split_testing::kEpoch;
using split_testing::kRigParams;
using split_testing::kStart;
using split_testing::NetPartsCountingRandom;

struct StartRig {
  StartRig()
      : dir(fs::path(::testing::TempDir()) / ("stek-key-server-" + std::to_string(::getpid()))),
        keys(*Schedule::make(kRigParams), {"eu-west"}, store, random, audit) {
    fs::remove_all(dir);
    ctl::PkiInitArgs pki;
    pki.dir = dir;
    EXPECT_TRUE(ctl::pki_init(pki).ok());
    config.listen = {"127.0.0.1", 0};
    config.metrics_listen.reset();
    config.tls_cert = dir / "stekd.crt";
    config.tls_key = dir / "stekd.key";
    config.tls_client_ca = dir / "ca.crt";
    config.store_path = dir / "state.json";
    config.schedule = kRigParams;
    config.domains = {"eu-west"};
  }
  ~StartRig() { fs::remove_all(dir); }

  fs::path dir;
  ServerConfig config;
  FixedClock clock{kStart + 30};
  testing::InMemoryStore store;
  NetPartsCountingRandom random;
  MemoryAuditLog audit;
  KeyService keys;
  FileDenyStore denied{DenyList::beside(dir / "state.json")};
  boost::asio::io_context io;
};

TEST(KeyServerStart, ABoundaryPassedBetweenLoadingTheKeysAndListeningIsMaintainedAtOnce) {
  StartRig rig;
  ASSERT_TRUE(rig.keys.start(rig.clock.now()).ok());
  ASSERT_EQ(rig.keys.current_epoch(), kEpoch);
  // A slow start (TLS files, a loaded machine) crosses the boundary before the timer is armed:
  // without maintenance now, the next epoch's look-ahead key would wait a whole interval.
  rig.clock.set(kStart + 60 + 1);
  KeyServer server(rig.io, rig.config, rig.keys, rig.denied, rig.clock, rig.audit);
  ASSERT_TRUE(server.start().ok());
  EXPECT_EQ(rig.keys.current_epoch(), kEpoch + 1);
  server.stop();
}

TEST(KeyServerStart, AStartWithinTheLoadedEpochChangesNothing) {
  StartRig rig;
  ASSERT_TRUE(rig.keys.start(rig.clock.now()).ok());
  const auto events = rig.audit.events.size();
  KeyServer server(rig.io, rig.config, rig.keys, rig.denied, rig.clock, rig.audit);
  ASSERT_TRUE(server.start().ok());
  EXPECT_EQ(rig.keys.current_epoch(), kEpoch);
  EXPECT_EQ(rig.audit.events.size(), events) << "no secret made or erased by the start";
  server.stop();
}

}  // namespace
}  // namespace stek::server
