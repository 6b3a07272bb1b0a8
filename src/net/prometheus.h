// Prometheus text exposition format 0.0.4: the one renderer behind stekd's and stek-agent's
// /metrics. Label values are escaped here, so a hostile domain or sink name cannot forge lines.
#pragma once

#include <concepts>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace stek::net {

enum class MetricType { gauge, counter };

// Escapes a label value as the format requires: backslash, double quote and line feed.
std::string escape_label_value(std::string_view value);

// One label: name (a constant of ours) and value (escaped when rendered).
using Label = std::pair<std::string_view, std::string_view>;

class PrometheusText {
 public:
  // Starts a metric family: its "# HELP" and "# TYPE" lines.
  void family(std::string_view name, MetricType type, std::string_view help);

  // One sample of the family: `name{label="value",...} value`, or `name value` without labels.
  template <std::integral T>
  void sample(std::string_view name, std::initializer_list<Label> labels, T value) {
    sample_text(name, labels, std::to_string(value));
  }

  // A sample with a fractional value (e.g. seconds to the millisecond), written in the
  // shortest form that reads back as the same double.
  void sample(std::string_view name, std::initializer_list<Label> labels, double value);

  // A family with one unlabelled sample.
  template <std::integral T>
  void single(std::string_view name, MetricType type, std::string_view help, T value) {
    family(name, type, help);
    sample(name, {}, value);
  }

  const std::string& text() const { return out_; }

 private:
  void sample_text(std::string_view name, std::initializer_list<Label> labels,
                   const std::string& value);
  std::string out_;
};

}  // namespace stek::net
