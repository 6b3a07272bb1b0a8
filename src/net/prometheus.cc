// Prometheus text exposition format 0.0.4.
#include "prometheus.h"

#include <charconv>

namespace stek::net {

namespace {

// HELP text escapes backslash and line feed (not quotes).
void append_help(std::string& out, std::string_view help) {
  for (const char c : help) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out.push_back(c);
    }
  }
}

}  // namespace

std::string escape_label_value(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (const char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out.push_back(c);
    }
  }
  return out;
}

void PrometheusText::family(std::string_view name, MetricType type, std::string_view help) {
  out_ += "# HELP ";
  out_ += name;
  out_ += ' ';
  append_help(out_, help);
  out_ += "\n# TYPE ";
  out_ += name;
  out_ += type == MetricType::counter ? " counter\n" : " gauge\n";
}

void PrometheusText::sample(std::string_view name, std::initializer_list<Label> labels,
                            double value) {
  char buf[32];
  const auto [end, err] = std::to_chars(buf, buf + sizeof buf, value);
  sample_text(name, labels, err == std::errc() ? std::string(buf, end) : std::string("NaN"));
}

void PrometheusText::sample_text(std::string_view name, std::initializer_list<Label> labels,
                                 const std::string& value) {
  out_ += name;
  if (labels.size() > 0) {
    out_ += '{';
    bool first = true;
    for (const auto& [label, text] : labels) {
      if (!first) out_ += ',';
      first = false;
      out_ += label;
      out_ += "=\"";
      out_ += escape_label_value(text);
      out_ += '"';
    }
    out_ += '}';
  }
  out_ += ' ';
  out_ += value;
  out_ += '\n';
}

}  // namespace stek::net
