// json sink: the ring file (docs/formats.md) for servers that embed libstek and watch it.
#pragma once

#include <filesystem>

#include "../sink.h"

namespace stek::agent {

class JsonSink final : public Sink {
 public:
  explicit JsonSink(std::filesystem::path path);

  const std::string& name() const override { return name_; }
  // Writes the ring (every held key with its role, pending ones included, so a reader can
  // re-derive roles itself) when it changed; removes the file, wiping it, when there is no
  // ring to serve.
  Result<SinkReport> apply(const KeyRing* ring, Epoch epoch) override;

 private:
  std::filesystem::path path_;
  std::string name_;
};

}  // namespace stek::agent
