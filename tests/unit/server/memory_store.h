// Test double for the Store seam: state kept in memory with the same compare-and-swap rule
// as the real stores, plus hooks that let a test play a second writer (another replica)
// that commits just before the service does, and inject load or commit failures.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "stek/result.h"

#include "store.h"

namespace stek::server::testing {

class InMemoryStore final : public Store {
 public:
  // Runs inside commit(), before the generation check: a change made here (through
  // write_as_other()) is what a concurrent writer committed first.
  std::function<void(InMemoryStore&)> before_commit;
  std::optional<Error> load_error;
  std::optional<Error> commit_error;

  int loads = 0;
  int commits = 0;       // calls, successful or not
  int lost_commits = 0;  // compare-and-swap failures

  Result<StoreState> load() override {
    ++loads;
    if (load_error) return *load_error;
    return state_.clone();
  }

  Result<bool> commit(const StoreState& next, std::uint64_t expected) override {
    ++commits;
    if (before_commit) before_commit(*this);
    if (commit_error) return *commit_error;
    if (next.generation != expected + 1) {
      return make_error(Errc::invalid_argument, "commit must advance the generation by one");
    }
    if (state_.generation != expected) {
      ++lost_commits;
      return false;
    }
    state_ = next.clone();
    return true;
  }

  std::string describe() const override { return "memory"; }

  // What is stored now.
  const StoreState& state() const { return state_; }

  // Replaces the stored state as another writer would: change the state, then one more
  // generation.
  void write_as_other(const std::function<void(StoreState&)>& change) {
    change(state_);
    ++state_.generation;
  }

  // Makes the next `n` commits each lose to another writer that commits `change` first
  // (by default a change of generation only).
  void lose_next_commits(
      int n, std::function<void(StoreState&)> change = [](StoreState&) {}) {
    auto left = std::make_shared<int>(n);
    before_commit = [left, change](InMemoryStore& store) {
      if (*left <= 0) return;
      --*left;
      store.write_as_other(change);
    };
  }

 private:
  StoreState state_;
};

}  // namespace stek::server::testing
