// Test helpers for the agent: a Random that returns chosen bytes, rings of really derived
// keys with fixed secrets, temporary directories, and fakes for the agent's seams (a ring
// source, a sink, a stekd client) that replay scripts and record what they were given.
#pragma once

#include <algorithm>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <unistd.h>

#include "stek/derive.h"
#include "stek/file.h"
#include "stek/formats.h"
#include "stek/random.h"
#include "stek/ring.h"

#include "client.h"
#include "ring_source.h"
#include "sink.h"

namespace stek::agent::testing {

// Fills every request with one byte value: 0x00 draws the lowest jittered delay, 0xff the
// highest. fail = true makes fill() return an error.
class ByteRandom final : public Random {
 public:
  explicit ByteRandom(std::uint8_t b = 0) : byte_(b) {}
  Status fill(std::span<std::uint8_t> out) override {
    ++calls;
    if (fail) return make_error(Errc::crypto, "no randomness in this test");
    std::fill(out.begin(), out.end(), byte_);
    return {};
  }
  void set(std::uint8_t b) { byte_ = b; }
  bool fail = false;
  int calls = 0;

 private:
  std::uint8_t byte_;
};

inline constexpr ScheduleParams kParams{60, 2, 2};  // I = 60 s, H = 2, L = 2

// K(domain, e) for e in [first, last] with fixed secrets (G_e = bytes counting up from 7e,
// D_d = bytes counting up from domain_secret),
// roles as of `now`, as stekd would send them.
inline KeyRing make_ring(const std::string& domain, Epoch first, Epoch last, UnixSeconds now,
                         std::uint64_t version, ScheduleParams params = kParams,
                         std::uint8_t domain_secret = 0x5a) {
  auto schedule = Schedule::make(params);
  std::vector<RingKey> keys;
  SecretBytes d(kDomainSecretSize);
  for (std::size_t i = 0; i < d.size(); ++i)
    d.data()[i] = static_cast<std::uint8_t>(domain_secret + i);
  for (Epoch e = last; e >= first; --e) {
    SecretBytes g(kEpochSecretSize);
    for (std::size_t i = 0; i < g.size(); ++i)
      g.data()[i] = static_cast<std::uint8_t>(e * 7 + static_cast<Epoch>(i));
    auto key = derive_ticket_key(d.view(), g.view(), domain, e);
    EXPECT_TRUE(key.ok());
    KeyMeta meta;
    meta.role = schedule->role(e, now);
    meta.domain = domain;
    meta.epoch = e;
    meta.not_before = schedule->not_before(e);
    meta.not_after = schedule->not_after(e);
    meta.secret_version = 1;
    keys.push_back({std::move(key).value(), meta});
  }
  RingInfo info;
  info.schedule = params;
  info.generated_at = now;
  info.version = version;
  auto ring = KeyRing::make(std::move(keys), info);
  EXPECT_TRUE(ring.ok()) << ring.error().message;
  return std::move(ring).value();
}

inline SecretBytes ring_json(const KeyRing& ring) {
  auto bytes = write_key_file(Format::json, ring);
  EXPECT_TRUE(bytes.ok());
  return std::move(bytes).value();
}

// A fresh directory, removed at the end of the test. Under /dev/shm (tmpfs) when
// memory = true, else under the build tree's temp dir.
class TempDir {
 public:
  explicit TempDir(bool memory = false) {
    std::string base = memory ? "/dev/shm" : std::filesystem::temp_directory_path().string();
    std::string tmpl = base + "/stek-agent-test-XXXXXX";
    char* made = ::mkdtemp(tmpl.data());
    EXPECT_NE(made, nullptr);
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& s) const { return path_ / s; }

 private:
  std::filesystem::path path_;
};

inline std::string read_text(const std::filesystem::path& p) {
  auto bytes = read_file(p);
  if (!bytes.ok()) return {};
  return std::string(reinterpret_cast<const char*>(bytes->data()), bytes->size());
}

// A RingSource that replays scripted updates (then "nothing new") and records, per call,
// the version of the ring the agent held.
class FakeSource final : public RingSource {
 public:
  void push(RingUpdate update) { script.push_back(std::move(update)); }
  RingUpdate next(const std::optional<HeldRing>& held) override {
    held_versions.push_back(held ? std::optional<std::uint64_t>(held->version()) : std::nullopt);
    if (script.empty()) return {};
    RingUpdate u = std::move(script.front());
    script.pop_front();
    return u;
  }
  void cancel() override { ++cancels; }
  std::string describe() const override { return "source: fake\n"; }

  std::deque<RingUpdate> script;
  std::vector<std::optional<std::uint64_t>> held_versions;
  int cancels = 0;
};

// An update that brings `ring`, accepted for `domain` at `now`, as a source would.
inline RingUpdate ring_update(const KeyRing& ring, const std::string& domain, UnixSeconds now) {
  auto held = HeldRing::accept(ring, domain, now);
  EXPECT_TRUE(held.ok()) << held.error().message;
  RingUpdate u;
  u.sync = RingUpdate::Sync::answered;
  u.ring = std::move(held).value();
  u.from = "fake";
  return u;
}

// A Sink that records every apply(): the encrypting key's epoch (none: no ring), the
// served key epochs, and the epoch argument. fail = true makes apply() fail.
class RecordingSink final : public Sink {
 public:
  struct Call {
    std::optional<Epoch> encrypting;
    std::vector<Epoch> epochs;  // of the served keys, in the ring's order
    Epoch epoch = 0;
  };
  explicit RecordingSink(std::string name = "recording") : name_(std::move(name)) {}
  const std::string& name() const override { return name_; }
  Result<SinkReport> apply(const KeyRing* ring, Epoch epoch) override {
    if (fail) return make_error(Errc::io, "sink down in this test");
    Call c;
    c.epoch = epoch;
    if (ring != nullptr) {
      c.encrypting = *ring->encrypting().meta.epoch;
      for (const RingKey& k : ring->keys()) c.epochs.push_back(*k.meta.epoch);
    }
    calls->push_back(std::move(c));
    SinkReport r;
    r.files_written = 1;
    return r;
  }
  // Shared, so a test keeps reading it after the sink moved into the agent.
  std::shared_ptr<std::vector<Call>> calls = std::make_shared<std::vector<Call>>();
  bool fail = false;

 private:
  std::string name_;
};

// A KeyringClient that replays scripted answers and records each request's server and wait.
class ScriptedClient final : public KeyringClient {
 public:
  struct Asked {
    std::string server;
    std::optional<std::uint64_t> wait;
    std::string domain;
  };
  void push(Result<PollAnswer> answer) { script.push_back(std::move(answer)); }
  Result<PollAnswer> poll(const ServerUrl& server, const PollRequest& request) override {
    asked->push_back({server.text, request.wait, request.domain});
    if (script.empty()) return make_error(Errc::io, "no scripted answer");
    Result<PollAnswer> a = std::move(script.front());
    script.pop_front();
    return a;
  }
  void cancel() override { ++cancels; }

  std::deque<Result<PollAnswer>> script;
  std::shared_ptr<std::vector<Asked>> asked = std::make_shared<std::vector<Asked>>();
  int cancels = 0;
};

}  // namespace stek::agent::testing
