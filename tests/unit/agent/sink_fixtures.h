// What the sinks' unit tests share: the ring servers get at a time, and a reload command that
// counts its runs in a file (a real process, like nginx -s reload or apachectl).
#pragma once

#include <fstream>
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "fakes.h"
#include "held_ring.h"
#include "reload.h"
#include "times.h"

namespace stek::agent::test {

// The ring servers get at t, from keys E-2 .. E+3 (I = 60 s).
inline KeyRing served_at(UnixSeconds t) {
  auto held = HeldRing::accept(testing::make_ring("eu", kE - 2, kE + 3, kT, 5), "eu", kT);
  EXPECT_TRUE(held.ok());
  auto ring = held->at(t);
  EXPECT_TRUE(ring.ok()) << ring.error().message;
  return std::move(ring).value();
}

// A reload command that appends a line to a file per run and exits with `exit`.
struct CountingReload {
  explicit CountingReload(const testing::TempDir& dir) : counter(dir / "reloads") {}
  std::unique_ptr<Reloader> reloader(const std::string& exit = "0") const {
    return std::make_unique<CommandReloader>(
        std::vector<std::string>{"sh", "-c", "echo x >> '" + counter.string() + "'; exit " + exit},
        std::chrono::milliseconds(10000));
  }
  int count() const {
    std::ifstream in(counter);
    int n = 0;
    for (std::string line; std::getline(in, line);) ++n;
    return n;
  }
  std::filesystem::path counter;
};

}  // namespace stek::agent::test
